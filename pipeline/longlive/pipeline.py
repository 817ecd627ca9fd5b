"""LongLive and StreamDiffusionV2: causal Wan pipelines, the models shared by every session, a stream per session."""
from __future__ import annotations

import dataclasses
import gc
import logging
import time
from pathlib import Path
from typing import Any, ClassVar, cast

import torch

from ..causal.config import Geometry
from ..causal.loras import LoraSpec, resolve
from ..causal.memory import MemoryBudget, device_budget
from ..causal.models import RunOptions, WanModels, load_models, resolve_device, resolve_dtype
from ..model_store import missing
from ..protocol import Chunk, LoadContext, LoadParams, Pipeline, PipelineInfo
from .info import LONGLIVE, STREAMDIFFUSIONV2
from .params import CausalWanControls, CausalWanLoadParams
from .preflight import check_fits, memory_estimate
from .stream import CausalWanStream

log = logging.getLogger(__name__)


class CausalWanPipeline(Pipeline):
    """The loaded models, shared by every session; each session gets its own KV cache, noise and codec state."""

    info: ClassVar[PipelineInfo]

    def __init__(self, params: LoadParams, context: LoadContext) -> None:
        super().__init__(params, context)
        self.load_params = settings = cast(CausalWanLoadParams, params)
        self.device = resolve_device(settings.device)
        self.dtype = resolve_dtype(settings.dtype, self.device)
        if self.device.type == 'cuda':
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.config = dataclasses.replace(settings.causal, warp_steps=settings.warp_denoising_steps)
        _check_files(settings, context.models_dir, self.info.id)
        estimate = memory_estimate(settings, context.models_dir, self.width, self.height)
        limit = device_budget(self.device, settings.max_memory_gb)
        if limit is not None:
            check_fits(settings, estimate, limit, self.width, self.height)
        self.budget = MemoryBudget(limit, estimate.shared)
        self.stream_bytes = estimate.per_stream
        options = RunOptions(self.device, self.dtype, resolve_device(settings.text_encoder_device, self.device),
                             attention=settings.attention, compile=settings.compile, cuda_graphs=settings.cuda_graphs,
                             fp8=settings.quantization is not None, loras=_lora_specs(settings, context.lora_dir))
        self.models: WanModels = load_models(settings.model_paths(context.models_dir), options, context.report_stage)
        transformer = self.models.transformer.model.config
        self.geometry = Geometry(self.width, self.height, latent_channels=int(transformer.in_channels),
                                 patch=(int(transformer.patch_size[1]), int(transformer.patch_size[2])))
        self.defaults = _runtime_defaults(self.info, settings)
        self._prompts: dict[str, torch.Tensor] = {}
        self.first_frame_seconds: float | None = None
        if self.device.type == 'cuda':
            context.report_stage('Warming up...')
            self._warm_up()

    def encode_prompt(self, text: str) -> torch.Tensor:
        """A prompt's umT5 embedding (1, 512, width), float32; the worker blends these."""
        return self.models.text(text)

    def empty_prompt(self) -> torch.Tensor:
        if '' not in self._prompts:
            self._prompts[''] = self.encode_prompt('')
        return self._prompts['']

    def open_stream(self) -> CausalWanStream:
        return CausalWanStream(self)

    def close(self) -> None:
        cuda = self.device.type == 'cuda'
        del self.models
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()

    @property
    def loaded_lora_adapters(self) -> list[dict[str, Any]]:
        """The style LoRAs in use (Scope's `loaded_lora_adapters`)."""
        return self.models.loras.describe()

    def _warm_up(self) -> None:
        """Run two chunks (kernels, allocator, compilation) and note the time to the first frame."""
        stream = self.open_stream()
        try:
            begun = time.perf_counter()
            for index in range(2):
                stream(Chunk(index=index, time=0.0, params={}, conditioning=None, reset=index == 0))
                if index == 0:
                    torch.cuda.synchronize(self.device)
                    self.first_frame_seconds = time.perf_counter() - begun
        finally:
            stream.close()
        log.info('%s warmed up: first chunk in %.2f s', self.info.id, self.first_frame_seconds or 0.0)


class LongLivePipeline(CausalWanPipeline):
    """LongLive (NVlabs): Wan2.1-T2V-1.3B trained for long, interactive video; 12-frame chunks, KV recache."""

    info = LONGLIVE


class StreamDiffusionV2Pipeline(CausalWanPipeline):
    """StreamDiffusionV2: Wan2.1-T2V-1.3B trained for streaming video-to-video; 4-frame chunks."""

    info = STREAMDIFFUSIONV2


def _check_files(params: CausalWanLoadParams, models_dir: Path, pipeline_id: str) -> None:
    """A load never downloads: missing files stop it with a message that says how to get them."""
    if absent := missing(params.model_files(), models_dir):
        raise FileNotFoundError(f'Model files are not downloaded (missing {absent[0]} in {models_dir}). Download '
                                f'them first: POST /api/v1/models/download {{"pipeline_id": "{pipeline_id}"}} or '
                                f'python -m pipeline.download --pipeline {pipeline_id}')
    paths = params.model_paths(models_dir)
    for path in (paths.base / 'transformer' / 'config.json', paths.checkpoint, paths.tiny_autoencoder):
        if path is not None and not path.exists():
            raise FileNotFoundError(f'{path} does not exist')


def _lora_specs(params: CausalWanLoadParams, lora_dir: Path) -> list[LoraSpec]:
    specs = []
    for item in params.loras or []:
        mode = item.merge_mode or params.lora_merge_strategy
        specs.append(LoraSpec(resolve(item.path, lora_dir), item.path, item.scale, mode == 'runtime_peft'))
    return specs


def _runtime_defaults(info: PipelineInfo, params: CausalWanLoadParams) -> dict[str, Any]:
    """The runtime controls' defaults, overridden by any given as load parameters (Scope's `denoising_steps`)."""
    controls = cast(type[CausalWanControls], info.runtime_params)
    defaults = controls().model_dump()
    defaults['seed'] = params.base_seed
    extra = params.model_extra or {}
    if isinstance(extra.get('denoising_steps'), list):
        defaults['denoising_step_list'] = extra['denoising_steps']
    defaults.update({key: extra[key] for key in defaults if key in extra})
    return defaults
