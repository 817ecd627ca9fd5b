"""LoRA files on a diffusers pipeline: fused at load (fastest), or peft adapters whose scales change at run time."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .info import LoraFile, StreamDiffusionLoadParams

log = logging.getLogger(__name__)
SUFFIXES = ('.safetensors', '.bin', '.pt')


@dataclass(slots=True)
class LoadedLora:
    """One LoRA file in use: where it is, how it was named, its scale and whether it is fused."""

    path: Path
    given: str
    scale: float
    merge_mode: str
    adapter: str

    def matches(self, name: str) -> bool:
        """Whether a `lora_scales` path names this LoRA (its path as given or resolved, or its file stem)."""
        return name in (self.given, str(self.path)) or Path(name).stem == self.path.stem

    def describe(self) -> dict[str, Any]:
        return {'path': str(self.path), 'scale': self.scale, 'merge_mode': self.merge_mode}


class LoraSet:
    """The LoRAs of one loaded pipeline (the LCM-LoRA among them when the model needs it)."""

    def __init__(self, pipe: Any, params: StreamDiffusionLoadParams, lora_dir: Path, lcm_lora: Path | None) -> None:
        self.pipe = pipe
        specs = list(params.loras or []) + [LoraFile(path=p, scale=s) for p, s in (params.lora_dict or {}).items()]
        self.loras = [LoadedLora(resolve(spec.path, lora_dir), spec.path, spec.scale,
                                 spec.merge_mode or params.lora_merge_mode, f'lora{index}')
                      for index, spec in enumerate(specs)]
        fused = [lora for lora in self.loras if lora.merge_mode == 'permanent_merge']
        if lcm_lora is not None:
            fused.insert(0, LoadedLora(lcm_lora, 'lcm-lora', 1.0, 'permanent_merge', 'lcm'))
        if fused:
            self._fuse(fused)
        self.runtime = [lora for lora in self.loras if lora.merge_mode == 'runtime_peft']
        for lora in self.runtime:
            pipe.load_lora_weights(read_state_dict(lora.path), adapter_name=lora.adapter)
        if self.runtime:
            self._set_runtime_scales()
        self._warned: set[str] = set()

    def apply_scales(self, entries: Any) -> bool:
        """Apply `lora_scales` (`[{path, scale}]` or `{path: scale}`) to the runtime adapters; True when changed."""
        changed = False
        for name, scale in _pairs(entries):
            lora = next((item for item in self.loras if item.matches(name)), None)
            if lora is None or lora.merge_mode != 'runtime_peft':
                if name not in self._warned:
                    self._warned.add(name)
                    log.warning('lora_scales: %s is not a runtime LoRA (load it with merge_mode runtime_peft)', name)
                continue
            if lora.scale != scale:
                lora.scale, changed = scale, True
        if changed:
            self._set_runtime_scales()
        return changed

    def describe(self) -> list[dict[str, Any]]:
        """The LoRAs in use, as Scope's `loaded_lora_adapters` lists them."""
        return [lora.describe() for lora in self.loras]

    def _fuse(self, loras: list[LoadedLora]) -> None:
        for lora in loras:
            self.pipe.load_lora_weights(read_state_dict(lora.path), adapter_name=lora.adapter)
        names = [lora.adapter for lora in loras]
        self.pipe.set_adapters(names, adapter_weights=[lora.scale for lora in loras])
        self.pipe.fuse_lora(adapter_names=names, lora_scale=1.0)
        self.pipe.unload_lora_weights()  # the fused weights stay; the adapter layers go

    def _set_runtime_scales(self) -> None:
        self.pipe.set_adapters([lora.adapter for lora in self.runtime],
                               adapter_weights=[lora.scale for lora in self.runtime])


def resolve(path: str, lora_dir: Path) -> Path:
    """A LoRA path: absolute, or relative to the LoRA folder (the suffix may be left out)."""
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = lora_dir / candidate
    if not candidate.is_file():
        found = next((candidate.with_name(candidate.name + s) for s in SUFFIXES
                      if candidate.with_name(candidate.name + s).is_file()), None)
        if found is None:
            raise FileNotFoundError(f'LoRA file not found: {path} (LoRA folder: {lora_dir})')
        candidate = found
    return candidate


def read_state_dict(path: Path) -> dict[str, Any]:
    """A LoRA file's tensors (safetensors, or a torch pickle of tensors only)."""
    if path.suffix == '.safetensors':
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    import torch

    return dict(torch.load(path, map_location='cpu', weights_only=True))


def _pairs(entries: Any) -> list[tuple[str, float]]:
    if isinstance(entries, dict):
        return [(str(k), float(v)) for k, v in entries.items()]
    pairs = []
    for entry in entries or []:
        item = entry if isinstance(entry, dict) else {'path': getattr(entry, 'path', ''),
                                                      'scale': getattr(entry, 'scale', 1.0)}
        pairs.append((str(item.get('path', '')), float(item.get('scale', 1.0))))
    return pairs
