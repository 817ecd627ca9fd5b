"""Server settings, read once from the command line and the environment."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

VERSION = '0.1.0'
DEFAULT_PIPELINE = 'dreamfield'
SCOPE_PIPELINE_IDS = ('longlive', 'streamdiffusionv2', 'krea-realtime-video', 'memflow', 'reward-forcing')


@dataclass(slots=True)
class IceServer:
    """One STUN or TURN server, in the shape of the browser's RTCIceServer."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None

    def to_dict(self) -> dict:
        return {'urls': self.urls, 'username': self.username, 'credential': self.credential}


@dataclass(slots=True)
class Config:
    """Settings of one server process."""

    host: str = '127.0.0.1'
    port: int = 8000
    open_browser: bool = True
    preload_pipeline: str | None = None
    verbose: bool = False
    hf_token: str | None = None
    civitai_token: str | None = None
    hf_endpoint: str | None = None  # another Hugging Face hub (HF_ENDPOINT), e.g. a mirror
    ice_servers: list[IceServer] = field(default_factory=list)
    ice_hosts: list[str] = field(default_factory=list)
    ice_announce: list[str] = field(default_factory=list)
    models_dir: Path = Path.home() / '.dreamstage' / 'models'
    lora_dir: Path = Path.home() / '.dreamstage' / 'models' / 'lora'
    assets_dir: Path = Path.home() / '.dreamstage' / 'assets'
    max_upload_bytes: int = 512 * 1024 * 1024
    stamp_frames: bool = False
    api_key: str | None = None
    cors_origins: list[str] = field(default_factory=list)
    offers_per_minute: int = 30
    uploads_per_minute: int = 60
    max_sessions: int = 8  # sessions rendering at once
    max_named_sessions: int = 64  # shared sessions kept at once (rendering or not)
    max_peers_per_session: int = 16
    video_bitrate: int = 2_500_000
    pipeline_aliases: dict[str, str] = field(default_factory=lambda: dict.fromkeys(SCOPE_PIPELINE_IDS,
                                                                                   DEFAULT_PIPELINE))
    pipeline_plugins: list[str] = field(default_factory=list)  # extra pipelines as `module:Class`
    connect_timeout: float = 20.0  # seconds a new peer has to connect before it is dropped
    leave_grace: float = 5.0  # seconds a session whose last peer dropped out waits for it to come back
    idle_after: float = 30.0  # seconds without anyone watching before a shared session stops rendering
    expire_after: float = 24 * 3600.0  # seconds without use before a named session ends
    osc_port: int | None = None  # UDP port of the OSC server (None: the HTTP port number, 0: off)
    osc_host: str | None = None  # address the OSC server binds (None: the HTTP host)
    osc_out: str | None = None  # 'host:port' that audio features and beats are sent to over OSC
    midi_inputs: list[str] = field(default_factory=list)  # server-side MIDI input ports opened at start
    data_dir: Path = Path.home() / '.dreamstage' / 'data'  # the server's own files: batch uploads and outputs
    batch_ttl: float = 3600.0  # seconds a batch upload or output is kept after its last use
    max_blob_bytes: int = 2 * 1024**3  # the largest batch data blob (Scope's 2 GiB)
    streams_any_model: bool = False  # Daydream streams may name any model id, not only Daydream's four
    stream_fallback: str | None = DEFAULT_PIPELINE  # what a Daydream stream runs while its model is not downloaded
    scope_ui_dir: Path | None = None  # a built `frontend/dist` of Scope's web app, served at /scope

    @property
    def presets_dir(self) -> Path:
        """Where saved looks live (beside the assets folder)."""
        return self.assets_dir.parent / 'presets'

    @property
    def matrix_presets_dir(self) -> Path:
        """Where saved modulation matrices live (beside the looks)."""
        return self.assets_dir.parent / 'matrix_presets'

    @property
    def settings_dir(self) -> Path:
        """Where the server keeps what Scope's app asks it to remember: onboarding, stored keys, DMX mappings."""
        return self.models_dir.parent / 'settings'

    @property
    def audio_presets_dir(self) -> Path:
        """Where saved audio presets live (beside the models folder)."""
        return self.models_dir.parent / 'audio_presets'

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        """Build the settings from environment variables (the command line overrides some of them later)."""
        env = dict(os.environ if environ is None else environ)
        models_dir = Path(env.get('DREAMSTAGE_MODELS_DIR') or env.get('DAYDREAM_SCOPE_MODELS_DIR')
                          or Path.home() / '.dreamstage' / 'models').expanduser()
        lora_dir = Path(env.get('DREAMSTAGE_LORA_DIR') or env.get('DAYDREAM_SCOPE_LORA_DIR')
                        or models_dir / 'lora').expanduser()
        assets_dir = Path(env.get('DREAMSTAGE_ASSETS_DIR') or env.get('DAYDREAM_SCOPE_ASSETS_DIR')
                          or models_dir.parent / 'assets').expanduser()
        data_dir = Path(env.get('DREAMSTAGE_DATA_DIR') or models_dir.parent / 'data').expanduser()
        return cls(
            preload_pipeline=env.get('PIPELINE') or None,
            verbose=_truthy(env.get('VERBOSE_LOGGING')),
            hf_token=env.get('HF_TOKEN') or None,
            civitai_token=env.get('CIVITAI_API_TOKEN') or None,
            hf_endpoint=env.get('HF_ENDPOINT') or None,
            ice_servers=ice_servers_from_env(env),
            ice_hosts=_split(env.get('DREAMSTAGE_ICE_HOSTS', '')),
            ice_announce=_split(env.get('DREAMSTAGE_ICE_ANNOUNCE', '')),
            models_dir=models_dir,
            lora_dir=lora_dir,
            assets_dir=assets_dir,
            max_upload_bytes=int(env.get('DREAMSTAGE_MAX_UPLOAD_MB', '512')) * 1024 * 1024,
            stamp_frames=_truthy(env.get('DREAMSTAGE_STAMP_FRAMES')),
            api_key=env.get('DREAMSTAGE_API_KEY') or None,
            cors_origins=_split(env.get('DREAMSTAGE_CORS_ORIGINS', '')),
            offers_per_minute=int(env.get('DREAMSTAGE_OFFERS_PER_MINUTE', '30')),
            uploads_per_minute=int(env.get('DREAMSTAGE_UPLOADS_PER_MINUTE', '60')),
            max_sessions=int(env.get('DREAMSTAGE_MAX_SESSIONS', '8')),
            max_named_sessions=int(env.get('DREAMSTAGE_MAX_NAMED_SESSIONS', '64')),
            max_peers_per_session=int(env.get('DREAMSTAGE_MAX_PEERS_PER_SESSION', '16')),
            video_bitrate=int(env.get('DREAMSTAGE_VIDEO_BITRATE', '2500000')),
            pipeline_aliases=pipeline_aliases_from_env(env),
            pipeline_plugins=_split(env.get('DREAMSTAGE_PIPELINES', '')),
            connect_timeout=float(env.get('DREAMSTAGE_CONNECT_TIMEOUT', '20')),
            leave_grace=float(env.get('DREAMSTAGE_LEAVE_GRACE', '5')),
            idle_after=float(env.get('DREAMSTAGE_IDLE_AFTER', '30')),
            expire_after=float(env.get('DREAMSTAGE_SESSION_EXPIRY', str(24 * 3600))),
            osc_port=int(env['DREAMSTAGE_OSC_PORT']) if env.get('DREAMSTAGE_OSC_PORT') else None,
            osc_host=env.get('DREAMSTAGE_OSC_HOST') or None,
            osc_out=env.get('DREAMSTAGE_OSC_OUT') or None,
            midi_inputs=_split(env.get('DREAMSTAGE_MIDI_INPUTS', '')),
            data_dir=data_dir,
            batch_ttl=float(env.get('DREAMSTAGE_BATCH_TTL', '3600')),
            max_blob_bytes=int(env.get('DREAMSTAGE_MAX_BLOB_MB', '2048')) * 1024 * 1024,
            streams_any_model=_truthy(env.get('DREAMSTAGE_STREAMS_ANY_MODEL')),
            stream_fallback=env.get('DREAMSTAGE_STREAM_FALLBACK', DEFAULT_PIPELINE) or None,
            scope_ui_dir=Path(env['DREAMSTAGE_SCOPE_UI']).expanduser() if env.get('DREAMSTAGE_SCOPE_UI') else None,
        )


def ice_servers_from_env(env: dict[str, str]) -> list[IceServer]:
    """STUN/TURN servers from `DREAMSTAGE_ICE_SERVERS` (JSON) or the `DREAMSTAGE_STUN_URLS`/`TURN_*` variables."""
    if env.get('DREAMSTAGE_ICE_SERVERS'):
        entries = json.loads(env['DREAMSTAGE_ICE_SERVERS'])
        return [IceServer(urls=_as_list(e['urls']), username=e.get('username'), credential=e.get('credential'))
                for e in entries]
    servers: list[IceServer] = []
    if stun := _split(env.get('DREAMSTAGE_STUN_URLS', '')):
        servers.append(IceServer(urls=stun))
    if turn := _split(env.get('DREAMSTAGE_TURN_URLS', '')):
        servers.append(IceServer(urls=turn, username=env.get('DREAMSTAGE_TURN_USERNAME'),
                                 credential=env.get('DREAMSTAGE_TURN_CREDENTIAL')))
    return servers


def pipeline_aliases_from_env(env: dict[str, str]) -> dict[str, str]:
    """Pipeline ids mapped to the CPU pipeline (`DREAMSTAGE_PIPELINE_ALIASES`): ids without a pipeline here always run
    it; registered pipelines (`longlive`, `streamdiffusionv2`) run it while their weights are absent (see
    PipelineRegistry.runnable)."""
    raw = env.get('DREAMSTAGE_PIPELINE_ALIASES')
    if raw is None:
        return dict.fromkeys(SCOPE_PIPELINE_IDS, DEFAULT_PIPELINE)
    pairs = (item.split('=', 1) for item in raw.split(',') if '=' in item)
    return {alias.strip(): target.strip() for alias, target in pairs}


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(',') if part.strip()]


def _truthy(value: str | None) -> bool:
    return (value or '').strip().lower() in {'1', 'true', 'yes', 'on'}
