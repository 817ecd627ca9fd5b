"""The services of one server process, built once from its settings and shared by `api/` and `ui/`."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from config import Config
from pipeline.manager import PipelineManager
from pipeline.protocol import LoadContext
from pipeline.registry import PipelineRegistry, default_registry
from rtc.peers import PeerRegistry

from .assets import AssetService
from .audio import AudioService
from .batch import BatchService
from .batch_files import BatchFiles
from .connections import ConnectionService
from .control import ControlService
from .dmx import DmxService
from .downloads import DownloadService
from .keys import KeyStore
from .lifecycle import SessionLifecycle
from .logbook import LogBook
from .lora_install import LoraInstaller
from .loras import LoraService
from .onboarding import OnboardingStore
from .presets import Look, PresetStore
from .recordings import RecordingService
from .sessions import SessionService
from .streams import StreamService
from .whip import WhipService


@dataclass(slots=True)
class ServerContext:
    """Settings, pipelines, sessions, peers and files of one server process."""

    config: Config
    registry: PipelineRegistry
    manager: PipelineManager
    peers: PeerRegistry
    sessions: SessionService
    lifecycle: SessionLifecycle
    connections: ConnectionService
    assets: AssetService
    loras: LoraService
    looks: PresetStore[Look]
    downloads: DownloadService
    audio: AudioService
    control: ControlService
    batch: BatchService
    streams: StreamService
    whip: WhipService
    recordings: RecordingService
    keys: KeyStore
    lora_installer: LoraInstaller
    onboarding: OnboardingStore
    dmx: DmxService
    logbook: LogBook
    started_at: float = field(default_factory=time.time)

    @classmethod
    def build(cls, config: Config, registry: PipelineRegistry | None = None) -> ServerContext:
        """Every service of a server with these settings (nothing starts running yet)."""
        if registry is None:
            registry = default_registry(aliases=config.pipeline_aliases)
            registry.register_plugins(config.pipeline_plugins)
        manager = PipelineManager(registry, LoadContext(config.models_dir, config.lora_dir, config.assets_dir))
        peers = PeerRegistry(bitrate=config.video_bitrate)
        sessions = SessionService(config, manager, peers)
        keys = KeyStore(config.settings_dir, {'HF_TOKEN': config.hf_token, 'CIVITAI_API_TOKEN': config.civitai_token})
        assets = AssetService(config.assets_dir, config.max_upload_bytes)
        loras = LoraService(config.lora_dir, config.max_upload_bytes)
        looks = PresetStore(config.presets_dir, Look)
        audio = AudioService(config.assets_dir, config.audio_presets_dir)
        control = ControlService(config, sessions, audio, looks, manager, registry)
        assets.stored_listeners.append(control.tempo.uploaded)  # songs are analysed once, on upload
        connections = ConnectionService(config, sessions, peers)
        streams = StreamService(config, sessions, peers, manager)
        return cls(config=config, registry=registry, manager=manager, peers=peers, sessions=sessions,
                   lifecycle=SessionLifecycle(sessions, peers, config), connections=connections,
                   assets=assets, loras=loras, looks=looks,
                   downloads=DownloadService(config, registry, keys), audio=audio, control=control,
                   batch=BatchService(manager, BatchFiles(config.data_dir / 'batch', config.batch_ttl),
                                      config.max_blob_bytes),
                   streams=streams, whip=WhipService(config, streams, sessions, peers, connections),
                   recordings=RecordingService(sessions, peers),
                   keys=keys,
                   lora_installer=LoraInstaller(loras, keys, config.hf_endpoint),
                   onboarding=OnboardingStore(config.settings_dir),
                   dmx=DmxService(config.settings_dir, registry, manager),
                   logbook=LogBook(level=logging.DEBUG if config.verbose else logging.INFO))
