"""A batch generation request (`GenerateRequest`) and its per-chunk overrides (`ChunkSpec`), as in Scope's PR #399."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.parameters import SEED_MAX, PromptItem

InterpolationMethod = Literal['linear', 'slerp']
MAX_FRAMES = 10_000
Shape = list[int]


class PlanError(Exception):
    """A request that cannot run as asked; the message goes to the client in an `error` event."""


class ChunkSpec(BaseModel):
    """Overrides for one chunk. Prompts are sticky (they hold until another chunk sets them); every other field
    applies to its chunk only."""

    model_config = ConfigDict(extra='ignore')

    chunk: int = Field(ge=0, description='the 0-based chunk index (one pipeline call)')
    text: str | None = Field(default=None, max_length=10_000, description='a new prompt from this chunk on')
    prompts: list[PromptItem] | None = Field(default=None, max_length=64, description='weighted prompts; beat `text`')
    prompt_interpolation_method: InterpolationMethod | None = None
    transition_target_prompts: list[PromptItem] | None = Field(default=None, max_length=64)
    transition_num_steps: int | None = Field(default=None, ge=0, le=1000,
                                             description='chunks the transition takes (4 when omitted; 0 is a cut)')
    transition_method: InterpolationMethod | None = None
    first_frame_image: str | None = Field(default=None, max_length=4096)
    last_frame_image: str | None = Field(default=None, max_length=4096)
    vace_ref_images: list[str] | None = Field(default=None, max_length=16)
    seed: int | None = Field(default=None, ge=0, le=SEED_MAX)
    noise_scale: float | None = None
    kv_cache_attention_bias: float | None = None
    reset_cache: bool = False
    noise_controller: bool | None = None
    manage_cache: bool | None = None
    lora_scales: dict[str, float] | None = Field(default=None, description='replaces the request map for this chunk')
    vace_context_scale: float | None = None
    vace_temporally_locked: bool = True
    vace_frames_offset: int | None = Field(default=None, ge=0)
    vace_frames_shape: Shape | None = Field(default=None, max_length=8)
    vace_masks_offset: int | None = Field(default=None, ge=0)
    vace_masks_shape: Shape | None = Field(default=None, max_length=8)
    input_video_offset: int | None = Field(default=None, ge=0)
    input_video_shape: Shape | None = Field(default=None, max_length=8)

    @property
    def sets_prompt(self) -> bool:
        return self.prompts is not None or self.text is not None


class GenerateRequest(BaseModel):
    """One batch generation: request-level values are the defaults of every chunk."""

    model_config = ConfigDict(extra='ignore')

    pipeline_id: str = Field(min_length=1, max_length=200, description='a loaded pipeline (or node id)')
    prompt: str | list[PromptItem] = Field(description='the prompt of chunk 0 (a text, or weighted prompts)')
    num_frames: int = Field(default=64, ge=1, le=MAX_FRAMES)
    height: int | None = Field(default=None, ge=64, le=2048, description="must match the loaded pipeline's")
    width: int | None = Field(default=None, ge=64, le=2048, description="must match the loaded pipeline's")
    chunk_specs: list[ChunkSpec] | None = Field(default=None, max_length=MAX_FRAMES)
    data_blob_path: str | None = Field(default=None, max_length=200, description='the id /upload-data returned')
    seed: int = Field(default=42, ge=0, le=SEED_MAX)
    noise_scale: float = 0.7
    manage_cache: bool = True
    noise_controller: bool | None = None
    kv_cache_attention_bias: float | None = None
    prompt_interpolation_method: InterpolationMethod = 'linear'
    vace_context_scale: float = 1.0
    vace_use_input_video: bool | None = None
    denoising_steps: list[int] | None = Field(default=None, max_length=50)
    lora_scales: dict[str, float] | None = None
    input_path: str | None = Field(default=None, max_length=200, description='the id /upload returned')
    pre_processor_id: str | None = Field(default=None, max_length=200)
    post_processor_id: str | None = Field(default=None, max_length=200)

    def prompt_items(self) -> list[dict[str, object]]:
        """The request prompt as weighted prompts."""
        if isinstance(self.prompt, str):
            return [{'text': self.prompt, 'weight': 1.0}]
        return [item.model_dump() for item in self.prompt]
