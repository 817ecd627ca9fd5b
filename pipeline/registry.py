"""The pipelines this server knows, by id: the built-in ones (imported only when one loads) and installed plugins."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import model_store, plugins
from .protocol import Pipeline, PipelineInfo

# How Scope names the pipelines an alias may stand for
SCOPE_NAMES = {'longlive': 'LongLive', 'streamdiffusionv2': 'StreamDiffusionV2',
               'krea-realtime-video': 'Krea Realtime Video', 'memflow': 'MemFlow', 'reward-forcing': 'Reward Forcing'}


@dataclass(slots=True)
class PipelineSpec:
    """A registered pipeline: its declaration and where its class lives (`module:Class`)."""

    info: PipelineInfo
    target: str

    def load_class(self) -> type[Pipeline]:
        module_name, class_path = self.target.split(':')
        found: Any = importlib.import_module(module_name)
        for name in class_path.split('.'):  # a class nested in another one: `module:Outer.Inner`
            found = getattr(found, name)
        return found


class PipelineRegistry:
    """Registered pipelines, plus aliases that let Scope clients name pipelines this machine cannot run."""

    def __init__(self) -> None:
        self.specs: dict[str, PipelineSpec] = {}
        self.aliases: dict[str, str] = {}
        self.plugins: list[plugins.Plugin] = []
        self.failed_plugins: list[plugins.FailedPlugin] = []

    def register(self, info: PipelineInfo, target: str) -> None:
        self.specs[info.id] = PipelineSpec(info, target)

    def register_plugins(self, targets: list[str]) -> None:
        """Register extra pipelines named as `module:Class`; the class carries its `info`."""
        for target in targets:
            module_name, class_name = target.split(':')
            pipeline_class: type[Pipeline] = getattr(importlib.import_module(module_name), class_name)
            self.register(pipeline_class.info, target)

    def register_installed_plugins(self) -> None:
        """Register the pipelines of installed packages (`dreamstage.pipelines`); a broken one is only recorded."""
        found: dict[str, plugins.Plugin] = {}
        for entry_point in plugins.installed_entry_points():
            package_name = plugins.package_name(entry_point)
            plugin = found.setdefault(package_name, plugins.describe(entry_point))
            try:
                pipeline_class = plugins.load_pipeline_class(entry_point)
                info = pipeline_class.info
                if info.id in self.specs:
                    raise ValueError(f'pipeline id {info.id!r} is taken by {self.specs[info.id].target}')
            except (Exception, SystemExit) as error:  # whatever a plugin's import does, the server starts
                self.failed_plugins.append(plugins.failure(package_name, entry_point, error))
                continue
            self.register(info, f'{pipeline_class.__module__}:{pipeline_class.__qualname__}')
            plugin.pipelines.append(plugins.PluginPipeline(info.id, info.name))
        self.plugins.extend(found.values())

    def resolve(self, pipeline_id: str) -> PipelineSpec | None:
        """The spec for an id or an alias, or None when unknown."""
        if pipeline_id in self.specs:
            return self.specs[pipeline_id]
        alias = self.aliases.get(pipeline_id)
        return self.specs.get(alias) if alias else None

    def listed(self, models_dir: Path | None = None) -> list[tuple[str, PipelineInfo, str]]:
        """Every id a client may load, with the declaration of what runs and the name it is shown under: the
        registered pipelines, then the aliases (named for what they stand for and what runs in their place). With
        `models_dir`, a registered pipeline whose weights are absent is shown as its stand-in."""
        entries = [(pipeline_id, *self.shown_as(pipeline_id, models_dir)) for pipeline_id in self.specs]
        for alias, target in self.aliases.items():
            spec = self.specs.get(target)
            if spec is not None and alias not in self.specs:
                entries.append((alias, spec.info, alias_name(alias, spec.info)))
        return entries

    def shown_as(self, pipeline_id: str, models_dir: Path | None) -> tuple[PipelineInfo, str]:
        """The declaration and name a registered pipeline is shown with: its own declaration, named for its stand-in
        while it cannot run here (e.g. 'LongLive (Dreamfield stand-in)' without LongLive's weights)."""
        spec = self.specs[pipeline_id]
        stand_in = self.runs_as(pipeline_id, models_dir)
        if stand_in is not None and stand_in is not spec.info:
            return spec.info, alias_name(pipeline_id, stand_in)
        return spec.info, spec.info.name

    def runs_as(self, pipeline_id: str, models_dir: Path | None) -> PipelineInfo | None:
        """The declaration of what a load of `pipeline_id` (without load parameters) runs now (None: nothing)."""
        if models_dir is None:
            spec = self.resolve(pipeline_id)
            return spec.info if spec is not None else None
        runnable = self.runnable(pipeline_id, None, models_dir)
        return runnable[0].info if runnable is not None else None

    def __contains__(self, pipeline_id: str) -> bool:
        return self.resolve(pipeline_id) is not None

    def runnable(self, pipeline_id: str, load_params: dict[str, Any] | None,
                 models_dir: Path) -> tuple[PipelineSpec, str | None] | None:
        """The pipeline a load of `pipeline_id` runs, and why it is a stand-in (None when it is the real one).

        This is the one place that decides: a registered pipeline runs when its model files are on disk; when they
        are absent and the id has an alias, the alias runs instead (dreamfield for `longlive` on a machine without
        LongLive's weights). An id that is only an alias always runs its target. Raises ValueError for load
        parameters the registered pipeline does not accept.
        """
        spec = self.specs.get(pipeline_id)
        alias = self.specs.get(self.aliases.get(pipeline_id, ''))
        if spec is None:
            return (alias, f'{pipeline_id} is not available here; {alias.info.id} runs instead') if alias else None
        if alias is None or not spec.info.requires_models:
            return spec, None
        absent = model_store.missing(model_store.required_models(spec.info, load_params), models_dir)
        if not absent:
            return spec, None
        return alias, (f'the model files of {pipeline_id} are not downloaded (missing {absent[0]}); '
                       f'{alias.info.id} runs instead')


def alias_name(alias: str, info: PipelineInfo) -> str:
    """How an alias is shown: what it stands for and what runs instead, e.g. 'LongLive (Dreamfield stand-in)'."""
    title = SCOPE_NAMES.get(alias) or alias.replace('-', ' ').replace('_', ' ').title()
    return f'{title} ({info.name.split(" (")[0]} stand-in)'


def default_registry(aliases: dict[str, str] | None = None, installed_plugins: bool = True) -> PipelineRegistry:
    """The built-in pipelines, and those of installed packages unless `installed_plugins` is False."""
    from .dreamfield.info import DREAMFIELD
    from .longlive.info import LONGLIVE, STREAMDIFFUSIONV2
    from .passthrough import PASSTHROUGH
    from .streamdiffusion.info import STREAMDIFFUSION

    registry = PipelineRegistry()
    registry.register(DREAMFIELD, 'pipeline.dreamfield.pipeline:DreamfieldPipeline')
    registry.register(PASSTHROUGH, 'pipeline.passthrough:PassthroughPipeline')
    registry.register(STREAMDIFFUSION, 'pipeline.streamdiffusion.pipeline:StreamDiffusionPipeline')
    registry.register(LONGLIVE, 'pipeline.longlive.pipeline:LongLivePipeline')
    registry.register(STREAMDIFFUSIONV2, 'pipeline.longlive.pipeline:StreamDiffusionV2Pipeline')
    registry.aliases = dict(aliases or {})
    if installed_plugins:
        registry.register_installed_plugins()
    return registry
