"""Installing a LoRA from a URL (Hugging Face, or any direct https link): streamed into the LoRA folder under the
upload limit, checked as safetensors before it appears, with progress in the log and in `installs()`."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlparse, urlunparse

import httpx

from .errors import Conflict, InvalidRequest, NotFound, ServiceError
from .keys import KeyStore
from .loras import SUFFIX, LoRAFileInfo, LoraService
from .uploads import too_large, upload_path

log = logging.getLogger(__name__)
HUGGING_FACE_HOSTS = ('huggingface.co', 'hf.co')
CIVITAI_HOSTS = ('civitai.com',)
TIMEOUT = httpx.Timeout(30.0, read=120.0)
LOG_EVERY = 0.25  # log progress every quarter of the file


class FetchFailed(ServiceError):
    """The other server did not hand the file over."""

    status = 502


@dataclass(slots=True)
class InstallProgress:
    """One install from a URL: how far it got."""

    filename: str
    url: str
    source: str
    bytes_done: int = 0
    bytes_total: int | None = None
    status: str = 'downloading'  # downloading, done or failed
    error: str | None = None
    started_at: float = field(default_factory=time.time)

    @property
    def fraction(self) -> float | None:
        return self.bytes_done / self.bytes_total if self.bytes_total else None


class LoraInstaller:
    """Fetches LoRA files by URL into the LoRA folder; one install per file name at a time."""

    def __init__(self, loras: LoraService, keys: KeyStore, hf_endpoint: str | None = None) -> None:
        self.loras = loras
        self.keys = keys
        self.hf_base = hf_endpoint or 'https://huggingface.co'
        self.hf_hosts = HUGGING_FACE_HOSTS + ((urlparse(hf_endpoint).hostname or '',) if hf_endpoint else ())
        self.progress: dict[str, InstallProgress] = {}

    async def install(self, url: str, filename: str | None = None) -> LoRAFileInfo:
        """Download `url` as a LoRA (InvalidRequest for a bad URL or name, Conflict when the file exists, TooLarge
        over the upload limit, FetchFailed when the other server refuses); returns the installed file."""
        parsed = urlparse(url.strip())
        host = (parsed.hostname or '').lower()
        if parsed.scheme != 'https' or not host:
            raise InvalidRequest('The URL must be an https:// link to the file (Hugging Face or a direct download)')
        source = 'huggingface' if _matches(host, self.hf_hosts) else 'civitai' if _matches(host, CIVITAI_HOSTS) \
            else 'url'
        if source == 'huggingface' and '/blob/' in parsed.path:
            raise InvalidRequest('This is a Hugging Face file preview page, not a download link. Open the file on the '
                                 'LoRA page and click "Copy download link" (it contains /resolve/ instead of /blob/).')
        name = (filename or '').strip() or unquote(parsed.path.rsplit('/', 1)[-1])
        headers = {}
        if source == 'huggingface' and (token := self.keys.token('huggingface')):
            headers['Authorization'] = f'Bearer {token}'
        if source == 'civitai' and 'token' not in parse_qs(parsed.query) and (token := self.keys.token('civitai')):
            url = urlunparse(parsed._replace(query=urlencode({**parse_qs(parsed.query), 'token': token}, doseq=True)))
        async with httpx.AsyncClient(follow_redirects=True, timeout=TIMEOUT, headers=headers) as http:
            async with http.stream('GET', url) as response:
                _check(response)
                name = name if name.lower().endswith(SUFFIX) else _disposition_name(response) or name
                return await self._receive(response, name, _without_token(parsed), source)

    async def download(self, source: str, *, repo_id: str | None = None, hf_filename: str | None = None,
                       version_id: str | None = None, url: str | None = None, subfolder: str | None = None,
                       expected_sha256: str | None = None) -> tuple[LoRAFileInfo, str]:
        """Install a LoRA named by Scope's provenance (Hugging Face repo and file, CivitAI version, or URL) into
        `subfolder`; a file whose checksum differs from `expected_sha256` is removed again. Returns it, its sha256."""
        link = download_url(source, repo_id, hf_filename, version_id, url, self.hf_base)
        if link is None:
            needed = {'huggingface': 'repo_id and hf_filename', 'civitai': 'version_id'}.get(source, 'url')
            raise InvalidRequest(f'Cannot download a LoRA of source {source!r} without its {needed}')
        name = PurePosixPath(hf_filename).name if source == 'huggingface' and hf_filename else None
        if name and subfolder:
            name = f'{subfolder.strip("/")}/{name}'
        info = await self.install(link, name)
        digest = await asyncio.to_thread(sha256_of, Path(info.path))
        if expected_sha256 and digest != expected_sha256.lower():
            Path(info.path).unlink(missing_ok=True)
            raise InvalidRequest(f'{info.name}: checksum mismatch (expected {expected_sha256}, got {digest}); removed')
        return info, digest

    def installs(self) -> list[dict[str, Any]]:
        """The installs since start, newest first."""
        return [{**asdict(p), 'fraction': p.fraction} for p in sorted(self.progress.values(),
                                                                     key=lambda p: -p.started_at)]

    async def _receive(self, response: httpx.Response, name: str, shown_url: str, source: str) -> LoRAFileInfo:
        if not name.lower().endswith(SUFFIX):
            raise InvalidRequest(f'Only {SUFFIX} LoRA files can be installed; give a filename ending in {SUFFIX} if '
                                 'the link does not show one')
        if upload_path(self.loras.root, name).exists():
            raise Conflict(f"File '{name}' already exists.")
        current = self.progress.get(name)
        if current is not None and current.status == 'downloading':
            raise Conflict(f"'{name}' is being installed already")
        declared = int(response.headers['content-length']) if response.headers.get('content-length', '').isdigit() \
            else None
        if declared is not None and declared > self.loras.max_upload_bytes:
            raise too_large(self.loras.max_upload_bytes)
        progress = self.progress[name] = InstallProgress(name, shown_url, source, bytes_total=declared)
        log.info('installing LoRA %s from %s (%s)', name, shown_url,
                 f'{declared / 1024 ** 2:.1f} MB' if declared else 'size unknown')
        try:
            info = await self.loras.store(name, _counted(response.aiter_bytes(), progress), declared)
        except (ServiceError, httpx.HTTPError) as error:
            progress.status, progress.error = 'failed', str(error)
            log.warning('installing LoRA %s failed: %s', name, error)
            if isinstance(error, httpx.HTTPError):
                raise FetchFailed(f'The download of {name} broke off: {error}') from None
            raise
        progress.status = 'done'
        log.info('installed LoRA %s (%.1f MB)', name, progress.bytes_done / 1024 ** 2)
        return info.model_copy(update={'provenance': {'source': source, 'url': shown_url}})


def download_url(source: str, repo_id: str | None = None, hf_filename: str | None = None,
                 version_id: str | None = None, url: str | None = None,
                 hf_base: str = 'https://huggingface.co') -> str | None:
    """Where a LoRA of Scope's provenance kinds is downloaded from (None when the provenance does not say)."""
    if source == 'huggingface' and repo_id and hf_filename:
        return f'{hf_base.rstrip("/")}/{repo_id}/resolve/main/{hf_filename}'
    if source == 'civitai' and version_id:
        return f'https://civitai.com/api/download/models/{version_id}'
    if source == 'url' and url:
        return url
    return None


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, as hex."""
    digest = hashlib.sha256()
    with path.open('rb') as file:
        for block in iter(lambda: file.read(1024 * 1024), b''):
            digest.update(block)
    return digest.hexdigest()


def _check(response: httpx.Response) -> None:
    """Refuse an answer that is not the file."""
    status = response.status_code
    if status in (401, 403):
        raise FetchFailed('Access denied. Check that the URL is correct and that the key it needs is set '
                          '(Settings → API Keys).')
    if status == 404:
        raise NotFound('File not found. Check that the URL is correct.')
    if status >= 400:
        raise FetchFailed(f'Failed to fetch URL: HTTP {status}')
    if 'text/html' in response.headers.get('content-type', ''):
        raise InvalidRequest('The URL leads to a web page, not to a file: use the direct download link')


async def _counted(chunks: AsyncIterator[bytes], progress: InstallProgress) -> AsyncIterator[bytes]:
    logged = 0.0
    async for chunk in chunks:
        progress.bytes_done += len(chunk)
        if progress.fraction is not None and progress.fraction - logged >= LOG_EVERY:
            logged = progress.fraction
            log.info('installing LoRA %s: %d%%', progress.filename, round(100 * progress.fraction))
        yield chunk


def _disposition_name(response: httpx.Response) -> str | None:
    match = re.search(r'filename\*?=(?:UTF-8\'\')?["\']?([^"\';]+)', response.headers.get('content-disposition', ''))
    return unquote(match.group(1).strip()).rsplit('/', 1)[-1] if match else None


def _matches(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == domain or host.endswith(f'.{domain}') for domain in domains if domain)


def _without_token(parsed: Any) -> str:
    query = {key: value for key, value in parse_qs(parsed.query).items() if key.lower() != 'token'}
    return urlunparse(parsed._replace(query=urlencode(query, doseq=True)))

