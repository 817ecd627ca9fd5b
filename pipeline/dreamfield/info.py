"""What Dreamfield declares: modes, sizes, load parameters and the runtime controls the studio shows."""
from __future__ import annotations

from pydantic import BaseModel, Field

from ..parameters import SEED_MAX
from ..protocol import LoadParams, PipelineInfo


class DreamfieldLoadParams(LoadParams):
    """Dreamfield's load parameters."""

    render_scale: float = Field(default=0.5, ge=0.25, le=1.0, json_schema_extra={'ui': {
        'category': 'configuration', 'is_load_param': True, 'order': 4, 'label': 'Render scale'}})


class DreamfieldControls(BaseModel):
    """Runtime controls (the data-channel keys Dreamfield reacts to), with the `ui` metadata of Scope's panels:
    noise, steps and cache in its Settings panel, enabled while streaming (the schema marks them runtime controls)."""

    noise_scale: float = Field(default=0.7, ge=0, le=1, json_schema_extra={'ui': {
        'category': 'configuration', 'order': 10, 'label': 'Noise scale', 'modulatable': True}})
    denoising_step_list: list[int] = Field(default=[1000, 750, 500, 250], json_schema_extra={'ui': {
        'category': 'configuration', 'component': 'denoising_steps', 'order': 11, 'label': 'Denoising steps'}})
    manage_cache: bool = Field(default=True, json_schema_extra={'ui': {
        'category': 'configuration', 'component': 'cache', 'order': 12, 'label': 'Manage cache'}})
    seed: int = Field(default=42, ge=0, lt=SEED_MAX + 1, json_schema_extra={'ui': {
        'category': 'configuration', 'order': 13, 'label': 'Seed'}})


DREAMFIELD = PipelineInfo(
    id='dreamfield',
    name='Dreamfield (CPU)',
    description='A procedural generative visual that runs on any CPU: prompts become colour, form and motion; '
                'denoising steps add detail, noise adds turbulence, the cache keeps it coherent. '
                'In video mode it restyles the incoming video.',
    supported_modes=['text', 'video'],
    default_mode='text',
    default_width=512,
    default_height=512,
    dimension_multiple=16,
    chunk_size=1,
    fps=30.0,
    default_denoising_steps=[1000, 750, 500, 250],
    default_temporal_interpolation_method='slerp',
    default_temporal_interpolation_steps=8,
    load_params=DreamfieldLoadParams,
    runtime_params=DreamfieldControls,
)
