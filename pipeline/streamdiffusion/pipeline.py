"""StreamDiffusion: per-frame image diffusion (text-to-image or video-to-video), driven one chunk at a time."""
from __future__ import annotations

import gc
import logging
import threading
from typing import Any, cast

import torch

from ..protocol import Chunk, Frame, LoadContext, LoadParams, Pipeline, PipelineStream
from .conditioning import TextConditioning, encode_text
from .controls import Controls, read_controls
from .denoiser import LatentStream, Schedule, seeded_noise
from .frames import FrameIO, StageClock
from .info import STREAMDIFFUSION, StreamDiffusionControls, StreamDiffusionLoadParams
from .loader import ModelSet, load_models

log = logging.getLogger(__name__)
NO_PROMPT = ''
_thread_flags = threading.local()


class StreamDiffusionPipeline(Pipeline):
    """The loaded models, shared by every session; each session gets its own latent queue and noise."""

    info = STREAMDIFFUSION

    def __init__(self, params: LoadParams, context: LoadContext) -> None:
        super().__init__(params, context)
        self.load_params = cast(StreamDiffusionLoadParams, params)
        self.models: ModelSet = load_models(self.load_params, context.models_dir, context.lora_dir,
                                            context.report_stage)
        models = self.models
        self.clock = StageClock(models.device)
        self.defaults = _runtime_defaults(self.load_params)
        self.latent_shape = (int(models.pipe.unet.config.in_channels), self.height // models.pipe.vae_scale_factor,
                             self.width // models.pipe.vae_scale_factor)
        self.time_ids = torch.tensor([[self.height, self.width, 0, 0, self.height, self.width]],
                                     device=models.device, dtype=models.dtype) if models.sdxl else None
        self._schedules: dict[tuple[tuple[int, ...], int], Schedule] = {}
        self._texts: dict[str, torch.Tensor] = {}
        if models.device.type == 'cuda' or self.load_params.compile:
            context.report_stage('Warming up...')
            self._warm_up()

    def encode_prompt(self, text: str) -> torch.Tensor:
        """A prompt's text embedding (float32, SDXL with its pooled row); the worker blends these."""
        _flush_denormals()
        with self.clock.stage('text_encode'):
            return encode_text(self.models.pipe, text, self.models.device, self.models.sdxl)

    def open_stream(self) -> StreamDiffusionStream:
        return StreamDiffusionStream(self)

    def close(self) -> None:
        cuda = self.models.device.type == 'cuda'
        del self.models
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()

    @property
    def loaded_lora_adapters(self) -> list[dict[str, Any]]:
        """The LoRAs in use (Scope's `loaded_lora_adapters`)."""
        return self.models.loras.describe()

    def schedule(self, t_index_list: tuple[int, ...], steps: int) -> Schedule:
        """The (cached) schedule of a `t_index_list` on a grid of `steps` steps."""
        key = (t_index_list, steps)
        if key not in self._schedules:
            self._schedules[key] = Schedule.build(self.models.scheduler, t_index_list, steps, self.models.device,
                                                  self.models.dtype)
        return self._schedules[key]

    def text(self, prompt: str) -> torch.Tensor:
        """A cached embedding of a text the pipeline needs itself (the negative prompt, the empty prompt)."""
        if prompt not in self._texts:
            if len(self._texts) > 64:
                self._texts.clear()
            self._texts[prompt] = self.encode_prompt(prompt)
        return self._texts[prompt]

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """An RGB image in [-1, 1] to its scaled latent."""
        models = self.models
        with self.clock.stage('vae_encode'):
            encoded = models.vae.encode(image.to(models.vae_dtype))
            latent = encoded.latents if models.tiny_vae else encoded.latent_dist.mode()
            return (latent * models.latent_scale).to(models.dtype)

    def decode_latent(self, latent: torch.Tensor) -> torch.Tensor:
        """A scaled latent to an RGB image in [-1, 1]."""
        models = self.models
        with self.clock.stage('vae_decode'):
            return models.vae.decode(latent.to(models.vae_dtype) / models.latent_scale, return_dict=False)[0]

    def _warm_up(self) -> None:
        stream = self.open_stream()
        embedding = self.encode_prompt(NO_PROMPT)
        for index in range(2):
            stream(Chunk(index=index, time=0.0, params={}, conditioning=embedding, reset=index == 0))


class StreamDiffusionStream(PipelineStream):
    """One session: its latent queue (stream batch), noise, conditioning and frame conversion."""

    def __init__(self, pipeline: StreamDiffusionPipeline) -> None:
        self.pipeline = pipeline
        models = pipeline.models
        self.io = FrameIO(models.device, models.dtype, pipeline.width, pipeline.height)
        self.latents: LatentStream | None = None
        self._noise_key: tuple[Any, int] | None = None
        self._conditioning: TextConditioning | None = None
        self._conditioning_source: torch.Tensor | None = None  # the embedding it was built from (compared by identity)
        self._conditioning_negative: str | None = None

    def __call__(self, chunk: Chunk) -> list[Frame]:
        pipeline = self.pipeline
        _flush_denormals()
        controls = read_controls(chunk.params, pipeline.defaults)
        with torch.inference_mode():
            if chunk.one_shots.get('lora_scales') is not None:
                pipeline.models.loras.apply_scales(chunk.one_shots['lora_scales'])
            latents = self._latent_stream(controls)
            if chunk.reset:
                latents.reset()
            conditioning = self._text_conditioning(chunk.conditioning, controls)
            image_latent = None
            if chunk.frames:
                with pipeline.clock.stage('to_tensor'):
                    image = self.io.to_image(chunk.frames[-1])
                image_latent = pipeline.encode_image(image)
            with pipeline.clock.stage('unet'):
                denoised = latents(latents.start_latent(image_latent), conditioning, controls.guidance_scale,
                                   controls.delta)
            decoded = pipeline.decode_latent(denoised)
            with pipeline.clock.stage('to_frame'):
                frame = self.io.to_frame(decoded)
        return [frame]

    def _latent_stream(self, controls: Controls) -> LatentStream:
        """The session's latent queue, retargeted when `t_index_list`, the steps or the seed changed."""
        pipeline = self.pipeline
        schedule = pipeline.schedule(controls.t_index_list, controls.num_inference_steps)
        noise_key = (_seed_key(controls.seed), schedule.size)
        noise = None
        if noise_key != self._noise_key or self.latents is None:
            shape = (schedule.size, *pipeline.latent_shape)
            noise = seeded_noise(controls.seed, shape, pipeline.models.device, pipeline.models.dtype)
            self._noise_key = noise_key
        if self.latents is None:
            assert noise is not None
            params = pipeline.load_params
            self.latents = LatentStream(pipeline.models.unet, schedule, noise, batch=params.use_denoising_batch,
                                        cfg_type=params.cfg_type, add_noise=params.do_add_noise)
        elif noise is not None or schedule is not self.latents.schedule:
            self.latents.retarget(schedule, noise if noise is not None else self.latents.init_noise)
        return self.latents

    def _text_conditioning(self, embedding: Any, controls: Controls) -> TextConditioning:
        """The UNet's text inputs for the blended prompt embedding (and the negative prompt for classic CFG)."""
        pipeline = self.pipeline
        if not isinstance(embedding, torch.Tensor):
            embedding = pipeline.text(NO_PROMPT)
        negative_text = controls.negative_prompt if self._needs_negative(controls) else None
        source, built_for = self._conditioning_source, self._conditioning_negative
        if self._conditioning is None or source is not embedding or built_for != negative_text:
            models = pipeline.models
            negative = pipeline.text(negative_text) if negative_text is not None else None
            self._conditioning = TextConditioning.build(embedding, negative, dtype=models.dtype, device=models.device,
                                                        pooled_dim=models.pooled_dim, time_ids=pipeline.time_ids)
            self._conditioning_source, self._conditioning_negative = embedding, negative_text
        return self._conditioning

    def _needs_negative(self, controls: Controls) -> bool:
        return self.pipeline.load_params.cfg_type in ('full', 'initialize') and controls.guidance_scale > 1.0


def _runtime_defaults(params: StreamDiffusionLoadParams) -> dict[str, Any]:
    """The runtime controls' defaults, overridden by any given as load parameters (as Daydream's create does)."""
    defaults = StreamDiffusionControls().model_dump()
    extra = params.model_extra or {}
    defaults.update({key: extra[key] for key in defaults if key in extra})
    return defaults


def _flush_denormals() -> None:
    """Treat denormal floats as zero in this thread (a CPU can be 10-100x slower on them); set once per thread."""
    if not getattr(_thread_flags, 'denormals_flushed', False):
        torch.set_flush_denormal(True)
        _thread_flags.denormals_flushed = True


def _seed_key(seed: Any) -> Any:
    return tuple(map(tuple, seed)) if isinstance(seed, list) else seed
