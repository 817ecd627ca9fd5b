"""Small JSON documents the server keeps for itself (onboarding, keys, DMX mappings), each written whole."""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class JsonFile:
    """One JSON object in a file: read leniently (a missing or broken file reads as empty), written atomically;
    a `private` file and its folder are readable by the server's user only (0600 and 0700)."""

    def __init__(self, path: Path, private: bool = False) -> None:
        self.path = path
        self.private = private

    def read(self) -> dict[str, Any]:
        """The stored object ({} when there is none or it cannot be read)."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            log.warning('ignoring unreadable %s', self.path)
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, data: dict[str, Any]) -> None:
        """Replace the stored object (a temporary file, then an atomic rename)."""
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700 if self.private else 0o777)
        if self.private:
            folder.chmod(0o700)
        handle, temp = tempfile.mkstemp(prefix=f'.{self.path.stem}-', suffix='.part', dir=folder)  # mode 0600
        try:
            with os.fdopen(handle, 'w') as file:
                json.dump(data, file, indent=2)
            if not self.private:
                os.chmod(temp, 0o644)
            os.replace(temp, self.path)
        finally:
            Path(temp).unlink(missing_ok=True)

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge `changes` into the stored object; returns the result."""
        data = {**self.read(), **changes}
        self.write(data)
        return data
