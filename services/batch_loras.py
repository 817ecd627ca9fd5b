"""LoRA scales through a generation: a known start (the load-time scales under the request's), sent on change only."""
from __future__ import annotations

from typing import Any

from pipeline.protocol import LoadParams

from .batch_request import ChunkSpec

RUNTIME = 'runtime_peft'


def load_time_scales(params: LoadParams) -> dict[str, float]:
    """The scales the pipeline's runtime LoRAs were loaded with (Scope's `loras` load parameter), by path."""
    default_mode = getattr(params, 'lora_merge_mode', None) or getattr(params, 'lora_merge_strategy', None)
    scales: dict[str, float] = {}
    for entry in getattr(params, 'loras', None) or []:
        item = entry if isinstance(entry, dict) else vars(entry)
        if (item.get('merge_mode') or default_mode) == RUNTIME and item.get('path'):
            scales[str(item['path'])] = float(item.get('scale', 1.0))
    if default_mode == RUNTIME:
        scales.update({str(path): float(scale) for path, scale in (getattr(params, 'lora_dict', None) or {}).items()})
    return scales


class LoraScales:
    """Which chunks send `lora_scales`: the first (so every generation starts from the same scales, whatever a live
    session or an earlier generation left on the shared pipeline) and those where the effective map changes (a
    resend would reset the cache). A chunk spec's map replaces the request's for its chunk."""

    def __init__(self, loaded: dict[str, float], request_map: dict[str, float] | None) -> None:
        self.loaded = loaded
        self.request_map = request_map
        self.current: list[dict[str, Any]] | None = None

    def add(self, message: dict[str, Any], spec: ChunkSpec | None) -> None:
        """Put `lora_scales` into a chunk's message when that chunk needs it."""
        chosen = spec.lora_scales if spec is not None and spec.lora_scales is not None else self.request_map
        effective = self.effective(chosen or {})
        if effective and effective != self.current:
            message['lora_scales'] = effective
        self.current = effective

    def effective(self, chosen: dict[str, float]) -> list[dict[str, Any]]:
        """The load-time scales, then the chosen ones (listed last, so they win for the same file)."""
        base = [{'path': path, 'scale': scale} for path, scale in sorted(self.loaded.items()) if path not in chosen]
        return base + [{'path': path, 'scale': float(scale)} for path, scale in sorted(chosen.items())]
