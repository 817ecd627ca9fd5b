"""The parameter model: what `initialParameters`, the data channel, REST, the studio and the audio loop may send."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

InterpolationMethod = Literal['linear', 'slerp']
SEED_MAX = 2**32 - 1

# Keys that apply to one chunk only; every other key is sticky (shared/spec/scope-api.md §4.4).
ONE_SHOT_KEYS = frozenset({'reset_cache', 'lora_scales', 'vace_ref_images', 'images', 'first_frame_image',
                           'last_frame_image'})
# Keys the session consumes itself; they never reach a pipeline.
PROMPT_KEYS = frozenset({'prompts', 'transition'})
SESSION_KEYS = frozenset({'paused', 'pipeline_ids', 'graph', 'recording', 'input_source', 'output_sinks',
                          'quantize_mode', 'lookahead_ms', 'modulations', 'beat_cache_reset_rate', 'node_id'})
# The common keys `parameters_updated` reports (besides a pipeline's own runtime controls): the ones Scope's frontend
# takes into its own controls. Everything else a session holds (input_mode, pipeline_ids, graph, one-shot keys...)
# is the business of the client that sent it, and a client would send it back as its own in its next offer.
NOTIFIED_KEYS = frozenset({'prompts', 'noise_scale', 'noise_controller', 'manage_cache', 'kv_cache_attention_bias',
                           'vace_context_scale', 'denoising_step_list', 'paused'})
# Sources whose values are a session's starting point, not changes anyone needs to hear of.
STARTING_SOURCES = frozenset({'defaults', 'initial'})


def control(label: str, order: int, *, modulatable: bool = False, component: str | None = None) -> dict[str, Any]:
    """The `ui` metadata of a runtime control, in the shape of Scope's schemas."""
    ui: dict[str, Any] = {'category': 'input', 'order': order, 'label': label, 'is_load_param': False}
    if modulatable:
        ui['modulatable'] = True
    if component:
        ui['component'] = component
    return {'ui': ui}


class StrictModel(BaseModel):
    """Strict types (no string booleans, no numbers as strings), finite numbers only."""

    model_config = ConfigDict(strict=True, allow_inf_nan=False)


class PromptItem(StrictModel):
    """One weighted prompt."""

    text: str = Field(max_length=10_000)
    weight: float = Field(default=1.0, ge=0, le=1_000_000)


class Transition(StrictModel):
    """A smooth change to target prompts over `num_steps` pipeline calls."""

    target_prompts: list[PromptItem] = Field(max_length=64)
    num_steps: int = Field(default=4, ge=0, le=1000)
    temporal_interpolation_method: InterpolationMethod = 'linear'


class LoraScale(StrictModel):
    """The runtime strength of one loaded LoRA file."""

    path: str = Field(max_length=4096)
    scale: float = Field(ge=-10, le=10)


class Parameters(StrictModel):
    """Every key Scope's schema knows, each optional; unknown keys are allowed and passed along."""

    model_config = ConfigDict(extra='allow')

    input_mode: Literal['text', 'video'] | None = None
    prompts: list[PromptItem] | None = Field(default=None, max_length=64)
    prompt_interpolation_method: InterpolationMethod | None = None
    transition: Transition | None = None
    noise_scale: float | None = Field(default=None, ge=0, le=1, json_schema_extra=control(
        'Noise scale', 10, modulatable=True, component='noise'))
    noise_controller: bool | None = None
    denoising_step_list: list[int] | None = Field(default=None, max_length=50)
    manage_cache: bool | None = None
    reset_cache: bool | None = None
    kv_cache_attention_bias: float | None = Field(default=None, ge=0.01, le=1.0, json_schema_extra=control(
        'KV cache attention bias', 30, modulatable=True))
    vace_context_scale: float | None = Field(default=None, ge=0, le=2, json_schema_extra=control(
        'VACE strength', 31, modulatable=True))
    lora_scales: list[LoraScale] | None = Field(default=None, max_length=64)
    paused: bool | None = None
    seed: int | None = Field(default=None, ge=0, lt=SEED_MAX + 1)
    base_seed: int | None = Field(default=None, ge=0, lt=SEED_MAX + 1)
    pipeline_ids: list[str] | None = Field(default=None, max_length=16)
    negative_prompt: str | None = Field(default=None, max_length=10_000)

    @field_validator('denoising_step_list')
    @classmethod
    def _steps_in_range(cls, steps: list[int] | None) -> list[int] | None:
        if steps is not None and (not steps or any(not 0 <= s <= 1000 for s in steps)):
            raise ValueError('denoising_step_list needs at least one step, each between 0 and 1000')
        return steps

    def to_message(self) -> dict[str, Any]:
        """The parameters as a data-channel message: only the keys that were set."""
        return self.model_dump(exclude_none=True)
