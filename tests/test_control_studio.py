"""The studio's Control tab: build a route, move the XY pad, watch the meter; tempo, latency and OSC readouts."""
from __future__ import annotations

from nicegui import app
from nicegui.testing import User

from ui.control_panel import PAD

from .test_studio_controls import only, session, value
from .waiting import until


async def test_a_route_from_the_xy_pad_drives_noise_scale_with_a_live_meter(studio: User) -> None:
    await studio.open('/')
    studio.find('Control').click()
    await studio.should_see('Modulation matrix')
    await studio.should_see('No routes yet')
    only(studio, 'matrix-new-source').set_value('xy.x')
    only(studio, 'matrix-new-target').set_value('noise_scale')
    studio.find(marker='matrix-add').click()
    engine = app.state.context.control.engine(session())
    assert [(route.source, route.target) for route in engine.user_routes] == [('xy.x', 'noise_scale')]
    route_id = engine.user_routes[0].id
    studio.find(marker='xy-pad').trigger('mousedown', {'offsetX': PAD, 'offsetY': PAD / 2})
    assert await until(lambda: value('noise_scale') == 1.0), value('noise_scale')
    assert await until(lambda: only(studio, f'route-status-{route_id}').text == 'ok' and
                       only(studio, f'route-meter-{route_id}').value == 1.0), 'the meter shows the pad'
    studio.find(marker='xy-pad').trigger('mousedown', {'offsetX': PAD / 4, 'offsetY': 0})
    assert await until(lambda: value('noise_scale') == 0.25)
    studio.find(marker=f'route-delete-{route_id}').click()
    assert engine.user_routes == []
    assert await until(lambda: value('noise_scale') == 0.7), 'the pad lets go of the parameter'


async def test_tempo_latency_and_osc_readouts(studio: User) -> None:
    await studio.open('/')
    studio.find('Control').click()
    only(studio, 'tempo-source').set_value('internal')
    try:
        assert await until(lambda: 'BPM' in only(studio, 'tempo-readout').text)
        only(studio, 'latency-on').set_value(False)
        only(studio, 'latency-trim').set_value(50)
        engine = app.state.context.control.engine(session())
        assert engine.latency.lead_ms == 50.0
        assert await until(lambda: 'firing 50 ms early' in only(studio, 'latency-readout').text)
        assert await until(lambda: 'OSC' in only(studio, 'osc-readout').text and
                           'received' in only(studio, 'osc-readout').text)
        only(studio, 'tempo-quantize').set_value('bar')
        assert engine.quantize == 'bar'
    finally:
        only(studio, 'tempo-source').set_value('off')
    assert await until(lambda: not app.state.context.control.tempo.sync.enabled)
