"""Text conditioning of the UNet: prompt embeddings (blendable tensors) and their layout per UNet batch."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


def encode_text(pipe: Any, text: str, device: torch.device, sdxl: bool) -> torch.Tensor:
    """One prompt's text-encoder embedding, float32, shaped (1, tokens, dim); SDXL adds its pooled row."""
    with torch.inference_mode():
        if sdxl:
            hidden, _, pooled, _ = pipe.encode_prompt(prompt=text, device=device, num_images_per_prompt=1,
                                                      do_classifier_free_guidance=False)
            return pack(hidden.float(), pooled.float())
        hidden = pipe.encode_prompt(prompt=text, device=device, num_images_per_prompt=1,
                                    do_classifier_free_guidance=False)[0]
        return hidden.float().clone()


def pack(hidden: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
    """SDXL: append the pooled embedding (zero-padded) as one more token row, so blending treats both alike."""
    row = torch.zeros((hidden.shape[0], 1, hidden.shape[2]), dtype=hidden.dtype, device=hidden.device)
    row[:, 0, :pooled.shape[1]] = pooled
    return torch.cat([hidden, row], dim=1)


@dataclass(slots=True)
class TextConditioning:
    """The positive (and, for classic CFG, negative) embeddings in the model's dtype, ready for UNet batches."""

    text: torch.Tensor
    uncond: torch.Tensor | None = None
    pooled: torch.Tensor | None = None
    uncond_pooled: torch.Tensor | None = None
    time_ids: torch.Tensor | None = None

    @classmethod
    def build(cls, embedding: torch.Tensor, negative: torch.Tensor | None, *, dtype: torch.dtype,
              device: torch.device, pooled_dim: int | None, time_ids: torch.Tensor | None) -> TextConditioning:
        """From blended embeddings (SDXL: packed with their pooled row)."""
        def split(value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
            value = value.to(device=device, dtype=dtype)
            if pooled_dim is None:
                return value, None
            return value[:, :-1], value[:, -1, :pooled_dim]

        text, pooled = split(embedding)
        uncond, uncond_pooled = split(negative) if negative is not None else (None, None)
        return cls(text, uncond, pooled, uncond_pooled, time_ids)

    def batch(self, size: int, cfg: str) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
        """Encoder hidden states (and SDXL's added conditions) for a UNet batch of `size` latents under `cfg`."""
        text = self.text.expand(size, -1, -1)
        pooled = self.pooled.expand(size, -1) if self.pooled is not None else None
        if cfg == 'initialize':
            hidden = torch.cat([self._uncond(), text])
            pooled = torch.cat([self._uncond_pooled(), pooled]) if pooled is not None else None
        elif cfg == 'full':
            hidden = torch.cat([self._uncond().expand(size, -1, -1), text])
            pooled = torch.cat([self._uncond_pooled().expand(size, -1), pooled]) if pooled is not None else None
        else:
            hidden = text
        if pooled is None or self.time_ids is None:
            return hidden, None
        return hidden, {'text_embeds': pooled, 'time_ids': self.time_ids.expand(hidden.shape[0], -1)}

    def _uncond(self) -> torch.Tensor:
        return self.uncond if self.uncond is not None else torch.zeros_like(self.text)

    def _uncond_pooled(self) -> torch.Tensor:
        assert self.pooled is not None
        return self.uncond_pooled if self.uncond_pooled is not None else torch.zeros_like(self.pooled)
