"""Model files: which ones a pipeline needs, and downloading them from Hugging Face with per-pipeline progress."""
from __future__ import annotations

import errno
import inspect
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .models import model_folder
from .protocol import LoadParams, ModelFiles, PipelineInfo

log = logging.getLogger(__name__)
ProgressListener = Callable[['DownloadProgress'], None]


def required_models(info: PipelineInfo, params: LoadParams | dict[str, Any] | None = None) -> list[ModelFiles]:
    """The repositories a pipeline needs for these load parameters (its declared files when it cannot tell)."""
    if isinstance(params, dict):
        params = info.load_params.model_validate(params)
    resolver = getattr(params, 'model_files', None)
    return list(resolver()) if callable(resolver) else list(info.model_files)


def missing(models: list[ModelFiles], models_dir: Path) -> list[str]:
    """Required files (or non-empty folders) not on disk yet, as paths relative to the models dir."""
    return [f'{model_folder(models_dir, model.repo_id).name}/{name}'
            for model in models for name in model.files if not _present(model_folder(models_dir, model.repo_id) / name)]


class DownloadError(RuntimeError):
    """A download that failed, with a message for people (what went wrong and what to do)."""


class DownloadInProgress(RuntimeError):
    """A second download for a pipeline whose download is running."""


@dataclass(slots=True)
class DownloadProgress:
    """The state of one pipeline's download: Scope's progress fields plus bytes and the current file."""

    is_downloading: bool = True
    percentage: float = 0.0
    current_artifact: str | None = None
    current_file: str | None = None
    downloaded_bytes: int = 0
    total_bytes: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The `progress` object of `/api/v1/models/status` (`error` only when there is one)."""
        body = asdict(self)
        if body['error'] is None:
            del body['error']
        return body

    def advance(self, count: int) -> None:
        self.downloaded_bytes = max(0, self.downloaded_bytes + count)
        total = max(self.total_bytes, 1)
        self.percentage = round(min(100.0, 100.0 * self.downloaded_bytes / total), 1)


class DownloadManager:
    """Downloads into one models dir, at most one running download per pipeline id."""

    def __init__(self, models_dir: Path, endpoint: str | None = None) -> None:
        self.models_dir = models_dir
        self.endpoint = endpoint  # another hub than huggingface.co (HF_ENDPOINT)
        self._progress: dict[str, DownloadProgress] = {}
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def start(self, pipeline_id: str, models: list[ModelFiles], *, token: str | None = None) -> None:
        """Download in a background thread; raises DownloadInProgress when one runs for this pipeline."""
        self._claim(pipeline_id, models)
        thread = threading.Thread(target=self._run_claimed, args=(pipeline_id, models, token, None),
                                  name=f'download-{pipeline_id}', daemon=True)
        thread.start()

    def download(self, pipeline_id: str, models: list[ModelFiles], *, token: str | None = None,
                 listener: ProgressListener | None = None) -> None:
        """Download now, in this thread; raises DownloadError with a message for people."""
        self._claim(pipeline_id, models)
        self._run_claimed(pipeline_id, models, token, listener)
        record = self._progress.get(pipeline_id)
        if record and record.error:
            raise DownloadError(record.error)

    def progress(self, pipeline_id: str) -> DownloadProgress | None:
        """The running or failed download of a pipeline (None before the first byte and after success)."""
        with self._lock:
            return self._progress.get(pipeline_id)

    def is_downloading(self, pipeline_id: str) -> bool:
        with self._lock:
            return pipeline_id in self._running

    def clear(self, pipeline_id: str) -> None:
        """Forget a finished download's record (the files are complete)."""
        with self._lock:
            if pipeline_id not in self._running:
                self._progress.pop(pipeline_id, None)

    def _claim(self, pipeline_id: str, models: list[ModelFiles]) -> None:
        with self._lock:
            if pipeline_id in self._running:
                raise DownloadInProgress(f'Download already in progress for {pipeline_id}')
            self._running.add(pipeline_id)
            # a new attempt clears the previous error, and shows as running before its thread has started
            self._progress[pipeline_id] = DownloadProgress(current_artifact=models[0].repo_id if models else None)

    def _run_claimed(self, pipeline_id: str, models: list[ModelFiles], token: str | None,
                     listener: ProgressListener | None) -> None:
        record = DownloadProgress()
        try:
            for model in models:
                RepoDownload(self.models_dir, model, token, self.endpoint, record, listener,
                             self._publish(pipeline_id)).run()
            with self._lock:
                self._progress.pop(pipeline_id, None)
        except Exception as error:  # every failure becomes a status the studio and clients can show
            record.is_downloading, record.error = False, describe_error(error, record.current_artifact)
            log.warning('download for %s failed: %s', pipeline_id, record.error)
            with self._lock:
                self._progress[pipeline_id] = record
            if listener:
                listener(record)
        finally:
            with self._lock:
                self._running.discard(pipeline_id)

    def _publish(self, pipeline_id: str) -> Callable[[DownloadProgress], None]:
        def publish(record: DownloadProgress) -> None:
            with self._lock:
                self._progress[pipeline_id] = record
        return publish


class RepoDownload:
    """Fetching the missing files of one repository into `<models>/<last segment of the repo id>/`."""

    def __init__(self, models_dir: Path, model: ModelFiles, token: str | None, endpoint: str | None,
                 record: DownloadProgress, listener: ProgressListener | None,
                 publish: Callable[[DownloadProgress], None]) -> None:
        self.models_dir, self.model, self.token, self.endpoint = models_dir, model, token, endpoint
        self.folder = model_folder(models_dir, model.repo_id)
        self.record, self.listener, self.publish = record, listener, publish
        self._last_report = 0.0

    def run(self) -> None:
        from huggingface_hub import hf_hub_download

        record = self.record
        record.current_artifact, record.current_file = self.model.repo_id, None
        record.downloaded_bytes, record.total_bytes, record.percentage = 0, 0, 0.0
        self.publish(record)
        files = self._plan()
        if not files:
            return
        record.total_bytes = sum(size for _, size in files)
        _check_disk_space(self.folder, record.total_bytes, self.model.repo_id)
        self.publish(record)
        counter = _byte_counter(self._advance)
        supports_bars = 'tqdm_class' in inspect.signature(hf_hub_download).parameters
        for name, size in files:
            record.current_file = name
            done_before = record.downloaded_bytes
            extra: dict[str, Any] = {'tqdm_class': counter} if supports_bars else {}
            hf_hub_download(self.model.repo_id, name, local_dir=self.folder, token=self.token,
                            endpoint=self.endpoint, **extra)
            record.downloaded_bytes = done_before
            self._advance(size)
        self._report(force=True)

    def _plan(self) -> list[tuple[str, int]]:
        """(file, size) of each missing file; a declared name that is a folder on the hub lists its files."""
        from huggingface_hub import get_hf_file_metadata, hf_hub_url

        files: list[tuple[str, int]] = []
        for name in self.model.files:
            if _present(self.folder / name):
                continue
            url = hf_hub_url(self.model.repo_id, name, endpoint=self.endpoint)
            try:
                files.append((name, get_hf_file_metadata(url, token=self.token).size or 0))
            except Exception as error:
                if type(error).__name__ not in ('EntryNotFoundError', 'RemoteEntryNotFoundError'):
                    raise
                listed = self._list_folder(name)
                if not listed:
                    raise DownloadError(f'{self.model.repo_id} has no file or folder {name}') from None
                files.extend(item for item in listed if not _present(self.folder / item[0]))
        return files

    def _list_folder(self, name: str) -> list[tuple[str, int]]:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=self.endpoint, token=self.token)
        entries = api.list_repo_tree(self.model.repo_id, path_in_repo=name.rstrip('/'), recursive=True)
        return [(entry.path, int(getattr(entry, 'size', 0) or 0)) for entry in entries if hasattr(entry, 'size')]

    def _advance(self, count: int) -> None:
        self.record.advance(count)
        self._report()

    def _report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.listener and (force or now - self._last_report > 0.2):
            self._last_report = now
            self.listener(self.record)


def describe_error(error: BaseException, repo_id: str | None) -> str:
    """A message for people: what failed and what to do (authentication, network, disk, missing files)."""
    repo = repo_id or 'the model repository'
    name = type(error).__name__
    status = getattr(getattr(error, 'response', None), 'status_code', None)
    if isinstance(error, DownloadError):
        return str(error)
    if name == 'GatedRepoError':
        return (f'Access to {repo} is restricted: accept its terms on its Hugging Face page, then set HF_TOKEN '
                f'to a token of that account (HTTP {status})')
    if status in (401, 403) or name == 'RepositoryNotFoundError':
        return (f'Hugging Face refused access to {repo} (HTTP {status or 401}): it does not exist or needs '
                'authentication. Set HF_TOKEN to a valid Hugging Face token and try again')
    if name in ('EntryNotFoundError', 'RemoteEntryNotFoundError'):
        return f'A required file is missing from {repo} on Hugging Face: {error}'
    if name == 'OfflineModeIsEnabled':
        return 'Downloads are disabled (HF_HUB_OFFLINE is set): unset it, or copy the files into the models folder'
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f'The disk is full while downloading {repo}: free some space in the models folder and try again'
    if name in ('LocalEntryNotFoundError', 'ConnectError', 'ConnectTimeout', 'ReadTimeout', 'TimeoutException',
                'RemoteProtocolError', 'ConnectionError', 'NetworkError') or isinstance(error, ConnectionError):
        return f'Cannot reach Hugging Face to download {repo}: check the network connection ({name})'
    if status:
        return f'Hugging Face answered HTTP {status} for {repo}: {error}'
    return f'Downloading {repo} failed: {name}: {error}'


def _present(path: Path) -> bool:
    return path.is_file() or (path.is_dir() and any(path.iterdir()))


def _check_disk_space(folder: Path, needed: int, repo_id: str) -> None:
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if needed > free:
        raise DownloadError(f'Not enough disk space for {repo_id}: it needs {needed / 1e9:.2f} GB, '
                            f'{free / 1e9:.2f} GB are free in {existing}')


def _byte_counter(advance: Callable[[int], None]) -> type:
    """A stand-in for tqdm that huggingface_hub reports each downloaded chunk to."""

    class ByteCounter:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.n = int(kwargs.get('initial') or 0)
            self.total = kwargs.get('total')
            if self.n:
                advance(self.n)  # a resumed download counts what was already there

        def update(self, count: int | float = 1) -> None:
            self.n += int(count)
            advance(int(count))

        def close(self) -> None:
            pass

        def __enter__(self) -> ByteCounter:
            return self

        def __exit__(self, *exc: object) -> None:
            self.close()

    return ByteCounter
