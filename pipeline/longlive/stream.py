"""The stream of one session on a causal Wan pipeline: chunk parameters in, 12 (or 4) RGB frames out."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..causal.generator import CausalGenerator
from ..causal.memory import advice
from ..causal.transformer import TextContext
from ..causal.video_vae import StreamCodec
from ..protocol import Chunk, Frame, PipelineStream, StreamFailed

if TYPE_CHECKING:
    from .pipeline import CausalWanPipeline


_thread_flags = threading.local()


class StreamOutOfMemory(StreamFailed):
    """The GPU ran out of memory during a chunk: the stream's cache is freed and the session stops."""


class CausalWanStream(PipelineStream):
    """One session: its KV cache and noise (the generator), its autoencoder state and its prompt context."""

    def __init__(self, pipeline: CausalWanPipeline) -> None:
        self.pipeline = pipeline
        self.generator: CausalGenerator | None = None
        self.codec: StreamCodec | None = None
        self.text: TextContext | None = None

    def __call__(self, chunk: Chunk) -> list[Frame]:
        if self.pipeline.device.type == 'cpu':
            _flush_denormals()
        try:
            with torch.inference_mode():
                return self._generate(chunk)
        except torch.OutOfMemoryError as error:
            reason = str(error)
        # outside the except block the traceback (and the tensors its frames hold) is gone, so the memory can go too
        self.close()
        pipeline = self.pipeline
        if pipeline.device.type == 'cuda':
            torch.cuda.empty_cache()
        settings = pipeline.load_params
        text_on_gpu = pipeline.models.text.device.type == 'cuda'
        raise StreamOutOfMemory(f'out of GPU memory at {pipeline.width}x{pipeline.height} ({reason}); the stream '
                                'stopped and its cache was freed: ' + advice(
                                    pipeline.width, pipeline.height, settings.vae_type,
                                    settings.quantization is not None, text_on_gpu))

    def close(self) -> None:
        """Free the KV cache and the codec state, and return their memory to the budget."""
        self.generator = self.codec = self.text = None
        self.pipeline.budget.release(self)

    def _generate(self, chunk: Chunk) -> list[Frame]:
        pipeline = self.pipeline
        controls = {**pipeline.defaults, **{k: v for k, v in chunk.params.items() if v is not None}}
        seed = int(controls.get('seed') or 0)
        generator = self.generator or self._open(seed)
        if chunk.reset or self.codec is None:
            generator.reset(seed)
            self.codec = pipeline.models.autoencoder.open()
            self.text = None
        generator.seed = seed
        weights_changed = chunk.one_shots.get('lora_scales') is not None and \
            pipeline.models.loras.set_scales(chunk.one_shots['lora_scales'])
        text = self._text_context(chunk.conditioning)
        if generator.chunks and (text is not generator.text or weights_changed) and controls.get('prompt_recache'):
            generator.recache(text)
        video = self._encode(chunk.frames) if chunk.frames else None
        noise_scale = controls.get('noise_scale')
        latents = generator.next_chunk(text, list(controls['denoising_step_list']), video=video,
                                       noise_scale=0.7 if noise_scale is None else float(noise_scale))
        assert self.codec is not None
        return _to_frames(self.codec.decode(latents))

    def _open(self, seed: int) -> CausalGenerator:
        """Reserve this stream's memory and allocate its KV cache (raises torch.OutOfMemoryError when over budget)."""
        pipeline = self.pipeline
        pipeline.budget.reserve(self, pipeline.stream_bytes, f'a stream at {pipeline.width}x{pipeline.height}')
        self.generator = CausalGenerator(pipeline.models.transformer, pipeline.config, pipeline.geometry, seed=seed)
        return self.generator

    def _text_context(self, conditioning: Any) -> TextContext:
        """The cross-attention context of the blended prompt (computed again only when the prompt changed)."""
        embedding = conditioning if isinstance(conditioning, torch.Tensor) else self.pipeline.empty_prompt()
        if self.text is None or self.text.source is not embedding:  # the worker hands over a new tensor per change
            self.text = self.pipeline.models.transformer.text_context(embedding)
        return self.text

    def _encode(self, frames: list[np.ndarray]) -> torch.Tensor:
        """Input frames (H x W x 3 uint8) to the latents of one chunk: one copy to the device, then the encoder."""
        assert self.codec is not None
        needed = self.codec.input_frames(self.pipeline.config.chunk_frames)
        picks = np.linspace(0, len(frames) - 1, needed).round().astype(int) if len(frames) < needed \
            else np.arange(len(frames) - needed, len(frames))
        pixels = torch.from_numpy(np.stack([frames[i] for i in picks])).to(self.pipeline.device)
        video = pixels.permute(3, 0, 1, 2)[None].float().div_(127.5).sub_(1.0)  # (1, 3, N, H, W) in [-1, 1]
        return self.codec.encode(video)


def _flush_denormals() -> None:
    """Treat denormal floats as zero in this thread (a CPU can be 10-100x slower on them); set once per thread."""
    if not getattr(_thread_flags, 'denormals_flushed', False):
        torch.set_flush_denormal(True)
        _thread_flags.denormals_flushed = True


def _to_frames(video: torch.Tensor) -> list[Frame]:
    """(1, 3, N, H, W) in [-1, 1] to N new H x W x 3 uint8 frames: quantised on the device, then one copy back."""
    pixels = video[0].float().add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)
    frames = pixels.permute(1, 2, 3, 0).contiguous().cpu().numpy()
    return list(frames)
