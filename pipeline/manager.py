"""Loading pipelines in the background and reporting their status (Scope's load/status semantics)."""
from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from . import model_store
from .protocol import LoadContext, LoadParams, Pipeline
from .registry import PipelineRegistry, PipelineSpec
from .validation import InvalidParameters, check_json_values

log = logging.getLogger(__name__)
Status = Literal['not_loaded', 'loading', 'loaded', 'error']


class LoadRequestError(ValueError):
    """A load request that cannot be carried out (unknown pipeline, bad load parameters)."""


@dataclass(slots=True)
class LoadItem:
    """One pipeline to load under a node id, with validated parameters."""

    node_id: str
    pipeline_id: str
    spec: PipelineSpec
    params: LoadParams
    raw_params: dict[str, Any] = field(default_factory=dict)
    substitution: str | None = None  # why another pipeline than the one asked for runs (see PipelineRegistry)


@dataclass(slots=True)
class LoadedPipeline:
    """A node's pipeline and its loading state."""

    item: LoadItem
    status: Status = 'loading'
    stage: str | None = 'Initializing pipeline...'
    error: str | None = None
    instance: Pipeline | None = None


def same_params(a: LoadParams, b: LoadParams) -> bool:
    """Whether two load requests load the same thing: the declared parameters (unknown keys are ignored anyway)."""
    if type(a) is not type(b):
        return False
    return a.model_dump(exclude=set(a.model_extra or {})) == b.model_dump(exclude=set(b.model_extra or {}))


class PipelineManager:
    """Keeps the loaded pipelines, reconciled against each load request, one load at a time."""

    def __init__(self, registry: PipelineRegistry, context: LoadContext) -> None:
        self.registry = registry
        self.context = context
        self.nodes: dict[str, LoadedPipeline] = {}
        self.last_load_params: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self.on_loaded: list[Callable[[], None]] = []  # called (in the loader thread) after each reconciliation

    def validate(self, entries: list[tuple[str, str, dict[str, Any] | None]]) -> list[LoadItem]:
        """Check (node_id, pipeline_id, load_params) entries up front; raises LoadRequestError with a clear message."""
        items: list[LoadItem] = []
        for node_id, pipeline_id, raw in entries:
            raw = dict(raw or {})
            if 'seed' in raw and 'base_seed' not in raw:
                raw['base_seed'] = raw['seed']
            try:
                check_json_values(raw)
            except InvalidParameters as error:
                raise LoadRequestError(f"Invalid load_params for '{pipeline_id}': {error}") from None
            try:
                runnable = self.registry.runnable(pipeline_id, raw, self.context.models_dir)
            except ValueError as error:
                raise LoadRequestError(f"Invalid load_params for '{pipeline_id}': {_describe(error)}") from None
            if runnable is None:
                known = ', '.join(sorted(self.registry.specs))
                raise LoadRequestError(f"Unknown pipeline '{pipeline_id}'. Available pipelines: {known}")
            spec, substitution = runnable
            try:
                params = spec.info.load_params.model_validate(raw)
            except ValidationError as error:
                raise LoadRequestError(f"Invalid load_params for '{pipeline_id}': {_describe(error)}") from None
            if reason := params.unavailable():
                raise LoadRequestError(f"Cannot load '{pipeline_id}' on this machine: {reason}")
            multiple = spec.info.dimension_multiple
            for name in ('width', 'height'):
                value = getattr(params, name)
                if value is not None and value % multiple:
                    raise LoadRequestError(f"Invalid resolution: {name} {value} of '{pipeline_id}' must be a "
                                           f'multiple of {multiple} (for example {round(value / multiple) * multiple})')
            if missing := model_store.missing(model_store.required_models(spec.info, params), self.context.models_dir):
                raise LoadRequestError(f"Models for '{pipeline_id}' are not downloaded (missing {missing[0]}). "
                                       'Download them first: POST /api/v1/models/download')
            if spec.info.preflight is not None:
                width, height = params.width or spec.info.default_width, params.height or spec.info.default_height
                try:
                    spec.info.preflight(params, self.context.models_dir, width, height)
                except ValueError as error:
                    raise LoadRequestError(f"Cannot load '{pipeline_id}': {error}") from None
            items.append(LoadItem(node_id, pipeline_id, spec, params, raw, substitution))
        return items

    def load(self, items: list[LoadItem]) -> bool:
        """Reconcile with the request in a background thread: reuse identical, unload stale, load new. A request for
        the pipelines and load parameters that are loaded or loading already changes nothing (False)."""
        with self._lock:
            if self._already(items):
                log.info('load of %s: already %s, nothing to do', [i.pipeline_id for i in items], self._states())
                return False
            self.last_load_params = items[0].raw_params if items else None
            keep: dict[str, LoadedPipeline] = {}
            for item in items:
                current = self.nodes.get(item.node_id)
                same = current and current.status == 'loaded' and current.item.pipeline_id == item.pipeline_id \
                    and same_params(current.item.params, item.params)
                keep[item.node_id] = current if same and current else LoadedPipeline(item)
            stale = [node for key, node in self.nodes.items() if keep.get(key) is not node]
            self.nodes = keep
        threading.Thread(target=self._reconcile, args=(stale,), name='pipeline-load', daemon=True).start()
        return True

    def status(self) -> dict[str, Any]:
        """Scope's `/api/v1/pipeline/status` body; an error stays until the next load request."""
        with self._lock:
            nodes = list(self.nodes.values())
        statuses = [node.status for node in nodes]
        if 'loading' in statuses:
            status: Status = 'loading'
        elif 'error' in statuses:
            status = 'error'
        elif nodes and all(s == 'loaded' for s in statuses):
            status = 'loaded'
        else:
            status = 'not_loaded'
        errors = [f'{n.item.pipeline_id}: {n.error}' for n in nodes if n.error]
        first = nodes[0] if nodes else None
        return {
            'status': status,
            'pipeline_id': first.item.pipeline_id if first else None,
            'pipeline_ids': [n.item.pipeline_id for n in nodes],
            'load_params': self.last_load_params,
            'loaded_lora_adapters': [],
            'error': '; '.join(errors) or None,
            'loading_stage': next((n.stage for n in nodes if n.status == 'loading'), None),
            'running_pipeline_ids': [n.item.spec.info.id for n in nodes],
            'substitutions': {n.item.pipeline_id: n.item.substitution for n in nodes if n.item.substitution},
            'produces_video': True,
            'produces_audio': False,
        }

    def pending_size(self) -> tuple[int | None, int | None]:
        """The frame size of the pipeline being loaded (width, height), as far as its load parameters say."""
        with self._lock:
            loading = [node.item for node in self.nodes.values() if node.status == 'loading']
        if not loading:
            return None, None
        item = loading[-1]
        return (item.params.width or item.spec.info.default_width, item.params.height or item.spec.info.default_height)

    def loaded_chain(self) -> list[str]:
        """Ids of the loaded pipelines in request order."""
        with self._lock:
            return [n.item.pipeline_id for n in self.nodes.values() if n.status == 'loaded']

    def instance(self, pipeline_id: str) -> Pipeline | None:
        """The loaded instance for a pipeline id (or node id)."""
        with self._lock:
            for key, node in self.nodes.items():
                if node.status == 'loaded' and pipeline_id in (key, node.item.pipeline_id):
                    return node.instance
        return None

    def unload_all(self, collect: bool = True) -> None:
        with self._lock:
            nodes, self.nodes = list(self.nodes.values()), {}
        self._unload(nodes, collect)

    def _already(self, items: list[LoadItem]) -> bool:
        """Whether the nodes hold these pipelines with these parameters, in this order, loaded or loading."""
        nodes = list(self.nodes.values())
        return bool(items) and len(nodes) == len(items) and all(
            node.status in ('loaded', 'loading') and node.item.pipeline_id == item.pipeline_id
            and same_params(node.item.params, item.params) for node, item in zip(nodes, items, strict=True))

    def _states(self) -> str:
        return '/'.join(sorted({node.status for node in self.nodes.values()}))

    def _reconcile(self, stale: list[LoadedPipeline]) -> None:
        with self._load_lock:
            self._unload(stale)
            with self._lock:
                pending = [node for node in self.nodes.values() if node.status == 'loading']
            for node in pending:
                self._load_one(node)
            if pending:
                freeze_long_lived()
        for callback in list(self.on_loaded):
            try:
                callback()
            except Exception:
                log.exception('on_loaded callback failed')

    def _load_one(self, node: LoadedPipeline) -> None:
        item = node.item

        def report(stage: str) -> None:
            node.stage = stage

        try:
            pipeline_class = item.spec.load_class()
            context = LoadContext(self.context.models_dir, self.context.lora_dir, self.context.assets_dir, report)
            instance = pipeline_class(item.params, context)
        except Exception as error:
            log.exception('loading %s failed', item.pipeline_id)
            node.status, node.stage, node.error = 'error', None, f'{type(error).__name__}: {error}'
            return
        with self._lock:
            if self.nodes.get(item.node_id) is not node:  # superseded by a newer request meanwhile
                self._unload([LoadedPipeline(item, instance=instance)])
                return
            node.instance, node.status, node.stage = instance, 'loaded', None
        log.info('pipeline %s loaded', item.pipeline_id)

    @staticmethod
    def _unload(nodes: list[LoadedPipeline], collect: bool = True) -> None:
        for node in nodes:
            if node.instance is not None:
                try:
                    node.instance.close()
                except Exception:
                    log.exception('closing %s failed', node.item.pipeline_id)
                node.instance = None
        if nodes and collect:
            gc.unfreeze()  # what the unloaded pipeline leaves in reference cycles can be collected now
            gc.collect()


def freeze_long_lived() -> None:
    """Move everything alive after a load (weights, modules, the text encoder: hundreds of thousands of objects) out
    of the garbage collector's sight: a full collection then scans only what came since, and no longer stalls every
    stream's event loop for most of a second every few dozen connections. The next unload unfreezes them."""
    gc.collect()
    gc.freeze()


def _describe(error: Exception) -> str:
    """A validation error as one line: `field: message; ...`."""
    if isinstance(error, ValidationError):
        return '; '.join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
    return str(error)
