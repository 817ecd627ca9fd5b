"""Where batch uploads and outputs live: one folder per id under the data dir, kept for a while after last use."""
from __future__ import annotations

import logging
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from .errors import InvalidRequest, NotFound

log = logging.getLogger(__name__)
Kind = Literal['input', 'data', 'output']
FILE_NAMES: dict[Kind, str] = {'input': 'video.bin', 'data': 'blob.bin', 'output': 'video.bin'}
ID_PATTERN = re.compile(r'(input|data|output)-[A-Za-z0-9_-]{22}')
WHAT: dict[Kind, str] = {'input': 'input video', 'data': 'data blob', 'output': 'output video'}
ID_FIELDS: dict[Kind, str] = {'input': 'input_path', 'data': 'data_blob_path', 'output': 'output_path'}


class BatchFiles:
    """Folders named by opaque ids the server issued (`input-…`, `data-…`, `output-…`); a client can name nothing
    else. A folder unused for `ttl` seconds is removed by `sweep`, unless a generation holds it."""

    def __init__(self, root: Path, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self.root = root
        self.ttl = ttl
        self.clock = clock
        self.last_use: dict[str, float] = {}
        self.held: dict[str, int] = {}  # id -> generations using it
        self._lock = threading.Lock()

    def create(self, kind: Kind) -> tuple[str, Path]:
        """A new id of `kind` and the path of its file (the folder exists, the file not yet)."""
        self.root.mkdir(parents=True, exist_ok=True)
        while True:
            file_id = f'{kind}-{secrets.token_urlsafe(16)}'
            folder = self.root / file_id
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            self.touch(file_id)
            return file_id, folder / FILE_NAMES[kind]

    def path(self, file_id: str, kind: Kind) -> Path:
        """The file of an id the server issued for `kind` (InvalidRequest for anything else, NotFound when gone)."""
        if not isinstance(file_id, str) or not ID_PATTERN.fullmatch(file_id) or not file_id.startswith(f'{kind}-'):
            raise InvalidRequest(f'Invalid {ID_FIELDS[kind]}: use the id the server returned for the {WHAT[kind]}')
        path = self.root / file_id / FILE_NAMES[kind]
        if not path.is_file():
            raise NotFound(f'{WHAT[kind].capitalize()} not found: {file_id} (it expired or never existed)')
        self.touch(file_id)
        return path

    def folder(self, file_id: str) -> Path:
        return self.root / file_id

    def touch(self, file_id: str) -> None:
        """Mark an id as used now (its time to live starts again)."""
        with self._lock:
            self.last_use[file_id] = self.clock()

    def hold(self, file_ids: list[str]) -> None:
        """Keep these ids from expiring while a generation uses them."""
        with self._lock:
            for file_id in file_ids:
                self.held[file_id] = self.held.get(file_id, 0) + 1

    def release(self, file_ids: list[str]) -> None:
        with self._lock:
            now = self.clock()
            for file_id in file_ids:
                self.last_use[file_id] = now
                count = self.held.get(file_id, 0) - 1
                if count > 0:
                    self.held[file_id] = count
                else:
                    self.held.pop(file_id, None)

    def remove(self, file_id: str) -> None:
        """Delete an id's folder now."""
        with self._lock:
            self.last_use.pop(file_id, None)
        _delete(self.root / file_id)

    def clear(self) -> int:
        """Remove every folder (at start-up: a restarted server knows none of them); how many."""
        if not self.root.is_dir():
            return 0
        removed = 0
        for entry in self.root.iterdir():
            _delete(entry)
            removed += 1
        with self._lock:
            self.last_use.clear()
        return removed

    def sweep(self, now: float | None = None) -> int:
        """Remove the folders unused for longer than the time to live (none a generation holds); how many."""
        if not self.root.is_dir():
            return 0
        now = self.clock() if now is None else now
        removed = 0
        for entry in self.root.iterdir():
            file_id = entry.name
            with self._lock:
                if file_id in self.held:
                    continue
                last = self.last_use.get(file_id)
            if last is None:  # not seen since start-up: its age on disk counts
                try:
                    last = entry.stat().st_mtime
                except OSError:
                    continue
            if now - last > self.ttl:
                self.remove(file_id)
                removed += 1
        if removed:
            log.info('removed %d expired batch files', removed)
        return removed


def _delete(entry: Path) -> None:
    """Delete a folder with its files, or a stray file (never following a symlink out of the folder)."""
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)
