"""The pipelines Daydream streams run: loaded in the background, shared by streams that ask for the same one, and
unloaded when the last of them lets go. They are the streams' own: the studio loading another pipeline leaves them be.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from pipeline.manager import LoadRequestError, PipelineManager
from pipeline.protocol import LoadContext, Pipeline

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Target:
    """The pipeline a stream should run: its id, load parameters, and why it is not the one asked for (if so)."""

    pipeline_id: str
    load_params: tuple[tuple[str, Any], ...]
    asked_for: str
    fallback_reason: str | None = None

    @classmethod
    def of(cls, pipeline_id: str, load_params: dict[str, Any], asked_for: str,
           fallback_reason: str | None = None) -> Target:
        frozen = tuple(sorted((key, json.dumps(value, sort_keys=True)) for key, value in load_params.items()))
        return cls(pipeline_id, frozen, asked_for, fallback_reason)

    @property
    def params(self) -> dict[str, Any]:
        return {key: json.loads(value) for key, value in self.load_params}


@dataclass(slots=True)
class Lease:
    """A loaded (or loading) pipeline and the streams that use it."""

    target: Target
    ready: asyncio.Future[Pipeline]
    users: int = 0
    task: asyncio.Task | None = field(default=None, repr=False)


class StreamPipelines:
    """Loads and shares the streams' pipelines, checked by the same rules as Scope's load requests."""

    def __init__(self, manager: PipelineManager, aliases: dict[str, str], fallback: str | None = None) -> None:
        self.manager = manager
        self.aliases = aliases
        self.fallback = fallback  # what runs when the asked-for pipeline cannot and it has no alias
        self.leases: dict[tuple[str, tuple[tuple[str, Any], ...]], Lease] = {}

    def resolve(self, pipeline_id: str, load_params: dict[str, Any]) -> Target:
        """The pipeline to run for a request: the one asked for when it can run here; else its stand-in (the registry's
        alias while its weights are absent, or the streams' fallback, `DREAMSTAGE_STREAM_FALLBACK`); raises
        LoadRequestError when neither can run."""
        try:
            item = self.manager.validate([(pipeline_id, pipeline_id, load_params)])[0]
        except LoadRequestError as error:
            if not self.fallback:
                raise LoadRequestError(f'{error} (no stand-in is configured for streams: '
                                       'DREAMSTAGE_STREAM_FALLBACK)') from None
            return self._stand_in(self.fallback, load_params, pipeline_id, str(error))
        if item.substitution is None:
            return Target.of(pipeline_id, load_params, pipeline_id)
        return self._stand_in(item.spec.info.id, load_params, pipeline_id, item.substitution)

    def _stand_in(self, runs: str, load_params: dict[str, Any], asked_for: str, reason: str) -> Target:
        size: dict[str, Any] = {key: load_params[key] for key in ('width', 'height') if key in load_params}
        self.manager.validate([(runs, runs, size)])
        return Target.of(runs, size, asked_for, fallback_reason=reason)

    def acquire(self, target: Target) -> Lease:
        """A lease on the target's pipeline; `await lease.ready` gives the instance (or raises the load error)."""
        key = (target.pipeline_id, target.load_params)
        lease = self.leases.get(key)
        if lease is None or (lease.ready.done() and lease.ready.exception() is not None):
            lease = Lease(target, asyncio.get_running_loop().create_future())
            lease.task = asyncio.ensure_future(self._load(lease))
            self.leases[key] = lease
        lease.users += 1
        return lease

    async def release(self, lease: Lease) -> None:
        """Let go of a lease; the last user's release unloads the pipeline."""
        lease.users -= 1
        key = (lease.target.pipeline_id, lease.target.load_params)
        if lease.users > 0 or self.leases.get(key) is not lease:
            return
        del self.leases[key]
        if not lease.ready.done():
            if lease.task is not None:
                lease.task.cancel()
            return
        if lease.ready.exception() is None:
            await asyncio.to_thread(_close, lease.ready.result())

    async def _load(self, lease: Lease) -> None:
        target = lease.target
        try:
            item = self.manager.validate([(target.pipeline_id, target.pipeline_id, target.params)])[0]
            context = LoadContext(self.manager.context.models_dir, self.manager.context.lora_dir,
                                  self.manager.context.assets_dir)
            pipeline_class = item.spec.load_class()
            instance = await asyncio.to_thread(pipeline_class, item.params, context)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.exception('loading %s for a stream failed', target.pipeline_id)
            if not lease.ready.done():
                lease.ready.set_exception(RuntimeError(f'{type(error).__name__}: {error}'))
                lease.ready.exception()  # retrieved: the stream reports it
            return
        if lease.ready.done() or self.leases.get((target.pipeline_id, target.load_params)) is not lease:
            await asyncio.to_thread(_close, instance)  # nobody wants it any more
            return
        lease.ready.set_result(instance)
        log.info('pipeline %s loaded for streams', target.pipeline_id)

    async def close_all(self) -> None:
        leases, self.leases = list(self.leases.values()), {}
        for lease in leases:
            if lease.task is not None and not lease.task.done():
                lease.task.cancel()
            elif lease.ready.done() and lease.ready.exception() is None:
                await asyncio.to_thread(_close, lease.ready.result())


def _close(pipeline: Pipeline) -> None:
    try:
        pipeline.close()
    except Exception:
        log.exception('closing %s failed', pipeline.info.id)
