"""StreamDiffusion's denoising core: a `t_index_list` schedule, stream batch (a latent queue) and residual CFG."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .conditioning import TextConditioning

UNetCall = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, torch.Tensor] | None], torch.Tensor]


@dataclass(frozen=True, slots=True)
class Schedule:
    """The timesteps a frame passes through and their scalings, one row per entry of `t_index_list`."""

    t_index_list: tuple[int, ...]
    num_inference_steps: int
    timesteps: torch.Tensor  # (n,) long
    alpha: torch.Tensor  # (n, 1, 1, 1): sqrt(alpha_cumprod)
    beta: torch.Tensor  # (n, 1, 1, 1): sqrt(1 - alpha_cumprod)
    c_skip: torch.Tensor
    c_out: torch.Tensor

    @property
    def size(self) -> int:
        return len(self.t_index_list)

    @classmethod
    def build(cls, scheduler: Any, t_index_list: tuple[int, ...], num_inference_steps: int, device: torch.device,
              dtype: torch.dtype) -> Schedule:
        """Pick `t_index_list` positions on the LCM scheduler's grid of `num_inference_steps` steps."""
        scheduler.set_timesteps(num_inference_steps, device='cpu',
                                original_inference_steps=max(50, num_inference_steps))
        grid = scheduler.timesteps
        picked = [int(grid[min(max(i, 0), len(grid) - 1)]) for i in t_index_list]
        cumprod = scheduler.alphas_cumprod.double()[picked]
        scalings = [scheduler.get_scalings_for_boundary_condition_discrete(t) for t in picked]

        def column(values: Any) -> torch.Tensor:
            return torch.as_tensor(values, dtype=torch.float64).view(-1, 1, 1, 1).to(device=device, dtype=dtype)

        return cls(tuple(t_index_list), num_inference_steps, torch.tensor(picked, dtype=torch.long, device=device),
                   column(cumprod.sqrt()), column((1 - cumprod).sqrt()), column([float(s[0]) for s in scalings]),
                   column([float(s[1]) for s in scalings]))


class LatentStream:
    """One session's denoising state: the latent queue of the stream batch and the residual-CFG noise."""

    def __init__(self, unet: UNetCall, schedule: Schedule, noise: torch.Tensor, *, batch: bool, cfg_type: str,
                 add_noise: bool) -> None:
        self.unet = unet
        self.batch = batch
        self.cfg_type = cfg_type
        self.add_noise = add_noise
        self.schedule = schedule
        self.init_noise = noise
        self.buffer: torch.Tensor | None = None
        self.stock_noise = torch.zeros_like(noise[: schedule.size if batch else 1])

    def reset(self) -> None:
        """Forget the frames in flight (the next call warms the queue up again)."""
        self.buffer = None
        self.stock_noise = torch.zeros_like(self.init_noise[: self.schedule.size if self.batch else 1])

    def retarget(self, schedule: Schedule, noise: torch.Tensor) -> None:
        """Switch to another schedule or noise (new `t_index_list`, steps or seed) without a reload."""
        resized = schedule.size != self.schedule.size or noise.shape != self.init_noise.shape
        self.schedule, self.init_noise = schedule, noise
        if resized:
            self.reset()

    def start_latent(self, image_latent: torch.Tensor | None) -> torch.Tensor:
        """The noisy latent a new frame enters at the first timestep (pure noise for text-to-image)."""
        if image_latent is None:
            return self.init_noise[0:1]
        return self.schedule.alpha[0] * image_latent + self.schedule.beta[0] * self.init_noise[0:1]

    def __call__(self, x_t: torch.Tensor, cond: TextConditioning, guidance: float, delta: float) -> torch.Tensor:
        """Denoise one frame: returns the predicted clean latent (of the frame that leaves the queue)."""
        if not self.batch:
            return self._sequential(x_t, cond, guidance, delta)
        if self.schedule.size > 1 and self.buffer is None:
            self.buffer = torch.zeros_like(self.init_noise[1:])
            for _ in range(self.schedule.size - 1):  # fill the queue so the first output is a real frame
                self._batched(x_t, cond, guidance, delta)
        return self._batched(x_t, cond, guidance, delta)

    def _batched(self, x_t: torch.Tensor, cond: TextConditioning, guidance: float, delta: float) -> torch.Tensor:
        schedule = self.schedule
        if schedule.size == 1:
            return self._step(x_t, schedule.timesteps, cond, guidance, delta, None)
        assert self.buffer is not None
        latents = torch.cat((x_t, self.buffer), dim=0)
        self.stock_noise = torch.cat((self.init_noise[0:1], self.stock_noise[:-1]), dim=0)
        denoised = self._step(latents, schedule.timesteps, cond, guidance, delta, None)
        renoised = schedule.alpha[1:] * denoised[:-1]
        self.buffer = renoised + schedule.beta[1:] * self.init_noise[1:] if self.add_noise else renoised
        return denoised[-1:]

    def _sequential(self, x_t: torch.Tensor, cond: TextConditioning, guidance: float, delta: float) -> torch.Tensor:
        schedule = self.schedule
        denoised = x_t
        for index in range(schedule.size):
            denoised = self._step(x_t, schedule.timesteps[index:index + 1], cond, guidance, delta, index)
            if index < schedule.size - 1:
                x_t = schedule.alpha[index + 1] * denoised
                if self.add_noise:
                    x_t = x_t + schedule.beta[index + 1] * self.init_noise[index + 1:index + 2]
        return denoised

    def _step(self, latents: torch.Tensor, timesteps: torch.Tensor, cond: TextConditioning, guidance: float,
              delta: float, index: int | None) -> torch.Tensor:
        """One UNet pass over a batch, with the chosen guidance, then the consistency-model x0 estimate."""
        cfg = self.cfg_type if guidance > 1.0 else 'none'
        if cfg == 'initialize':
            unet_in, t_in = torch.cat([latents[0:1], latents]), torch.cat([timesteps[0:1], timesteps])
        elif cfg == 'full':
            unet_in, t_in = torch.cat([latents, latents]), torch.cat([timesteps, timesteps])
        else:
            unet_in, t_in = latents, timesteps
        hidden, added = cond.batch(latents.shape[0], cfg)
        prediction = self.unet(unet_in, t_in, hidden, added)
        if cfg == 'initialize':
            text = prediction[1:]
            self.stock_noise = torch.cat([prediction[0:1], self.stock_noise[1:]], dim=0)
        elif cfg == 'full':
            uncond, text = prediction.chunk(2)
        else:
            text = prediction
        if cfg in ('self', 'initialize'):
            uncond = self.stock_noise * delta
        noise = uncond + guidance * (text - uncond) if cfg != 'none' else text
        denoised = self._x0(noise, latents, index)
        if self.batch and cfg in ('self', 'initialize'):
            self._update_stock_noise(noise, index)
        return denoised

    def _update_stock_noise(self, noise: torch.Tensor, index: int | None) -> None:
        """Residual CFG: carry the noise the model removed to the next step as its virtual negative."""
        schedule = self.schedule
        delta_x = self._x0(noise, schedule.beta * self.stock_noise, index)
        ones = torch.ones_like(schedule.alpha[0:1])
        delta_x = torch.cat([schedule.alpha[1:], ones]) * delta_x / torch.cat([schedule.beta[1:], ones])
        self.stock_noise = torch.cat([self.init_noise[1:], self.init_noise[0:1]], dim=0) + delta_x

    def _x0(self, noise: torch.Tensor, latents: torch.Tensor, index: int | None) -> torch.Tensor:
        schedule = self.schedule
        rows = slice(None) if index is None else slice(index, index + 1)
        predicted = (latents - schedule.beta[rows] * noise) / schedule.alpha[rows]
        return schedule.c_out[rows] * predicted + schedule.c_skip[rows] * latents


def seeded_noise(seed: int | list[Any], shape: tuple[int, ...], device: torch.device,
                 dtype: torch.dtype) -> torch.Tensor:
    """Gaussian noise from a seed, or a normalised weighted blend of seeds (`[[seed, weight], ...]`)."""
    pairs = [(int(seed), 1.0)] if isinstance(seed, int | float | str) else [(int(s), float(w)) for s, w in seed]
    total = torch.zeros(shape, dtype=torch.float32)
    for value, weight in pairs:
        total += weight * torch.randn(shape, generator=torch.Generator().manual_seed(value % 2**63))
    norm = sum(w * w for _, w in pairs) ** 0.5 or 1.0
    return (total / norm).to(device=device, dtype=dtype)
