"""The umT5 text encoder: a prompt to Wan's text embedding (512 tokens, zeros after the prompt), for blending."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

MAX_TOKENS = 512


class TextEncoder:
    """A tokenizer and UMT5EncoderModel from a diffusers Wan folder (`tokenizer/`, `text_encoder/`)."""

    def __init__(self, folder: Path, device: torch.device, dtype: torch.dtype, max_tokens: int = MAX_TOKENS) -> None:
        from transformers import AutoTokenizer, UMT5EncoderModel

        self.tokenizer = AutoTokenizer.from_pretrained(folder / 'tokenizer')
        model: Any = UMT5EncoderModel.from_pretrained(folder / 'text_encoder', dtype=dtype)
        self.model = model.to(device).eval()
        self.device, self.max_tokens = device, max_tokens
        self.parameters_bytes = sum(p.numel() * p.element_size() for p in self.model.parameters())

    @property
    def width(self) -> int:
        return int(self.model.config.d_model)

    @torch.no_grad()
    def __call__(self, text: str) -> torch.Tensor:
        """The embedding (1, 512, width), float32: the prompt's tokens, then zeros (as Wan pads)."""
        tokens = self.tokenizer([_clean(text)], max_length=self.max_tokens, truncation=True, add_special_tokens=True,
                                return_tensors='pt')
        ids = tokens['input_ids'].to(self.device)  # only the prompt's tokens: padding would be masked out anyway
        hidden = self.model(ids, attention_mask=torch.ones_like(ids)).last_hidden_state.float()
        embedding = torch.zeros((1, self.max_tokens, hidden.shape[-1]), device=hidden.device)
        embedding[:, :hidden.shape[1]] = hidden
        return embedding


def _clean(text: str) -> str:
    return re.sub(r'\s+', ' ', text).strip()
