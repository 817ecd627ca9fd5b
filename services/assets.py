"""The assets folder: reference images, control videos and audio, listed, stored, served and deleted."""
from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel

from .errors import Forbidden, InvalidRequest, NotFound
from .uploads import BodyCheck, contained, folder_of, receive_file, safe_relative, size_mb, upload_path, walk_files

AssetType = Literal['image', 'video', 'audio']
MEDIA_TYPES: dict[str, tuple[AssetType, str]] = {
    '.png': ('image', 'image/png'),
    '.jpg': ('image', 'image/jpeg'),
    '.jpeg': ('image', 'image/jpeg'),
    '.webp': ('image', 'image/webp'),
    '.bmp': ('image', 'image/bmp'),
    '.mp4': ('video', 'video/mp4'),
    '.avi': ('video', 'video/x-msvideo'),
    '.mov': ('video', 'video/quicktime'),
    '.mkv': ('video', 'video/x-matroska'),
    '.webm': ('video', 'video/webm'),
    '.wav': ('audio', 'audio/wav'),
    '.mp3': ('audio', 'audio/mpeg'),
    '.flac': ('audio', 'audio/flac'),
    '.ogg': ('audio', 'audio/ogg'),
    '.m4a': ('audio', 'audio/mp4'),
    '.aac': ('audio', 'audio/aac'),
    '.opus': ('audio', 'audio/opus'),
}
AUDIO_SUFFIXES = {suffix for suffix, (kind, _) in MEDIA_TYPES.items() if kind == 'audio'}
IMAGE_SIGNATURES: dict[str, tuple[str, ...]] = {'.png': ('png',), '.jpg': ('jpeg',), '.jpeg': ('jpeg',),
                                                '.webp': ('webp',), '.bmp': ('bmp',)}


class AssetFileInfo(BaseModel):
    """One file in the assets folder."""

    name: str
    path: str
    size_mb: float
    folder: str | None
    type: AssetType
    created_at: float


class AssetService:
    """The files of the assets folder; uploads are checked for type, name, size and content."""

    def __init__(self, root: Path, max_upload_bytes: int) -> None:
        self.root = root
        self.max_upload_bytes = max_upload_bytes
        self.stored_listeners: list[Callable[[Path], None]] = []  # told of each stored upload (song analysis)
        self.version = 0  # counts the uploads and deletions made through this service (lists refresh on a change)

    def files(self, kind: str | None = None) -> list[AssetFileInfo]:
        """Every asset (recursively), newest first; `kind` (image, video or audio) narrows the list."""
        root = self.root
        infos = [self.info(path) for path in walk_files(root, set(MEDIA_TYPES))] if root.is_dir() else []
        if kind in ('image', 'video', 'audio'):
            infos = [info for info in infos if info.type == kind]
        infos.sort(key=lambda info: (-info.created_at, info.folder or '', info.name))
        return infos

    def audio_files(self) -> list[str]:
        """The audio files the audio engine can play, as paths relative to the assets folder."""
        root = self.root.resolve()
        if not root.is_dir():
            return []
        return sorted(path.relative_to(root).as_posix() for path in walk_files(root, AUDIO_SUFFIXES))

    async def store(self, filename: str, chunks: AsyncIterable[bytes], declared: int | None = None,
                    suffixes: set[str] | None = None) -> AssetFileInfo:
        """Store an upload under `filename` (an existing file of that name is replaced)."""
        allowed = [suffix for suffix in MEDIA_TYPES if suffixes is None or suffix in suffixes]
        suffix = PurePosixPath(filename).suffix.lower()
        if suffix not in allowed:
            raise InvalidRequest(f'Invalid file type. Allowed types: {", ".join(allowed)}')
        target = upload_path(self.root, filename)
        await receive_file(chunks, declared, target, self.max_upload_bytes, content_check(suffix))
        self.version += 1
        for listener in list(self.stored_listeners):
            listener(target)
        return self.info(target)

    def path(self, asset_path: str) -> Path:
        """The file of an asset (Forbidden for paths outside the folder, NotFound when missing)."""
        if asset_path.startswith('/'):  # as in Scope: an absolute-looking path means the file of that name at the top
            asset_path = asset_path.rstrip('/').rsplit('/', 1)[-1]
        path = contained(self.root, safe_relative(asset_path))
        if path is None:
            raise Forbidden('Invalid path')
        if not path.is_file() or path.suffix.lower() not in MEDIA_TYPES:
            raise NotFound('Asset not found')
        return path

    def delete(self, asset_path: str) -> None:
        """Delete an asset file."""
        self.path(asset_path).unlink(missing_ok=True)
        self.version += 1

    def relative(self, info: AssetFileInfo) -> str:
        """An asset's path relative to the folder (what the asset URLs use)."""
        return Path(info.path).relative_to(self.root.resolve()).as_posix()

    def info(self, path: Path) -> AssetFileInfo:
        """The listing entry of an asset file."""
        return AssetFileInfo(name=path.stem, path=str(path), size_mb=size_mb(path), folder=folder_of(self.root, path),
                             type=MEDIA_TYPES[path.suffix.lower()][0], created_at=path.stat().st_ctime)


def media_type(path: Path) -> str:
    """The content type of an asset file."""
    return MEDIA_TYPES[path.suffix.lower()][1]


def image_kind(head: bytes) -> str | None:
    """The image format its first bytes announce (png, jpeg, webp, bmp), or None."""
    if head.startswith(b'\x89PNG\r\n\x1a\n'):
        return 'png'
    if head.startswith(b'\xff\xd8\xff'):
        return 'jpeg'
    if head[:4] == b'RIFF' and head[8:12] == b'WEBP':
        return 'webp'
    if head.startswith(b'BM'):
        return 'bmp'
    return None


def content_check(suffix: str) -> BodyCheck | None:
    """A check that an image's content matches its extension (None for other kinds)."""
    expected = IMAGE_SIGNATURES.get(suffix)
    if expected is None:
        return None

    def check(path: Path) -> str | None:
        with path.open('rb') as file:
            kind = image_kind(file.read(16))
        return None if kind in expected else f'File content does not match its {suffix} extension'

    return check
