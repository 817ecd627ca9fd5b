"""How a causal video model runs (chunk, attention window, steps, noise schedule) and the sizes of one stream."""
from __future__ import annotations

from dataclasses import dataclass

LATENT_FRAME_PIXELS = 4  # one latent frame is 4 video frames (the first latent frame of a stream: 1)


@dataclass(frozen=True, slots=True)
class CausalConfig:
    """The block-causal schedule: chunks of latent frames attending to sink frames and a rolling window."""

    chunk_frames: int = 3  # latent frames generated per chunk (3 latent frames = 12 video frames)
    sink_frames: int = 3  # the first frames of a stream, kept in the cache for ever (LongLive's frame sink)
    window_frames: int = 12  # frames a chunk attends to, itself and the sink included
    timestep_shift: float = 5.0  # the flow-matching shift of the model's timestep grid
    warp_steps: bool = True  # map denoising steps (1000 = noise) through the shifted grid, as LongLive does
    max_position: int = 1024  # frame positions are rebased before they reach this (Wan's RoPE table length)

    def __post_init__(self) -> None:
        if self.chunk_frames < 1 or self.sink_frames < 0:
            raise ValueError('a chunk needs at least one frame and the sink cannot be negative')
        if self.window_frames < self.sink_frames + self.chunk_frames:
            raise ValueError('the attention window must hold the sink and one chunk')
        if (self.window_frames - self.sink_frames) % self.chunk_frames:
            raise ValueError('the window beyond the sink must be a whole number of chunks')

    @property
    def recent_frames(self) -> int:
        """Frames before the current chunk that it attends to besides the sink."""
        return self.window_frames - self.sink_frames - self.chunk_frames

    def video_frames(self, first: bool) -> int:
        """Video frames one chunk decodes to (the first chunk of a stream has 3 fewer)."""
        frames = LATENT_FRAME_PIXELS * self.chunk_frames
        return frames - (LATENT_FRAME_PIXELS - 1) if first else frames


@dataclass(frozen=True, slots=True)
class Geometry:
    """The sizes of one stream: pixels, latents and transformer tokens."""

    width: int
    height: int
    latent_channels: int = 16
    vae_scale: int = 8
    patch: tuple[int, int] = (2, 2)

    def __post_init__(self) -> None:
        step_h, step_w = self.vae_scale * self.patch[0], self.vae_scale * self.patch[1]
        if self.height % step_h or self.width % step_w:
            raise ValueError(f'{self.width}x{self.height} is not a multiple of {step_w}x{step_h}')

    @property
    def latent_height(self) -> int:
        return self.height // self.vae_scale

    @property
    def latent_width(self) -> int:
        return self.width // self.vae_scale

    @property
    def token_grid(self) -> tuple[int, int]:
        """Tokens per frame in height and width."""
        return self.latent_height // self.patch[0], self.latent_width // self.patch[1]

    @property
    def tokens_per_frame(self) -> int:
        rows, columns = self.token_grid
        return rows * columns

    def latent_shape(self, frames: int, batch: int = 1) -> tuple[int, int, int, int, int]:
        """(batch, channels, frames, height, width) of a latent chunk."""
        return batch, self.latent_channels, frames, self.latent_height, self.latent_width
