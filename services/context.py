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
from .connections import ConnectionService
from .dmx import DmxService
from .downloads import DownloadService
from .keys import KeyStore
from .lifecycle import SessionLifecycle
from .logbook import LogBook
from .lora_install import LoraInstaller
from .loras import LoraService
from .onboarding import OnboardingStore
from .presets import Look, PresetStore
from .sessions import SessionService


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
        loras = LoraService(config.lora_dir, config.max_upload_bytes)
        return cls(config=config, registry=registry, manager=manager, peers=peers, sessions=sessions,
                   lifecycle=SessionLifecycle(sessions, peers, config),
                   connections=ConnectionService(config, sessions, peers),
                   assets=AssetService(config.assets_dir, config.max_upload_bytes),
                   loras=loras,
                   looks=PresetStore(config.presets_dir, Look),
                   downloads=DownloadService(config, registry, keys),
                   audio=AudioService(config.assets_dir, config.audio_presets_dir),
                   keys=keys,
                   lora_installer=LoraInstaller(loras, keys, config.hf_endpoint),
                   onboarding=OnboardingStore(config.settings_dir),
                   dmx=DmxService(config.settings_dir, registry, manager),
                   logbook=LogBook(level=logging.DEBUG if config.verbose else logging.INFO))
