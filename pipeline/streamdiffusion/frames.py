"""Moving frames between numpy (HxWx3 uint8 RGB) and the device, and timing the stages of a frame."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F


class FrameIO:
    """Input frames to (1, 3, H, W) tensors in [-1, 1] on the device, and decoded images back to frames."""

    def __init__(self, device: torch.device, dtype: torch.dtype, width: int, height: int) -> None:
        self.device, self.dtype, self.width, self.height = device, dtype, width, height
        self.pinned = device.type == 'cuda'
        self._staging: torch.Tensor | None = None

    def to_image(self, frame: np.ndarray) -> torch.Tensor:
        """One RGB frame on the device (one host-to-device copy of uint8; resized there if its size differs)."""
        pixels = torch.from_numpy(np.ascontiguousarray(frame))
        if self.pinned:
            if self._staging is None or self._staging.shape != pixels.shape:
                self._staging = torch.empty(pixels.shape, dtype=torch.uint8).pin_memory()
            self._staging.copy_(pixels)
            pixels = self._staging
        image = pixels.to(self.device, non_blocking=True).permute(2, 0, 1).unsqueeze(0).to(self.dtype)
        if image.shape[-2:] != (self.height, self.width):
            image = F.interpolate(image, size=(self.height, self.width), mode='bilinear', antialias=True,
                                  align_corners=False)
        image = image.div_(127.5).sub_(1.0)
        return image.contiguous(memory_format=torch.channels_last) if self.pinned else image

    def to_frame(self, image: torch.Tensor) -> np.ndarray:
        """A decoded image as a new HxWx3 uint8 frame: quantised on the device, then the one copy to the host."""
        levels = image[0].float().mul(127.5).add_(128.0).clamp_(0, 255)  # [-1, 1] to [0.5, 255.5], rounded below
        pixels = torch.empty((levels.shape[1], levels.shape[2], 3), dtype=torch.uint8, device=levels.device)
        pixels.copy_(levels.permute(1, 2, 0))  # the cast and the HWC layout in one pass
        return pixels.cpu().numpy()


class StageClock:
    """Wall time per stage of the frames (off by default; when on, CUDA is synchronised around each stage)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.enabled = False
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        self._sync()
        begun = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - begun
            self.counts[name] = self.counts.get(name, 0) + 1

    def reset(self) -> None:
        self.seconds.clear()
        self.counts.clear()

    def _sync(self) -> None:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
