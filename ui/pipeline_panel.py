"""The pipeline panel: pick a registered pipeline, set its resolution and load parameters, load it, see progress."""
from __future__ import annotations

from functools import partial
from typing import Any

from nicegui import ui

from pipeline.catalog import schema_fields
from pipeline.manager import LoadRequestError
from pipeline.protocol import PipelineInfo
from services.context import ServerContext

from .model_download import ModelDownload
from .resolution import ResolutionPicker
from .schema_form import field_control
from .sync import SessionSync
from .theme import hint, notify, readout, section

MANY_FIELDS = 4  # more load parameters than this start folded
STATUS_COLORS = {'loaded': 'positive', 'loading': 'warning', 'error': 'negative', 'not_loaded': 'grey'}
LOAD_HINTS = {
    'base_seed': 'Where a freshly loaded pipeline starts; the seed in the Generate tab changes the running stream.',
    'dtype': 'float16 and bfloat16 need a CUDA GPU; on the CPU (auto there) the pipeline computes in float32.',
}


class PipelinePanel:
    """Loading pipelines; the session goes on with the newly loaded one."""

    def __init__(self, context: ServerContext, sync: SessionSync | None) -> None:
        self.context = context
        self.can_control = sync is None or sync.can_control
        self.values: dict[str, Any] = {}
        self.models: ModelDownload | None = None
        self.shown: tuple[Any, ...] | None = None
        specs = context.registry.specs
        current = sync.session.pipeline_id if sync else context.config.preload_pipeline
        with section('Pipeline', 'hub'):
            with ui.row().classes('w-full items-center no-wrap gap-2'):
                self.chip = ui.badge('', color='grey').props('outline').mark('pipeline-status')
                self.stage = readout('').classes('grow truncate').mark('loading-stage')
                self.spinner = ui.spinner(size='18px', color='warning')
            self.error = ui.label('').classes('ds-error w-full').mark('pipeline-error')
            self.picker = ui.select({pid: spec.info.name for pid, spec in specs.items()}, label='Pipeline',
                                    value=current if current in specs else next(iter(specs), None),
                                    on_change=lambda: self.form.refresh()).classes('w-full').mark('pipeline-picker')
            self.form()
            with ui.row().classes('w-full items-center no-wrap gap-2'):
                self.problem = ui.label('').classes('ds-error grow').mark('load-problem')
                self.load_button = ui.button('Load', icon='rocket_launch', on_click=self.load) \
                    .props('unelevated no-caps').classes('px-4').mark('load-pipeline')
        if sync is not None:
            sync.every(3, self.show_status, self.chip)
        else:
            ui.timer(0.3, self.show_status)

    @property
    def info(self) -> PipelineInfo | None:
        spec = self.context.registry.specs.get(self.picker.value or '')
        return spec.info if spec else None

    @ui.refreshable_method
    def form(self) -> None:
        """What the chosen pipeline declares, and inputs for its load parameters."""
        info = self.info
        self.values = {}
        if info is None:
            return
        hint(info.description)
        with ui.row().classes('gap-1'):
            for flag in _flags(info):
                ui.badge(flag, color='grey-8').classes('ds-flag')
        self.models = None
        if info.requires_models:
            self.models = ModelDownload(self.context.downloads, info.id, self.load_params)
        last = self._last_load_params(info.id)
        self.resolution = ResolutionPicker(info, last.get('width'), last.get('height')).mark('resolution')
        fields = [spec for spec in schema_fields(info.load_params.model_json_schema())
                  if spec.component != 'resolution' and spec.key not in ('width', 'height')]
        if not fields:
            return
        with ui.expansion(f'Load parameters ({len(fields)})', icon='settings', value=len(fields) <= MANY_FIELDS) \
                .props('dense header-class="ds-expansion-header"').classes('w-full ds-expansion'):
            for spec in fields:
                self.values[spec.key] = last.get(spec.key, spec.default)
                field_control(spec, self.values[spec.key], partial(self.changed, spec.key), live=False) \
                    .mark(f'load-{spec.key}')
                if spec.key in LOAD_HINTS:
                    hint(LOAD_HINTS[spec.key]).mark(f'load-hint-{spec.key}')

    def load(self) -> None:
        """Validate the request as the REST endpoint does, then load in the background."""
        info = self.info
        if info is None:
            return
        params = self.load_params()
        try:
            items = self.context.manager.validate([(info.id, info.id, params)])
        except LoadRequestError as error:
            self.problem.set_text(str(error))
            return
        self.problem.set_text('')
        if not self.context.manager.load(items):
            notify(f'{info.name} is loaded with these parameters already')
            return
        self.shown = None
        self.show_status()
        notify(f'Loading {info.name}…')

    def load_params(self) -> dict[str, Any]:
        """The load parameters as the form shows them (empty fields left out)."""
        return {**{k: v for k, v in self.values.items() if v not in (None, '')}, **self.resolution.value}

    def changed(self, key: str, value: Any) -> None:
        self.values[key] = value
        if self.models is not None:
            self.models.schedule_check()

    def show_status(self) -> None:
        """The manager's load status: loaded, loading (with its stage), or the error."""
        status = self.context.manager.status()
        shown = (status['status'], tuple(status['pipeline_ids']), status.get('loading_stage'), status.get('error'))
        if shown == self.shown:
            return
        self.shown = shown
        state = status['status']
        names = ', '.join(status['pipeline_ids']) or 'nothing'
        self.chip.set_text(f'{state.replace("_", " ")} · {names}')
        self.chip.props(f'color={STATUS_COLORS.get(state, "grey")}')
        self.stage.set_text(status.get('loading_stage') or '')
        self.spinner.set_visibility(state == 'loading')
        self.error.set_text(status.get('error') or '')
        self.error.set_visibility(bool(status.get('error')))
        self.load_button.set_enabled(state != 'loading' and self.can_control)

    def _last_load_params(self, pipeline_id: str) -> dict[str, Any]:
        status = self.context.manager.status()
        if status.get('pipeline_id') != pipeline_id:
            return {}
        return dict(status.get('load_params') or {})


def _flags(info: PipelineInfo) -> list[str]:
    flags = [f'{mode} mode' for mode in info.supported_modes]
    flags += [name for name, on in (('prompts', info.supports_prompts), ('LoRA', info.supports_lora),
                                    ('negative prompt', info.supports_negative_prompt),
                                    ('needs weights', info.requires_models)) if on]
    return [*flags, f'{info.default_width}x{info.default_height}', f'chunk {info.chunk_size}']
