"""Safe uploads: names that stay inside a folder, and bodies streamed to disk under a size limit."""
from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterable, Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .errors import InvalidRequest, TooLarge

BodyCheck = Callable[[Path], str | None]  # looks at a received file; returns an error message or None
MAX_NAME_LENGTH = 255
PART_PREFIX, PART_SUFFIX = '.upload-', '.part'  # an upload on its way to disk
WRITE_BLOCK = 1024 * 1024


def upload_path(root: Path, filename: str) -> Path:
    """The resolved target of an uploaded `filename` (sub-folders allowed) inside `root`; InvalidRequest if unsafe."""
    relative = safe_relative(filename)
    target = contained(root, relative)
    if relative is None or target is None or target.is_dir():
        raise InvalidRequest('Invalid filename')
    return target


def safe_relative(name: str) -> PurePosixPath | None:
    """`name` as a relative path of visible parts, or None when it is absolute, hidden, or escapes upwards."""
    if not name or len(name) > 1024 or name.startswith('/') or any(c == '\\' or ord(c) < 32 for c in name):
        return None
    parts = [part for part in name.split('/') if part]
    if not parts or any(part.startswith('.') or len(part) > MAX_NAME_LENGTH for part in parts):
        return None
    return PurePosixPath(*parts)


def contained(root: Path, relative: PurePosixPath | None) -> Path | None:
    """The resolved `root / relative`, or None when it does not lie strictly inside the resolved `root`."""
    if relative is None:
        return None
    base = root.resolve()
    target = (base / relative).resolve()
    return target if target != base and target.is_relative_to(base) else None


async def receive_file(chunks: AsyncIterable[bytes], declared: int | None, target: Path, limit: int,
                       check: BodyCheck | None = None) -> int:
    """Stream a body to `target` (TooLarge over `limit`, InvalidRequest when empty or failing `check`); no partial
    file is ever left, and the file appears under its name only once it is complete."""
    if declared is not None and declared > limit:
        raise too_large(limit)
    parent = target.parent
    new_folders = [folder for folder in (parent, *parent.parents) if not folder.exists()]
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if parent.resolve() != parent:  # a folder was swapped for a symlink meanwhile
            raise OSError('folder moved')
    except OSError:
        _remove_empty(new_folders)
        raise InvalidRequest('Invalid filename') from None
    handle, temp_name = tempfile.mkstemp(prefix=PART_PREFIX, suffix=PART_SUFFIX, dir=parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, 'wb') as file:
            size = await _write_body(chunks, file, limit)
        if size == 0:
            raise InvalidRequest('Empty file: the request body holds no data')
        if check is not None and (problem := await asyncio.to_thread(check, temp)):
            raise InvalidRequest(problem)
        os.replace(temp, target)
        new_folders.clear()
        return size
    finally:
        temp.unlink(missing_ok=True)
        _remove_empty(new_folders)


def remove_partial_uploads(root: Path) -> int:
    """Delete the partial files of uploads that never finished (a crash or a kill mid-upload); how many."""
    removed = 0
    if root.is_dir():
        for path in root.rglob(f'{PART_PREFIX}*{PART_SUFFIX}'):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def too_large(limit: int) -> TooLarge:
    """The error naming the upload limit."""
    return TooLarge(f'File too large: uploads are limited to {limit / (1024 * 1024):g} MB')


def walk_files(root: Path, suffixes: set[str], *, strict: bool = True) -> Iterator[Path]:
    """Visible files under `root` with one of `suffixes` (lower case); `strict` skips files resolving outside it."""
    base = root.resolve()
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for name in sorted(files):
            path = Path(folder) / name
            if name.startswith('.') or path.suffix.lower() not in suffixes or not path.is_file():
                continue
            if strict and not path.resolve().is_relative_to(base):
                continue
            yield path


def folder_of(root: Path, path: Path) -> str | None:
    """The sub-folder of `path` relative to `root` (POSIX form), or None at the top."""
    relative = path.parent.relative_to(root.resolve()).as_posix()
    return None if relative == '.' else relative


def size_mb(path: Path) -> float:
    """The file size in MB (MiB), two decimals."""
    return round(path.stat().st_size / (1024 * 1024), 2)


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            return


async def _write_body(chunks: AsyncIterable[bytes], file: BinaryIO, limit: int) -> int:
    size = 0
    block = bytearray()
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        block += chunk
        if len(block) >= WRITE_BLOCK:
            await asyncio.to_thread(file.write, bytes(block))
            block.clear()
    if block:
        await asyncio.to_thread(file.write, bytes(block))
    return size
