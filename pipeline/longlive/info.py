"""What the LongLive and StreamDiffusionV2 pipelines declare: configs, load parameters, controls and model files."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from ..causal.config import CausalConfig
from ..protocol import PipelineInfo
from .params import CausalWanControls, CausalWanLoadParams, ui
from .preflight import preflight

LONGLIVE_REPO = 'Efficient-Large-Model/LongLive-1.3B'
SDV2_REPO = 'daydreamlive/StreamDiffusionV2'
LONGLIVE_STEPS = [1000, 750, 500, 250]
SDV2_STEPS = [750, 250]

# LongLive: chunks of 3 latent frames (12 video frames), a 3-frame sink, a 12-frame window, 4 warped steps
LONGLIVE_CAUSAL = CausalConfig(chunk_frames=3, sink_frames=3, window_frames=12, timestep_shift=5.0, warp_steps=True)
# StreamDiffusionV2: one latent frame (4 video frames) per chunk, a 3-frame sink, a 6-frame window, steps as given
SDV2_CAUSAL = CausalConfig(chunk_frames=1, sink_frames=3, window_frames=6, timestep_shift=5.0, warp_steps=False)


class LongLiveLoadParams(CausalWanLoadParams):
    """LongLive's load parameters: Wan2.1-T2V-1.3B with LongLive's weights and LoRA (merged)."""

    causal: ClassVar[CausalConfig] = LONGLIVE_CAUSAL
    checkpoint_file: ClassVar[str] = 'models/longlive_base.pt'
    checkpoint_lora_file: ClassVar[str | None] = 'models/lora.pt'

    weights_id: str | None = Field(default=LONGLIVE_REPO, json_schema_extra=ui(
        5, 'LongLive weights: repo or folder with models/longlive_base.pt and models/lora.pt '
        '(none: the base model folder has causal weights)', load=True))


class StreamDiffusionV2LoadParams(CausalWanLoadParams):
    """StreamDiffusionV2's load parameters: Wan2.1-T2V-1.3B with its causal video-to-video weights."""

    causal: ClassVar[CausalConfig] = SDV2_CAUSAL
    checkpoint_file: ClassVar[str] = 'wan_causal_dmd_v2v/model.pt'

    weights_id: str | None = Field(default=SDV2_REPO, json_schema_extra=ui(
        5, 'StreamDiffusionV2 weights: repo or folder with wan_causal_dmd_v2v/model.pt', load=True))
    warp_denoising_steps: bool = Field(default=False, json_schema_extra=ui(
        11, 'Map denoising steps through the shifted timestep grid', load=True))


class LongLiveControls(CausalWanControls):
    """LongLive's runtime controls."""


class StreamDiffusionV2Controls(CausalWanControls):
    """StreamDiffusionV2's runtime controls (two steps by default)."""

    denoising_step_list: list[int] = Field(default=SDV2_STEPS, min_length=1, max_length=8, json_schema_extra=ui(
        20, 'Denoising steps', component='denoising_steps', modulatable=True, modulatable_min=100,
        modulatable_max=1000))


LONGLIVE = PipelineInfo(
    id='longlive',
    name='LongLive',
    description='Real-time long video from text or video (NVlabs LongLive on Wan2.1-T2V-1.3B): block-causal chunks '
                'of 12 frames with a KV cache (frame sink + short window), 4 denoising steps, and a KV recache on '
                'prompt switches for smooth, coherent changes. Needs a CUDA GPU (about 20 GB at 576x320).',
    supported_modes=['text', 'video'],
    default_mode='text',
    default_width=576,
    default_height=320,
    dimension_multiple=16,
    chunk_size=12,
    fps=16.0,
    supports_lora=True,
    supports_cache_management=True,
    default_denoising_steps=LONGLIVE_STEPS,
    default_temporal_interpolation_method='slerp',
    default_temporal_interpolation_steps=0,
    estimated_vram_gb=20.0,
    model_files=LongLiveLoadParams().model_files(),
    load_params=LongLiveLoadParams,
    runtime_params=LongLiveControls,
    docs_url='https://github.com/NVlabs/LongLive',
    preflight=preflight,
)

STREAMDIFFUSIONV2 = PipelineInfo(
    id='streamdiffusionv2',
    name='StreamDiffusionV2',
    description='Streaming video-to-video (StreamDiffusionV2 on Wan2.1-T2V-1.3B): chunks of 4 frames on the same '
                'causal core as LongLive (KV cache with a sink and a short window), 2 denoising steps. Needs a CUDA '
                'GPU.',
    supported_modes=['text', 'video'],
    default_mode='video',
    default_width=512,
    default_height=512,
    dimension_multiple=16,
    chunk_size=4,
    fps=16.0,
    supports_lora=True,
    supports_cache_management=True,
    default_denoising_steps=SDV2_STEPS,
    default_temporal_interpolation_method='slerp',
    default_temporal_interpolation_steps=0,
    estimated_vram_gb=20.0,
    model_files=StreamDiffusionV2LoadParams().model_files(),
    load_params=StreamDiffusionV2LoadParams,
    runtime_params=StreamDiffusionV2Controls,
    docs_url='https://github.com/chenfengxu714/StreamDiffusionV2',
    preflight=preflight,
)
