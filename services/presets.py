"""Presets: named JSON documents in one folder (audio mappings, studio looks), plus built-in ones."""
from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, ValidationError

from .errors import InvalidRequest, NotFound

M = TypeVar('M', bound=BaseModel)
KEY_PATTERN = re.compile(r'[^a-z0-9_-]+')
MAX_KEY = 64


class PresetError(InvalidRequest):
    """A preset name or file that cannot be used."""


class PresetNotFound(NotFound):
    """No preset of that name."""


class Look(BaseModel):
    """A look saved in the studio: the prompts and generation values to recall in one click."""

    name: str = Field(min_length=1, max_length=60)
    saved_at: float = 0.0
    parameters: dict[str, Any]


def preset_key(name: str) -> str:
    """A name safe as a file name: lower case letters, digits, '-' and '_' (PresetError if nothing is left)."""
    cleaned = KEY_PATTERN.sub('-', name.strip().lower()).strip('-_')[:MAX_KEY]
    if not cleaned:
        raise PresetError(f'{name!r} is not a usable preset name (use letters, digits, - and _)')
    return cleaned


class PresetStore(Generic[M]):
    """Presets of one kind: the built-in ones, then the saved ones as `<key>.json` files, each written whole
    (a unique temporary file, then an atomic rename) so concurrent saves never clash or leave half a file."""

    def __init__(self, folder: Path, model: type[M], builtin: Mapping[str, M] | None = None) -> None:
        self.folder = folder
        self.model = model
        self.builtin = dict(builtin or {})

    def names(self) -> list[str]:
        """The keys of every preset: built-in first, then the saved ones in order."""
        saved = sorted(path.stem for path in self.folder.glob('*.json')) if self.folder.is_dir() else []
        return [*self.builtin, *(name for name in saved if name not in self.builtin)]

    def is_builtin(self, name: str) -> bool:
        return name in self.builtin

    def all(self) -> list[M]:
        return [preset for name in self.names() if (preset := self.get(name)) is not None]

    def get(self, name: str) -> M | None:
        """A preset by name (built-in or saved); None when there is none (or its file is unreadable)."""
        key = preset_key(name)
        if key in self.builtin:
            return self.builtin[key].model_copy(deep=True)
        path = self.folder / f'{key}.json'
        if not path.is_file():
            return None
        try:
            return self.model.model_validate_json(path.read_text())
        except (OSError, ValidationError, json.JSONDecodeError):
            return None

    def require(self, name: str) -> M:
        """A preset by name, or PresetNotFound."""
        preset = self.get(name)
        if preset is None:
            raise PresetNotFound(f'no preset {name!r}')
        return preset

    def save(self, name: str, preset: M) -> str:
        """Save a preset under the key of `name` (replacing one of that key); built-in names are taken."""
        key = preset_key(name)
        if key in self.builtin:
            raise PresetError(f"'{key}' is a built-in preset; save your version under another name")
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f'.{key}-', suffix='.part', dir=self.folder)
        try:
            with os.fdopen(handle, 'w') as file:
                file.write(preset.model_dump_json(indent=2))
            os.replace(temp, self.folder / f'{key}.json')
        finally:
            Path(temp).unlink(missing_ok=True)
        return key

    def delete(self, name: str) -> bool:
        """Delete a saved preset; False when there is none. Built-in presets cannot be deleted."""
        key = preset_key(name)
        if key in self.builtin:
            raise PresetError(f"'{key}' is a built-in preset and cannot be deleted")
        path = self.folder / f'{key}.json'
        if not path.is_file():
            return False
        path.unlink(missing_ok=True)
        return True
