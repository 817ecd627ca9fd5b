"""The pipelines this server knows, by id; heavy modules are imported only when a pipeline loads."""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from .protocol import Pipeline, PipelineInfo


@dataclass(slots=True)
class PipelineSpec:
    """A registered pipeline: its declaration and where its class lives (`module:Class`)."""

    info: PipelineInfo
    target: str

    def load_class(self) -> type[Pipeline]:
        module_name, class_name = self.target.split(':')
        return getattr(importlib.import_module(module_name), class_name)


class PipelineRegistry:
    """Registered pipelines, plus aliases that let Scope clients name pipelines this machine cannot run."""

    def __init__(self) -> None:
        self.specs: dict[str, PipelineSpec] = {}
        self.aliases: dict[str, str] = {}

    def register(self, info: PipelineInfo, target: str) -> None:
        self.specs[info.id] = PipelineSpec(info, target)

    def register_plugins(self, targets: list[str]) -> None:
        """Register extra pipelines named as `module:Class`; the class carries its `info`."""
        for target in targets:
            module_name, class_name = target.split(':')
            pipeline_class: type[Pipeline] = getattr(importlib.import_module(module_name), class_name)
            self.register(pipeline_class.info, target)

    def resolve(self, pipeline_id: str) -> PipelineSpec | None:
        """The spec for an id or an alias, or None when unknown."""
        if pipeline_id in self.specs:
            return self.specs[pipeline_id]
        alias = self.aliases.get(pipeline_id)
        return self.specs.get(alias) if alias else None

    def __contains__(self, pipeline_id: str) -> bool:
        return self.resolve(pipeline_id) is not None


def default_registry(aliases: dict[str, str] | None = None) -> PipelineRegistry:
    """The built-in pipelines."""
    from .dreamfield.info import DREAMFIELD
    from .passthrough import PASSTHROUGH
    from .streamdiffusion.info import STREAMDIFFUSION

    registry = PipelineRegistry()
    registry.register(DREAMFIELD, 'pipeline.dreamfield.pipeline:DreamfieldPipeline')
    registry.register(PASSTHROUGH, 'pipeline.passthrough:PassthroughPipeline')
    registry.register(STREAMDIFFUSION, 'pipeline.streamdiffusion.pipeline:StreamDiffusionPipeline')
    registry.aliases = dict(aliases or {})
    return registry
