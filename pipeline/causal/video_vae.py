"""Wan's video VAE (diffusers' AutoencoderKLWan) as a streaming codec: causal encode and decode, chunk by chunk."""
from __future__ import annotations

from typing import Any, Protocol

import torch


class StreamCodec(Protocol):
    """The per-stream state of a video autoencoder: frames in [-1, 1] to normalized latents and back."""

    def input_frames(self, latent_frames: int) -> int:
        """How many video frames the next `encode` needs to make `latent_frames` latent frames."""

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """(1, 3, N, H, W) frames to (1, C, F, h, w) latents, continuing the stream."""

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """(1, C, F, h, w) latents to (1, 3, N, H, W) frames in [-1, 1], continuing the stream."""


class VideoAutoencoder(Protocol):
    """A video autoencoder shared by every stream; each stream opens its own codec state."""

    kind: str
    parameters_bytes: int

    def open(self) -> StreamCodec:
        """A codec for one new stream."""


class WanVideoAutoencoder:
    """Wan 2.1's VAE: 8x spatial and 4x temporal compression, latents normalized by its mean and std."""

    kind = 'wan'

    def __init__(self, vae: Any) -> None:
        from diffusers.models.autoencoders.autoencoder_kl_wan import WanCausalConv3d

        if vae.config.get('patch_size') is not None:
            raise ValueError('only the Wan 2.1 VAE (no patchified latents) is supported')
        self.vae = vae.eval()
        weight = vae.post_quant_conv.weight
        self.device, self.dtype = weight.device, weight.dtype
        self.z_dim = int(vae.config.z_dim)
        shape = (1, self.z_dim, 1, 1, 1)
        self.mean = torch.tensor(vae.config.latents_mean, device=self.device).view(shape)
        self.std = torch.tensor(vae.config.latents_std, device=self.device).view(shape)
        self.decoder_convs = sum(isinstance(m, WanCausalConv3d) for m in vae.decoder.modules())
        self.encoder_convs = sum(isinstance(m, WanCausalConv3d) for m in vae.encoder.modules())
        self.parameters_bytes = sum(p.numel() * p.element_size() for p in vae.parameters())

    def open(self) -> WanStreamCodec:
        return WanStreamCodec(self)


class WanStreamCodec:
    """One stream through the Wan VAE: its causal convolutions keep the last frames of the previous chunk."""

    def __init__(self, owner: WanVideoAutoencoder) -> None:
        self.owner = owner
        self.decoder_cache: list[Any] = [None] * owner.decoder_convs
        self.encoder_cache: list[Any] = [None] * owner.encoder_convs
        self.decoded = self.encoded = False

    def input_frames(self, latent_frames: int) -> int:
        return 4 * latent_frames - (0 if self.encoded else 3)

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        owner, vae = self.owner, self.owner.vae
        frames = frames.to(owner.device, owner.dtype)
        groups = [frames[:, :, :1], frames[:, :, 1:]] if not self.encoded else [frames]
        outputs = []
        for group in groups:
            for start in range(0, group.shape[2], 4):
                outputs.append(vae.encoder(group[:, :, start:start + 4], feat_cache=self.encoder_cache, feat_idx=[0]))
        self.encoded = True
        mean = vae.quant_conv(torch.cat(outputs, dim=2))[:, :owner.z_dim].float()
        return (mean - owner.mean) / owner.std

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        owner, vae = self.owner, self.owner.vae
        z = vae.post_quant_conv((latents.float() * owner.std + owner.mean).to(owner.dtype))
        outputs = []
        for index in range(z.shape[2]):
            outputs.append(vae.decoder(z[:, :, index:index + 1], feat_cache=self.decoder_cache, feat_idx=[0],
                                       first_chunk=not self.decoded))
            self.decoded = True
        return torch.cat(outputs, dim=2).clamp(-1, 1)
