"""The studio's modulation matrix: one row per route (source, target, range, curve, on/off, MIDI learn) with a live
meter, and the running audio preset's routes shown read-only."""
from __future__ import annotations

from typing import Any

from nicegui import ui
from nicegui.elements.mixins.disableable_element import DisableableElement

from audio.mapping import Curve
from control.routes import AUDIO_ORIGIN, Route
from services.context import ServerContext
from services.errors import ServiceError

from .sync import SessionSync
from .theme import hint, notify, section, tip

CURVES = ['linear', 'exponential', 'logarithmic', 'stepped', 'smooth']
STATUS_COLORS = {'ok': 'positive', 'waiting': 'grey', 'missing target': 'warning', 'disabled': 'grey'}


class MatrixPanel:
    """Routes of the session's matrix; edits go to the control service, meters follow the engine."""

    def __init__(self, context: ServerContext, sync: SessionSync) -> None:
        self.control = context.control
        self.sync = sync
        self.shown: list[Any] | None = None
        self.meters: dict[str, tuple[ui.linear_progress, ui.badge]] = {}
        with section('Modulation matrix', 'cable', hint='any source to any parameter'):
            self.rows = ui.column().classes('w-full gap-1').mark('matrix-routes')
            with ui.row().classes('w-full items-center gap-1 no-wrap'):
                self.source = ui.select([], label='Source', with_input=True).props('dense options-dense') \
                    .classes('grow').mark('matrix-new-source')
                self.target = ui.select([], label='Target').props('dense options-dense').classes('grow') \
                    .mark('matrix-new-target')
                ui.button(icon='add', on_click=self.add).props('flat dense round').mark('matrix-add') \
                    .tooltip('Add the route')
        self.refresh()

    @property
    def session_id(self) -> str:
        return self.sync.session.id

    def add(self) -> None:
        if not self.source.value or not self.target.value:
            notify('Choose a source and a target first', 'info')
            return
        target = self.control.engine_for(self.session_id).targets().get(self.target.value)
        low, high = (target.low, target.high) if target else (0.0, 1.0)
        self._save([*self._routes(), Route(source=self.source.value, target=self.target.value, out_min=low,
                                           out_max=high)])

    def refresh(self) -> None:
        """Rebuild the rows when the routes changed; otherwise move the meters."""
        if self.sync.session.closed:
            return
        engine = self.control.engine_for(self.session_id)
        routes = engine.matrix.routes
        if [route.model_dump() for route in routes] != self.shown:
            self._build(routes)
        for route_id, meter in engine.meters.items():
            if route_id in self.meters:
                bar, badge = self.meters[route_id]
                route = next((r for r in routes if r.id == route_id), None)
                span = (route.out_max - route.out_min) if route else 1.0
                output = meter.output
                bar.set_value(round((output - route.out_min) / span, 3) if output is not None and route and span
                              else 0.0)
                badge.set_text(meter.status)
                badge.props(f'color={STATUS_COLORS[meter.status]}')

    def _build(self, routes: list[Route]) -> None:
        self.shown = [route.model_dump() for route in routes]
        self.meters.clear()
        targets = self.control.engine_for(self.session_id).targets()
        sources = self.control.sources(self.session_id)
        self.source.set_options(sorted(sources))
        self.target.set_options(sorted(targets))
        self.rows.clear()
        with self.rows:
            if not routes:
                hint('No routes yet: pick a source and a target, or arm MIDI learn on a target and move a knob.')
            for route in routes:
                self._row(route, sorted(set(sources) | {route.source}), sorted(set(targets) | {route.target}))

    def _row(self, route: Route, sources: list[str], targets: list[str]) -> None:
        preset = route.origin == AUDIO_ORIGIN
        with ui.column().classes('w-full gap-0 ds-route').mark(f'route-{route.id}') as row:
            with ui.row().classes('w-full items-center no-wrap gap-1'):
                ui.switch(value=route.enabled, on_change=lambda e, r=route: self._edit(r, enabled=e.value)) \
                    .props('dense').mark(f'route-enabled-{route.id}')
                ui.select(sources, value=route.source, with_input=True,
                          on_change=lambda e, r=route: self._edit(r, source=e.value)) \
                    .props('dense options-dense borderless').classes('grow text-xs')
                ui.icon('east', size='14px').classes('ds-muted')
                ui.select(targets, value=route.target, on_change=lambda e, r=route: self._edit(r, target=e.value)) \
                    .props('dense options-dense borderless').classes('grow text-xs')
                if preset:
                    ui.badge('audio preset', color='secondary').props('outline')
                else:
                    tip(ui.button(icon='piano', on_click=lambda r=route: self._learn(r.target))
                        .props('flat dense round size=sm'), 'MIDI learn: move a knob to drive this target')
                    ui.button(icon='close', on_click=lambda r=route: self._delete(r)) \
                        .props('flat dense round size=sm').classes('ds-ghost').mark(f'route-delete-{route.id}')
            with ui.row().classes('w-full items-center no-wrap gap-1'):
                bar = ui.linear_progress(value=0, show_value=False, size='8px').props('instant-feedback rounded') \
                    .classes('grow').mark(f'route-meter-{route.id}')
                badge = ui.badge('', color='grey').props('outline').classes('text-xs').mark(f'route-status-{route.id}')
                self.meters[route.id] = (bar, badge)
                for field, label in (('out_min', 'min'), ('out_max', 'max')):
                    ui.number(label, value=getattr(route, field), step=0.05, format='%.2f',
                              on_change=lambda e, r=route, f=field: self._edit(r, **{f: e.value})) \
                        .props('dense borderless').classes('w-14 text-xs')
                ui.select(CURVES, value=route.curve, on_change=lambda e, r=route: self._edit(r, curve=e.value)) \
                    .props('dense options-dense borderless').classes('w-24 text-xs')
                ui.number('release', value=route.release, min=0, max=10, step=0.05, format='%.2f',
                          on_change=lambda e, r=route: self._edit(r, release=e.value)) \
                    .props('dense borderless').classes('w-14 text-xs')
        if preset:  # the running audio preset's routes are edited with the preset (Audio tab)
            for element in row.descendants():
                if isinstance(element, DisableableElement):
                    element.disable()

    def _routes(self) -> list[Route]:
        return list(self.control.engine_for(self.session_id).user_routes)

    def _edit(self, route: Route, **changes: Any) -> None:
        if route.origin == AUDIO_ORIGIN or any(value is None for value in changes.values()):
            return
        curve: Curve | None = changes.get('curve')
        if curve is not None and curve not in CURVES:
            return
        try:
            edited = Route.model_validate({**route.model_dump(), **changes})
        except ValueError as error:
            notify(f'Not applied: {error}', 'warning')
            return
        self._save([edited if r.id == route.id else r for r in self._routes()])

    def _delete(self, route: Route) -> None:
        self._save([r for r in self._routes() if r.id != route.id])

    def _learn(self, target: str) -> None:
        try:
            self.control.learn(self.session_id, target)
        except ServiceError as error:
            notify(error.message, 'warning')
            return
        notify(f'MIDI learn: move a knob or pad to drive {target}', 'info')

    def _save(self, routes: list[Route]) -> None:
        try:
            self.control.set_routes(self.session_id, routes)
        except ServiceError as error:
            notify(error.message, 'warning')
        self.refresh()
