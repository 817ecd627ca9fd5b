"""A tiny video autoencoder in TAEHV's layout (madebyollin/taehv; `taew2_1.pth` for Wan 2.1): fast and approximate.

The encoder and decoder are stacks of 2D convolutions whose memory blocks also see the previous frame; a stream
keeps the last frame of each memory block, so chunks decode exactly as one long video would.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def _conv(n_in: int, n_out: int, **kwargs: Any) -> nn.Conv2d:
    return nn.Conv2d(n_in, n_out, 3, padding=1, **kwargs)


class Clamp(nn.Module):
    """A soft clamp of latents to about [-3, 3]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x / 3) * 3


class MemoryBlock(nn.Module):
    """A residual block that sees its input at the current and the previous frame."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(_conv(n_in * 2, n_out), nn.ReLU(inplace=True), _conv(n_out, n_out),
                                  nn.ReLU(inplace=True), _conv(n_out, n_out))
        self.skip = nn.Conv2d(n_in, n_out, 1, bias=False) if n_in != n_out else nn.Identity()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, past: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(torch.cat([x, past], 1)) + self.skip(x))


class TimePool(nn.Module):
    """Merges `stride` consecutive frames into one (a 1x1 convolution over their channels)."""

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(channels * stride, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, channels, height, width = x.shape
        return self.conv(x.reshape(-1, self.stride * channels, height, width))


class TimeGrow(nn.Module):
    """Splits each frame into `stride` frames (a 1x1 convolution to their channels)."""

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(channels, channels * stride, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, channels, height, width = x.shape
        return self.conv(x).reshape(-1, channels, height, width)


class TinyVideoAutoencoderModel(nn.Module):
    """TAEHV's encoder and decoder (state-dict compatible), with the widths of the file it is loaded from."""

    def __init__(self, *, latent_channels: int = 16, patch_size: int = 1, width: int = 64,
                 decoder_widths: tuple[int, int, int, int] = (256, 128, 64, 64),
                 pool_strides: tuple[int, int, int] = (2, 2, 1),
                 grow_strides: tuple[int, int, int] = (1, 2, 2)) -> None:
        super().__init__()
        self.patch_size, self.latent_channels = patch_size, latent_channels
        self.time_scale = pool_strides[0] * pool_strides[1] * pool_strides[2]
        encoder: list[nn.Module] = [_conv(3 * patch_size ** 2, width), nn.ReLU(inplace=True)]
        for stride in pool_strides:
            encoder += [TimePool(width, stride), _conv(width, width, stride=2, bias=False),
                        *(MemoryBlock(width, width) for _ in range(3))]
        encoder.append(_conv(width, latent_channels))
        self.encoder = nn.Sequential(*encoder)
        n = decoder_widths
        decoder: list[nn.Module] = [Clamp(), _conv(latent_channels, n[0]), nn.ReLU(inplace=True)]
        for stage, stride in enumerate(grow_strides):
            decoder += [*(MemoryBlock(n[stage], n[stage]) for _ in range(3)), nn.Upsample(scale_factor=2),
                        TimeGrow(n[stage], stride), _conv(n[stage], n[stage + 1], bias=False)]
        decoder += [nn.ReLU(inplace=True), _conv(n[3], 3 * patch_size ** 2)]
        self.decoder = nn.Sequential(*decoder)
        self.frames_to_trim = grow_strides[0] * grow_strides[1] * grow_strides[2] - 1


class TinyVideoAutoencoder:
    """The tiny autoencoder shared by every stream (latents are the diffusion model's own, unscaled)."""

    kind = 'tae'

    def __init__(self, model: TinyVideoAutoencoderModel) -> None:
        self.model = model.eval()
        weight = next(model.parameters())
        self.device: torch.device = weight.device
        self.dtype: torch.dtype = weight.dtype
        self.parameters_bytes = sum(p.numel() * p.element_size() for p in model.parameters())

    def open(self) -> TinyStreamCodec:
        return TinyStreamCodec(self)


class TinyStreamCodec:
    """One stream through the tiny autoencoder: the last input frame of every memory block carries over."""

    def __init__(self, owner: TinyVideoAutoencoder) -> None:
        self.owner = owner
        self.encoder_memory: dict[int, torch.Tensor] = {}
        self.decoder_memory: dict[int, torch.Tensor] = {}
        self.to_trim = owner.model.frames_to_trim

    def input_frames(self, latent_frames: int) -> int:
        return self.owner.model.time_scale * latent_frames

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        model = self.owner.model
        x = (frames[0].transpose(0, 1).to(self.owner.device, self.owner.dtype) + 1) / 2  # (N, 3, H, W) in [0, 1]
        if model.patch_size > 1:
            x = F.pixel_unshuffle(x, model.patch_size)
        latents = _run(model.encoder, x, self.encoder_memory)
        return latents.transpose(0, 1)[None].float()

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        model = self.owner.model
        x = _run(model.decoder, latents[0].transpose(0, 1).to(self.owner.device, self.owner.dtype),
                 self.decoder_memory)
        if model.patch_size > 1:
            x = F.pixel_shuffle(x, model.patch_size)
        if self.to_trim:
            x, self.to_trim = x[self.to_trim:], max(0, self.to_trim - x.shape[0])
        return (x.clamp(0, 1) * 2 - 1).transpose(0, 1)[None]


def _run(layers: nn.Sequential, x: torch.Tensor, memory: dict[int, torch.Tensor]) -> torch.Tensor:
    """Apply layers to the frames (T, C, H, W) of one chunk; memory blocks see the previous frame's input."""
    for index, layer in enumerate(layers):
        if isinstance(layer, MemoryBlock):
            previous = memory.get(index)
            if previous is None:
                previous = torch.zeros_like(x[:1])
            past = torch.cat([previous, x[:-1]])
            memory[index] = x[-1:].clone()
            x = layer(x, past)
        else:
            x = layer(x)
    return x


def load_tiny_autoencoder(path: Path, device: torch.device, dtype: torch.dtype) -> TinyVideoAutoencoder:
    """A TAEHV-layout file (.pth or .safetensors); its widths and strides are read from the weights' shapes."""
    state = _read(path)
    try:
        width = int(state['encoder.0.weight'].shape[0])
        patch = round((state['encoder.0.weight'].shape[1] / 3) ** 0.5)
        decoder_widths = tuple(int(state[f'decoder.{i}.weight'].shape[0]) for i in (1, 8, 14, 20))
        pools = tuple(int(state[f'encoder.{i}.conv.weight'].shape[1]) // width for i in (2, 7, 12))
        grows = (1, *(int(state[f'decoder.{i}.conv.weight'].shape[0]) // decoder_widths[s]
                      for s, i in ((1, 13), (2, 19))))
        latent = int(state['decoder.1.weight'].shape[1])
        first_grow = state['decoder.7.conv.weight']
        state['decoder.7.conv.weight'] = first_grow[-decoder_widths[0]:]  # Wan 2.1 does not grow time there
        model = TinyVideoAutoencoderModel(latent_channels=latent, patch_size=patch, width=width,
                                          decoder_widths=decoder_widths,  # type: ignore[arg-type]
                                          pool_strides=pools, grow_strides=grows)  # type: ignore[arg-type]
        model.load_state_dict(state)
    except (KeyError, RuntimeError) as error:
        raise ValueError(f'{path.name} is not a tiny autoencoder in the TAEHV layout: {error}') from None
    if model.time_scale != 4 or model.frames_to_trim != 3:
        raise ValueError(f'{path.name} does not compress time 4x as Wan 2.1 does')
    return TinyVideoAutoencoder(model.to(device=device, dtype=dtype))


def _read(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == '.safetensors':
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    return dict(torch.load(path, map_location='cpu', weights_only=True))
