"""Dreamfield: prompts become colour, form and motion of a domain-warped field, rendered on the CPU."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..protocol import Chunk, Frame, LoadContext, LoadParams, Pipeline, PipelineStream
from .archetypes import Archetypes
from .feedback import FeedbackBuffer
from .info import DREAMFIELD, DreamfieldControls
from .palette import ColourAnchors
from .render import Controls, FieldRenderer, Motion
from .style import MAX_OCTAVES, Look, Style, StyleMapper
from .text_encoder import EMBEDDING_SIZE, TextEncoder, shared_text_encoder
from .upscale import Upscaler
from .video import InputReader

DEFAULT_PROMPT = 'liquid light flowing through a dreamy nebula'
DEFAULTS = DreamfieldControls()
GRAIN_MARGIN = 64
MAX_STEP_SECONDS = 0.1
FOLLOW = 0.3  # share of the way to a new conditioning taken per chunk (the cache's inertia; a reset snaps)


class DreamfieldPipeline(Pipeline):
    """The built-in CPU pipeline: text or video in, a flowing generative picture out."""

    info = DREAMFIELD

    def __init__(self, params: LoadParams, context: LoadContext) -> None:
        super().__init__(params, context)
        context.report_stage('Loading text encoder...')
        self.encoder: TextEncoder = shared_text_encoder()
        context.report_stage('Preparing palettes...')
        self.styles = StyleMapper(EMBEDDING_SIZE, Archetypes(self.encoder.encode), ColourAnchors(self.encoder.encode))
        self.default_embedding = self.encoder.encode(DEFAULT_PROMPT)
        scale = float(getattr(params, 'render_scale', 0.5) or 0.5)
        self.render_size = (max(8, round(self.width * scale)), max(8, round(self.height * scale)))

    def encode_prompt(self, text: str) -> np.ndarray:
        """The prompt's sentence embedding (384 float32, unit length)."""
        return self.encoder.encode(text)

    def open_stream(self) -> DreamfieldStream:
        return DreamfieldStream(self)

    def input_size(self) -> tuple[int, int]:
        """Video mode reads the input at the internal resolution: converted there directly, not via the output size."""
        return self.render_size


class DreamfieldStream(PipelineStream):
    """One session's run of the field: its motion, feedback cache and grain, driven one chunk at a time."""

    def __init__(self, pipeline: DreamfieldPipeline) -> None:
        width, height = pipeline.render_size
        self.styles = pipeline.styles
        self.default_embedding = pipeline.default_embedding
        self.base_seed = pipeline.params.base_seed
        self.renderer = FieldRenderer(width, height)
        self.feedback = FeedbackBuffer(width, height)
        self.reader = InputReader(width, height)
        self.upscaler = Upscaler((height, width), (pipeline.height, pipeline.width))
        self.grain = np.random.default_rng(7).standard_normal(
            (height + GRAIN_MARGIN, width + GRAIN_MARGIN)).astype(np.float32)
        self.motion = Motion.start()
        self.look: Look | None = None
        self.style: tuple[Look, int, Style] | None = None
        self.last_time: float | None = None
        self.frame = 0

    def __call__(self, chunk: Chunk) -> list[Frame]:
        if chunk.reset or self.last_time is None:
            self._restart(chunk.time)
        dt = min(max(chunk.time - (self.last_time or 0.0), 0.0), MAX_STEP_SECONDS)
        self.last_time = chunk.time
        controls = _controls(chunk.params)
        style = self._style(chunk.conditioning, _seed(chunk.params, self.base_seed))
        self.motion.advance(style, dt)
        image = self.reader(chunk.frames[-1]) if chunk.frames else None
        fields = self.renderer.render(style, self.motion, controls, image)
        amount = style.feedback * (0.55 if image is not None else 1.0)
        flow_pixels = style.advect * (0.4 + controls.noise) * self.renderer.width / 256
        colour = self.feedback.blend(fields.colour, amount, style.zoom_rate, style.spin_rate, (fields.qx, fields.qy),
                                     flow_pixels)
        self._add_grain(colour, 0.014 * controls.noise)
        np.clip(colour, 0.0, 1.0, out=colour)
        self.frame += 1
        return [self.upscaler(colour)]

    def _restart(self, time: float) -> None:
        """A fresh start: motion from the beginning, feedback cache emptied."""
        self.motion = Motion.start()
        self.feedback.clear()
        self.look = None
        self.last_time = time
        self.frame = 0

    def _style(self, conditioning: Any, seed: int) -> Style:
        """The style to draw: the look glides towards a new conditioning over a few chunks instead of cutting."""
        target = self.styles.look(_embedding(conditioning, self.default_embedding))
        self.look = target if self.look is None else self.look.toward(target, FOLLOW)
        if self.style is None or self.style[0] is not self.look or self.style[1] != seed:
            self.style = (self.look, seed, self.styles.style(self.look, seed))
        return self.style[2]

    def _add_grain(self, colour: np.ndarray, amount: float) -> None:
        """Film grain from a fixed noise tile, shifted every frame (no random numbers drawn per frame)."""
        if amount <= 0:
            return
        height, width = colour.shape[1:]
        dy, dx = (self.frame * 37) % GRAIN_MARGIN, (self.frame * 53) % GRAIN_MARGIN
        grain = self.grain[dy:dy + height, dx:dx + width] * amount
        for k in range(3):
            colour[k] += grain


def _embedding(conditioning: Any, default: np.ndarray) -> np.ndarray:
    if conditioning is None:
        return default
    if hasattr(conditioning, 'detach'):  # a torch tensor from another encoder
        conditioning = conditioning.detach().float().cpu().numpy()
    return np.asarray(conditioning, np.float32).reshape(-1)


def _controls(params: dict[str, Any]) -> Controls:
    """Detail octaves and strength from the denoising steps, turbulence from the noise scale."""
    steps = params.get('denoising_step_list') or DEFAULTS.denoising_step_list
    noise = params.get('noise_scale')
    noise = DEFAULTS.noise_scale if noise is None else noise
    return Controls(octaves=min(max(len(steps), 1), MAX_OCTAVES),
                    strength=min(max(float(steps[0]) / 1000.0, 0.05), 1.0),
                    noise=min(max(float(noise), 0.0), 1.0))


def _seed(params: dict[str, Any], base_seed: int) -> int:
    seed = params.get('seed')
    if seed is None:
        seed = params.get('base_seed')
    return int(base_seed if seed is None else seed)
