"""The studio's Control tab: tempo and quantizing, latency compensation, the matrix, LFOs, an XY pad, and the state
of OSC and MIDI (with MIDI learn and the browser's Web MIDI, sent over the page's connection)."""
from __future__ import annotations

from typing import Any

from nicegui import events, ui

from control.lfo import SHAPES, Lfo
from control.tempo import QUANTIZE_MODES
from control.tempo_sync import TempoRequest
from services.context import ServerContext
from services.errors import ServiceError

from .matrix_panel import MatrixPanel
from .sync import SessionSync
from .theme import hint, notify, readout, section

TEMPO_SOURCES = {'off': 'Off', 'internal': 'Internal', 'link': 'Ableton Link', 'midi_clock': 'MIDI clock',
                 'audio': 'The music'}
PAD = 180  # pixels, the XY pad's side


class ControlPanel:
    """Everything that steers the session besides its own controls, refreshed five times a second."""

    def __init__(self, context: ServerContext, sync: SessionSync) -> None:
        self.control = context.control
        self.sync = sync
        self.beat_shown = -1
        with ui.column().classes('w-full gap-3') as self.column:
            self._tempo()
            self._latency()
            self.matrix = MatrixPanel(context, sync)
            self._lfos()
            self._xy()
            self._surfaces()
        ui.on('dreamstage-midi', self._browser_midi)
        sync.every(2, self.refresh, self.column)

    @property
    def session_id(self) -> str:
        return self.sync.session.id

    def _tempo(self) -> None:
        with section('Tempo', 'speed', hint='Link, MIDI clock or the music'):
            with ui.row().classes('w-full items-center gap-2 no-wrap'):
                self.tempo_source = ui.select(TEMPO_SOURCES, value='off', label='Source',
                                              on_change=self._tempo_switched).props('dense').classes('w-36') \
                    .mark('tempo-source')
                self.bpm = ui.number('BPM', value=120, min=20, max=300, step=1, on_change=self._bpm_changed) \
                    .props('dense').classes('w-20').mark('tempo-bpm')
                self.beat = ui.icon('circle', size='18px').classes('text-gray-700').mark('tempo-beat')
                self.beat_text = readout('').mark('tempo-readout')
            with ui.row().classes('w-full items-center gap-2 no-wrap'):
                self.quantize = ui.select(list(QUANTIZE_MODES), value='none', label='Quantize OSC / MIDI changes',
                                          on_change=lambda e: self._set(quantize=e.value)) \
                    .props('dense').classes('grow').mark('tempo-quantize')

    def _latency(self) -> None:
        with section('Latency compensation', 'timer', hint='beats land on the picture'):
            self.latency_text = readout('').mark('latency-readout')
            with ui.row().classes('w-full items-center gap-2 no-wrap'):
                self.compensate = ui.switch('Fire beat-synced changes early', value=True,
                                            on_change=lambda e: self._set(compensate=e.value)).mark('latency-on')
            with ui.row().classes('w-full items-center gap-2 no-wrap'):
                ui.label('Trim').classes('text-xs opacity-70')
                self.trim = ui.slider(min=-200, max=300, step=5, value=0,
                                      on_change=lambda e: self._set(trim_ms=e.value)) \
                    .props('label dense').classes('grow').mark('latency-trim')

    def _lfos(self) -> None:
        with section('LFOs', 'waves', hint='sources lfo.<name>'):
            self.lfo_list = ui.column().classes('w-full gap-1').mark('lfo-list')
            with ui.row().classes('w-full items-center gap-1 no-wrap'):
                self.lfo_name = ui.input(placeholder='name').props('dense').classes('w-24').mark('lfo-name')
                self.lfo_shape = ui.select(list(SHAPES), value='sine').props('dense options-dense').classes('w-28')
                self.lfo_beats = ui.select({0.5: '½ beat', 1: 'beat', 2: '2 beats', 4: 'bar', 8: '2 bars',
                                            16: '4 bars'}, value=4).props('dense options-dense').classes('w-24')
                ui.button(icon='add', on_click=self._add_lfo).props('flat dense round').mark('lfo-add')
        self._show_lfos()

    def _xy(self) -> None:
        with section('XY pad', 'open_with', hint='sources xy.x and xy.y'):
            with ui.element('div').classes('ds-xy-pad').style(
                    f'width:{PAD}px;height:{PAD}px;position:relative;border:1px solid #555;border-radius:8px;'
                    'background:radial-gradient(circle at center,#2a2a3a,#141418);cursor:crosshair') as pad:
                self.xy_dot = ui.element('div').style('position:absolute;width:12px;height:12px;border-radius:6px;'
                                                      'background:#f0a;left:84px;top:84px;pointer-events:none')
            pad.on('mousedown', self._xy_moved, ['offsetX', 'offsetY'])
            pad.on('mousemove', self._xy_moved, ['offsetX', 'offsetY', 'buttons'], throttle=0.03)
            pad.mark('xy-pad')

    def _surfaces(self) -> None:
        with section('OSC and MIDI', 'settings_input_component'):
            self.osc_text = readout('').mark('osc-readout')
            ui.link('OSC reference (every address, with snippets)', '/api/v1/osc/docs', new_tab=True) \
                .classes('text-xs')
            self.midi_text = readout('').mark('midi-readout')
            self.learn_text = readout('').mark('learn-readout')
            with ui.row().classes('w-full items-center gap-2'):
                ui.button('Use Web MIDI', icon='piano', on_click=self._web_midi) \
                    .props('flat dense no-caps').mark('web-midi')
                ui.button('Cancel learn', on_click=lambda: self.control.learn(self.session_id, None)) \
                    .props('flat dense no-caps')
            hint('MIDI learn: click the piano of a route (or arm it in the API), then move a knob.')

    def refresh(self) -> None:
        if self.sync.session.closed:
            return
        self.matrix.refresh()
        status = self.control.status(self.session_id)
        beat = (status['tempo'] or {}).get('beat_state')
        if beat:
            self.beat_text.set_text(f"{beat['bpm']:.1f} BPM · bar {beat['bar_position'] + 1:.0f} · "
                                    f"beat {beat['beat_count']}")
            lit = beat['beat_count'] != self.beat_shown
            self.beat_shown = beat['beat_count']
            self.beat.classes(replace='text-pink-400' if lit else 'text-gray-700')
        else:
            self.beat_text.set_text('no tempo source')
        latency = status['latency']
        measured = f"{latency['measured_ms']:.0f} ms" if latency['measured_ms'] is not None else '—'
        self.latency_text.set_text(f"control → frame {measured} · firing {latency['lead_ms']:.0f} ms early"
                                   + (f" · {len(status['pending'])} change(s) waiting" if status['pending'] else ''))
        osc = self.control.osc.server.status()
        state = f"udp {osc['port']}" if osc['listening'] else f"off {osc['error'] or ''}"
        self.osc_text.set_text(f"OSC {state} · {osc['received']} received · {osc['applied']} applied · "
                               f"{osc['dropped_total']} dropped" + (f" · {status['refused']} refused by the matrix"
                                                                    if status['refused'] else ''))
        midi = self.control.midi.status()
        ports = ', '.join(midi['open']) or ('no server ports' if not midi['available'] else 'none open')
        self.midi_text.set_text(f"MIDI {ports} · {midi['received']} messages"
                                + (f" · gone: {', '.join(midi['gone'])}" if midi['gone'] else ''))
        learn = status['learn']
        moved = f"last moved: {learn['last']['label']}" if learn['last'] else ''
        self.learn_text.set_text(f"learning {learn['armed']}: move a control" if learn['armed'] else moved)

    def _set(self, **settings: Any) -> None:
        engine = self.control.engine_for(self.session_id)
        if 'quantize' in settings:
            engine.quantize = settings['quantize']
        if 'compensate' in settings:
            engine.latency.compensate = bool(settings['compensate'])
        if 'trim_ms' in settings:
            engine.latency.trim_ms = float(settings['trim_ms'] or 0)

    async def _tempo_switched(self, event: events.ValueChangeEventArguments) -> None:
        tempo = self.control.tempo
        if event.value == 'off':
            tempo.sync.disable()
            return
        try:
            tempo.enable(TempoRequest(source=event.value, bpm=float(self.bpm.value or 120),
                                      session_id=self.session_id))
        except ServiceError as error:
            notify(error.message, 'warning')
            self.tempo_source.set_value('off')

    def _bpm_changed(self, event: events.ValueChangeEventArguments) -> None:
        if self.control.tempo.sync.enabled and event.value:
            try:
                self.control.tempo.set_tempo(float(event.value))
            except ServiceError as error:
                notify(error.message, 'info')

    def _add_lfo(self) -> None:
        engine = self.control.engine_for(self.session_id)
        try:
            lfo = Lfo(name=(self.lfo_name.value or f'lfo{len(engine.lfos) + 1}').strip().lower(),
                      shape=self.lfo_shape.value, beats=float(self.lfo_beats.value))
            self.control.set_lfos(self.session_id, [*engine.lfos.values(), lfo])
        except (ValueError, ServiceError) as error:
            notify(f'Not added: {error}', 'warning')
            return
        self.lfo_name.set_value('')
        self._show_lfos()
        self.matrix.shown = None  # the new source shows up in the route pickers

    def _show_lfos(self) -> None:
        lfos = list(self.control.engine_for(self.session_id).lfos.values())
        self.lfo_list.clear()
        with self.lfo_list:
            for lfo in lfos:
                with ui.row().classes('w-full items-center gap-2 no-wrap'):
                    ui.label(f'lfo.{lfo.name}').classes('font-mono text-xs grow')
                    ui.label(f'{lfo.shape} · {lfo.beats:g} beats' if lfo.sync else f'{lfo.shape} · {lfo.hz:g} Hz') \
                        .classes('text-xs opacity-70')
                    ui.button(icon='close', on_click=lambda n=lfo.name: self._remove_lfo(n)) \
                        .props('flat dense round size=xs').classes('ds-ghost')

    def _remove_lfo(self, name: str) -> None:
        engine = self.control.engine_for(self.session_id)
        self.control.set_lfos(self.session_id, [lfo for lfo in engine.lfos.values() if lfo.name != name])
        self._show_lfos()

    def _xy_moved(self, event: events.GenericEventArguments) -> None:
        args = event.args or {}
        if 'buttons' in args and not args['buttons']:
            return
        x = min(1.0, max(0.0, float(args.get('offsetX', 0)) / PAD))
        y = min(1.0, max(0.0, 1.0 - float(args.get('offsetY', 0)) / PAD))
        self.control.set_xy(self.session_id, x, y)
        self.xy_dot.style(f'left:{x * PAD - 6:.0f}px;top:{(1 - y) * PAD - 6:.0f}px')

    def _web_midi(self) -> None:
        ui.run_javascript('window.dreamstageMidi && window.dreamstageMidi()')

    def _browser_midi(self, event: events.GenericEventArguments) -> None:
        args = event.args or {}
        try:
            self.control.midi.receive_bytes(args.get('data'), str(args.get('port') or 'browser')[:60])
        except ServiceError:
            pass  # counted as refused in the MIDI status
