"""Model downloads: whether a pipeline's files are on disk, and fetching them with progress."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from config import Config
from pipeline.hardware import cuda_available
from pipeline.model_store import DownloadInProgress, DownloadManager, missing, required_models
from pipeline.protocol import ModelFiles
from pipeline.registry import PipelineRegistry, PipelineSpec

from .errors import Conflict, InvalidRequest, NotFound
from .keys import KeyStore


class ModelStatus(BaseModel):
    """Whether every file a pipeline needs is present, and the progress of a running (or failed) download.

    On a machine without CUDA a pipeline with a stand-in (`longlive` → dreamfield) counts as ready: a load runs the
    stand-in, and clients such as Scope's app do not offer a download of weights the machine cannot run.
    """

    downloaded: bool
    progress: dict[str, Any] | None = None
    stand_in: str | None = None  # the pipeline that runs instead while the files are missing


class DownloadService:
    """The model files of the registered pipelines in the models folder; one download per pipeline at a time."""

    def __init__(self, config: Config, registry: PipelineRegistry, keys: KeyStore | None = None) -> None:
        self.config = config
        self.registry = registry
        self.keys = keys
        self.manager = DownloadManager(config.models_dir, endpoint=config.hf_endpoint)

    def status(self, pipeline_id: str, model_id: str | None = None,
               load_params: dict[str, Any] | None = None) -> ModelStatus:
        """Whether a pipeline's files are downloaded (unknown and model-less pipelines: true, as in Scope)."""
        spec = self.registry.resolve(pipeline_id)
        if spec is None:
            return ModelStatus(downloaded=True)
        downloaded = not missing(self._models(spec, model_id, load_params), self.config.models_dir)
        if downloaded and not self.manager.is_downloading(spec.info.id):
            self.manager.clear(spec.info.id)
        progress = self.manager.progress(spec.info.id)
        stand_in = self.registry.aliases.get(spec.info.id) if not downloaded and not cuda_available() else None
        return ModelStatus(downloaded=downloaded or stand_in is not None,
                           progress=progress.to_dict() if progress else None, stand_in=stand_in)

    def start(self, pipeline_id: str, model_id: str | None = None, load_params: dict[str, Any] | None = None) -> str:
        """Start downloading a pipeline's missing files in the background; a message saying what happens."""
        pipeline_id = pipeline_id.strip()
        if not pipeline_id:
            raise InvalidRequest('pipeline_id is required')
        spec = self.registry.resolve(pipeline_id)
        if spec is None:
            raise NotFound(f"Unknown pipeline '{pipeline_id}'")
        models = self._models(spec, model_id, load_params)
        if self.manager.is_downloading(spec.info.id):
            raise Conflict(f'Download already in progress for {pipeline_id}')
        if not missing(models, self.config.models_dir):
            return f'Nothing to download for {pipeline_id}: its files are ready'
        try:
            token = self.keys.token('huggingface') if self.keys is not None else self.config.hf_token
            self.manager.start(spec.info.id, models, token=token)
        except DownloadInProgress:
            raise Conflict(f'Download already in progress for {pipeline_id}') from None
        return f'Model download started for {pipeline_id}'

    def is_downloading(self, pipeline_id: str) -> bool:
        spec = self.registry.resolve(pipeline_id)
        return spec is not None and self.manager.is_downloading(spec.info.id)

    @staticmethod
    def _models(spec: PipelineSpec, model_id: str | None, load_params: dict[str, Any] | None) -> list[ModelFiles]:
        params = dict(load_params or {})
        if model_id:
            params['model_id'] = model_id
        try:
            return required_models(spec.info, params or None)
        except ValueError as error:
            raise InvalidRequest(f'Invalid load_params for {spec.info.id}: {error}') from None
