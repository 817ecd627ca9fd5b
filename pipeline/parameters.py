"""The Scope `parameters` schema: what `initialParameters`, the data channel and REST updates may carry."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

InterpolationMethod = Literal['linear', 'slerp']

# Keys that apply to one chunk only; every other key is sticky (shared/spec/scope-api.md §4.4).
ONE_SHOT_KEYS = frozenset({'reset_cache', 'lora_scales', 'vace_ref_images', 'images', 'first_frame_image',
                           'last_frame_image'})
# Keys the session consumes itself; they never reach a pipeline.
PROMPT_KEYS = frozenset({'prompts', 'transition'})
SESSION_KEYS = frozenset({'paused', 'pipeline_ids', 'graph', 'recording', 'input_source', 'output_sinks',
                          'quantize_mode', 'lookahead_ms', 'modulations', 'beat_cache_reset_rate', 'node_id'})


class PromptItem(BaseModel):
    """One weighted prompt."""

    text: str
    weight: float = Field(default=1.0, ge=0)


class Transition(BaseModel):
    """A smooth change to target prompts over `num_steps` pipeline calls."""

    target_prompts: list[PromptItem]
    num_steps: int = Field(default=4, ge=0, le=1000)
    temporal_interpolation_method: InterpolationMethod = 'linear'


class LoraScale(BaseModel):
    """The runtime strength of one loaded LoRA file."""

    path: str
    scale: float = Field(ge=-10, le=10)


class Parameters(BaseModel):
    """Validated parameters; unknown keys are allowed and passed along."""

    model_config = ConfigDict(extra='allow')

    input_mode: Literal['text', 'video'] | None = None
    prompts: list[PromptItem] | None = None
    prompt_interpolation_method: InterpolationMethod | None = None
    transition: Transition | None = None
    noise_scale: float | None = Field(default=None, ge=0, le=1)
    noise_controller: bool | None = None
    denoising_step_list: list[int] | None = None
    manage_cache: bool | None = None
    reset_cache: bool | None = None
    kv_cache_attention_bias: float | None = Field(default=None, ge=0.01, le=1.0)
    lora_scales: list[LoraScale] | None = None
    paused: bool | None = None
    seed: int | None = Field(default=None, ge=0)
    base_seed: int | None = Field(default=None, ge=0)
    pipeline_ids: list[str] | None = None
    negative_prompt: str | None = None

    @field_validator('denoising_step_list')
    @classmethod
    def _steps_in_range(cls, steps: list[int] | None) -> list[int] | None:
        if steps is not None and (not steps or any(not 0 <= s <= 1000 for s in steps)):
            raise ValueError('denoising_step_list needs at least one step, each between 0 and 1000')
        return steps

    def to_message(self) -> dict[str, Any]:
        """The parameters as a data-channel message: only the keys that were set."""
        return self.model_dump(exclude_none=True)
