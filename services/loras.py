"""The LoRA folder: `.safetensors` files listed, stored after a header check, and deleted."""
from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterable
from pathlib import Path, PurePosixPath

from pydantic import BaseModel

from .errors import Conflict, InvalidRequest, NotFound
from .uploads import folder_of, receive_file, size_mb, upload_path, walk_files

SUFFIX = '.safetensors'
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors format's own limit


class LegacyLoRAFileInfo(BaseModel):
    """One LoRA file, as Scope v0.1.x listed it."""

    name: str
    path: str
    size_mb: float
    folder: str | None


class LoRAFileInfo(LegacyLoRAFileInfo):
    """One LoRA file, with Scope's provenance fields (no manifest here: always empty)."""

    sha256: str | None = None
    provenance: dict | None = None
    read_only: bool = False


class LoraService:
    """The files of the LoRA folder."""

    def __init__(self, root: Path, max_upload_bytes: int) -> None:
        self.root = root
        self.max_upload_bytes = max_upload_bytes

    def files(self) -> list[LoRAFileInfo]:
        """The LoRA files, sorted by folder (top first) then name; symlinked files are listed too."""
        if not self.root.is_dir():
            return []
        infos = [self.info(path) for path in walk_files(self.root, {SUFFIX}, strict=False)]
        return sorted(infos, key=lambda info: (info.folder is not None, info.folder or '', info.name))

    async def store(self, filename: str, chunks: AsyncIterable[bytes], declared: int | None = None) -> LoRAFileInfo:
        """Store an uploaded LoRA (Conflict when a file of that name exists)."""
        if PurePosixPath(filename).suffix.lower() != SUFFIX:
            raise InvalidRequest(f'Invalid file type. Allowed types: {SUFFIX}')
        target = upload_path(self.root, filename)
        if target.exists():
            raise Conflict(f'LoRA {filename} already exists; delete it first')
        await receive_file(chunks, declared, target, self.max_upload_bytes, safetensors_problem)
        return self.info(target)

    def delete(self, name: str) -> None:
        """Delete a LoRA by name (its stem, or `folder/stem`)."""
        for info in self.files():
            if name == (f'{info.folder}/{info.name}' if info.folder else info.name) or name == info.name:
                Path(info.path).unlink(missing_ok=True)
                return
        raise NotFound(f'LoRA {name} not found')

    def info(self, path: Path) -> LoRAFileInfo:
        """The listing entry of a LoRA file."""
        return LoRAFileInfo(name=path.stem, path=str(path), size_mb=size_mb(path), folder=folder_of(self.root, path))


def safetensors_problem(path: Path) -> str | None:
    """Why `path` is not a plausible safetensors file (u64 little-endian header length, then a JSON object), or None."""
    size = path.stat().st_size
    with path.open('rb') as file:
        head = file.read(8)
        if len(head) < 8:
            return 'Not a safetensors file: too short'
        (length,) = struct.unpack('<Q', head)
        if not 2 <= length <= min(MAX_HEADER_BYTES, size - 8):
            return 'Not a safetensors file: bad header length'
        try:
            header = json.loads(file.read(length).decode('utf-8'))
        except ValueError:
            return 'Not a safetensors file: the header is not JSON'
    return None if isinstance(header, dict) else 'Not a safetensors file: the header is not a JSON object'
