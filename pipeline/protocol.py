"""The pipeline protocol: what a pipeline declares and the call that turns a chunk of inputs into frames."""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .parameters import SEED_MAX

Frame = np.ndarray  # height x width x 3, uint8, RGB


def _load_ui(order: int, component: str | None = None, label: str | None = None) -> dict[str, Any]:
    """The studio metadata (`ui`) of a load parameter."""
    ui: dict[str, Any] = {'category': 'configuration', 'is_load_param': True, 'order': order}
    if component:
        ui['component'] = component
    if label:
        ui['label'] = label
    return ui


class LoadParams(BaseModel):
    """Load parameters every pipeline understands; unknown keys are accepted and ignored."""

    model_config = ConfigDict(extra='allow')

    height: int | None = Field(default=None, ge=16, le=2048, json_schema_extra={'ui': _load_ui(1, 'resolution')})
    width: int | None = Field(default=None, ge=16, le=2048, json_schema_extra={'ui': _load_ui(2, 'resolution')})
    # `lt` rather than `le`: the same bound, and Scope's frontend shows a number field, not a slider to 4 billion
    base_seed: int = Field(default=42, ge=0, lt=SEED_MAX + 1, json_schema_extra={'ui': _load_ui(3, label='Seed')})

    def unavailable(self) -> str | None:
        """Why these parameters cannot work on this machine (checked before a load starts); None when they can."""
        return None


@dataclass(slots=True)
class ModelFiles:
    """Files a pipeline needs from one Hugging Face repository."""

    repo_id: str
    files: list[str]


@dataclass(kw_only=True, slots=True)
class PipelineInfo:
    """What a pipeline declares about itself (the source of its `/api/v1/pipelines/schemas` entry)."""

    id: str
    name: str
    description: str
    supported_modes: list[str]
    default_mode: str
    default_width: int = 512
    default_height: int = 512
    dimension_multiple: int = 16
    chunk_size: int = 1
    fps: float = 30.0
    supports_prompts: bool = True
    supports_lora: bool = False
    supports_cache_management: bool = True
    supports_negative_prompt: bool = False
    default_denoising_steps: list[int] | None = None
    default_temporal_interpolation_method: str = 'slerp'
    default_temporal_interpolation_steps: int = 4
    estimated_vram_gb: float | None = None
    model_files: list[ModelFiles] = field(default_factory=list)
    load_params: type[LoadParams] = LoadParams
    runtime_params: type[BaseModel] | None = None
    docs_url: str | None = None
    # checks a load before it starts (params, models dir, width, height); raises ValueError with what to change
    preflight: Callable[[LoadParams, Path, int, int], None] | None = None

    @property
    def requires_models(self) -> bool:
        return bool(self.model_files)


@dataclass(slots=True)
class LoadContext:
    """Where a pipeline finds its files, and how it reports loading progress."""

    models_dir: Path
    lora_dir: Path
    assets_dir: Path
    report_stage: Callable[[str], None] = lambda stage: None


@dataclass(slots=True)
class Chunk:
    """The inputs of one pipeline call."""

    index: int
    time: float
    params: dict[str, Any]
    conditioning: Any = None
    reset: bool = False
    frames: list[Frame] | None = None
    one_shots: dict[str, Any] = field(default_factory=dict)


class StreamFailed(RuntimeError):
    """A failure a stream cannot recover from (out of memory, for one): the session stops with this message."""


class PipelineStream(ABC):
    """The per-session state of a pipeline (caches, feedback buffers), driven one chunk at a time."""

    @abstractmethod
    def __call__(self, chunk: Chunk) -> list[Frame]:
        """Generate the frames of one chunk; the frames are handed over and must not be changed afterwards."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release what the stream holds (its session ended)."""


class Pipeline(ABC):
    """A loaded pipeline: shared weights, one lock, and a stream per session."""

    info: ClassVar[PipelineInfo]
    keeps_input_size: ClassVar[bool] = False

    def __init__(self, params: LoadParams, context: LoadContext) -> None:
        self.params = params
        self.context = context
        self.lock = threading.Lock()
        self.width = params.width or self.info.default_width
        self.height = params.height or self.info.default_height

    @abstractmethod
    def open_stream(self) -> PipelineStream:
        """Create the state of one new stream."""

    def input_size(self) -> tuple[int, int] | None:
        """The size (width, height) incoming video frames are converted to, in C, before the stream gets them: the
        output size unless the pipeline keeps the input's size (None) or works on smaller frames itself."""
        return None if self.keeps_input_size else (self.width, self.height)

    def encode_prompt(self, text: str) -> Any:
        """Turn one prompt text into the embedding the pipeline blends (None for pipelines without prompts)."""
        return None

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release what the pipeline holds."""
