"""Style LoRAs on the transformer: merged into the weights at load (fastest), or peft adapters whose scales change
at run time (`lora_scales`)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
SUFFIXES = ('.safetensors', '.bin', '.pt')


@dataclass(slots=True)
class LoraSpec:
    """A LoRA to load: its file, how it was named, its strength and whether it stays adjustable."""

    path: Path
    given: str
    scale: float
    runtime: bool

    def matches(self, name: str) -> bool:
        """Whether a `lora_scales` path names this LoRA (as given, resolved, or by its file stem)."""
        return name in (self.given, str(self.path)) or Path(name).stem == self.path.stem

    def describe(self) -> dict[str, Any]:
        return {'path': str(self.path), 'scale': self.scale,
                'merge_mode': 'runtime_peft' if self.runtime else 'permanent_merge'}


class TransformerLoras:
    """The style LoRAs of one loaded transformer (Wan LoRAs in diffusers, original or musubi layouts)."""

    def __init__(self, transformer: Any, specs: list[LoraSpec]) -> None:
        self.transformer, self.specs = transformer, specs
        self.runtime = [spec for spec in specs if spec.runtime]
        merged = [spec for spec in specs if not spec.runtime]
        if merged:
            names = [self._load(spec, f'merged{index}') for index, spec in enumerate(merged)]
            transformer.set_adapters(names, weights=[spec.scale for spec in merged])
            transformer.fuse_lora(lora_scale=1.0, adapter_names=names)
            transformer.unload_lora()  # the merged weights stay, the adapter layers go
        for index, spec in enumerate(self.runtime):
            self._load(spec, f'runtime{index}')
        if self.runtime:
            self._apply()
        self._warned: set[str] = set()

    def set_scales(self, entries: Any) -> bool:
        """Apply `lora_scales` (`[{path, scale}]` or `{path: scale}`) to the runtime LoRAs; True when one changed."""
        changed = False
        for name, scale in _pairs(entries):
            spec = next((s for s in self.specs if s.matches(name)), None)
            if spec is None or not spec.runtime:
                if name not in self._warned:
                    self._warned.add(name)
                    log.warning('lora_scales: %s is not a runtime LoRA (load it with merge_mode runtime_peft)', name)
                continue
            if spec.scale != scale:
                spec.scale, changed = scale, True
        if changed:
            self._apply()
        return changed

    def describe(self) -> list[dict[str, Any]]:
        return [spec.describe() for spec in self.specs]

    def _load(self, spec: LoraSpec, adapter: str) -> str:
        from diffusers.loaders.lora_pipeline import WanLoraLoaderMixin

        state = WanLoraLoaderMixin.lora_state_dict(str(spec.path))
        if not any(key.startswith('transformer.') for key in state):
            state = {f'transformer.{key}': value for key, value in state.items()}
        self.transformer.load_lora_adapter(state, adapter_name=adapter, prefix='transformer')
        return adapter

    def _apply(self) -> None:
        self.transformer.set_adapters([f'runtime{i}' for i in range(len(self.runtime))],
                                      weights=[spec.scale for spec in self.runtime])


def resolve(path: str, lora_dir: Path) -> Path:
    """A LoRA path: absolute, or relative to the LoRA folder (the suffix may be left out)."""
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = lora_dir / candidate
    if candidate.is_file():
        return candidate
    for suffix in SUFFIXES:
        if candidate.with_name(candidate.name + suffix).is_file():
            return candidate.with_name(candidate.name + suffix)
    raise FileNotFoundError(f'LoRA file not found: {path} (LoRA folder: {lora_dir})')


def _pairs(entries: Any) -> list[tuple[str, float]]:
    if isinstance(entries, dict):
        return [(str(k), float(v)) for k, v in entries.items()]
    pairs = []
    for entry in entries or []:
        item = entry if isinstance(entry, dict) else {'path': getattr(entry, 'path', ''),
                                                      'scale': getattr(entry, 'scale', 1.0)}
        pairs.append((str(item.get('path', '')), float(item.get('scale', 1.0))))
    return pairs
