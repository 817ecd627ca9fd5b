"""Where a causal Wan model set's files are (a light module: no torch)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(slots=True)
class ModelPaths:
    """Where the files are: a diffusers Wan folder, and optionally original-layout weights and a tiny autoencoder."""

    base: Path  # model_index.json, transformer/config.json, text_encoder/, tokenizer/, vae/
    checkpoint: Path | None = None  # the transformer's weights in the original layout (else base/transformer)
    checkpoint_lora: Path | None = None  # a LoRA of the checkpoint's own (LongLive's), merged at load
    checkpoint_lora_scale: float = 1.0
    tiny_autoencoder: Path | None = None  # a TAEHV-layout file instead of the Wan VAE
