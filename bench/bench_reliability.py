"""Reliability benchmark: memory under WebRTC churn, half-open offers, idle named sessions and a long control soak.

- churn: clients connect, receive 3 frames and disconnect; RSS, threads and open files every 25 cycles;
- halfopen: 8 offers without ICE candidates that are never followed by any: how long until their sessions go;
- idle: server CPU while 8 named sessions exist and nobody watches them;
- soak: one client sends a counter at 30 Hz on the data channel; frames delivered and updates lost.

Run: `scripts/bench reliability` (all parts, ~15 min) or e.g. `scripts/bench reliability --only churn --cycles 100`.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import time

import httpx

from tests.scope_client import ScopeClient, visit
from tests.server import RunningServer

from .figures import percentile, table

PARTS = ('churn', 'halfopen', 'idle', 'soak')
HALF_OPEN_OFFERS = 8
IDLE_SESSIONS = 8
SOAK_RATE = 30  # updates per second, the audio loop's rate


async def churn(server: RunningServer, cycles: int) -> list[tuple[str, str, str]]:
    """Connect / 3 frames / disconnect `cycles` times; RSS, threads and open files every 25 cycles."""
    rss = {0: server.rss_mb()}
    print(f'{"cycles":>6} {"RSS MB":>7} {"threads":>7} {"files":>5} {"seconds":>7}')
    print(f'{0:>6} {rss[0]:>7.0f} {server.threads():>7} {server.open_files():>5} {0:>7}', flush=True)
    begun = time.monotonic()
    for cycle in range(1, cycles + 1):
        await visit(server.url)
        if cycle % 25 == 0 or cycle == cycles:
            rss[cycle] = server.rss_mb()
            print(f'{cycle:>6} {rss[cycle]:>7.0f} {server.threads():>7} {server.open_files():>5} '
                  f'{time.monotonic() - begun:>7.0f}', flush=True)
    marks = sorted({n for n in (0, 50, 100, 200, 300) if n <= cycles} | {cycles})
    rows = [(f'RSS after {n} cycles (MB)', f'{rss[n]:.0f}', '') for n in marks]
    if cycles > 50:
        rows.append((f'RSS growth from cycle 50 to {cycles} (MB)', f'{rss[cycles] - rss[50]:+.0f}', '< 30 at 300'))
    rows.append(('connect/disconnect cycles per second', f'{cycles / (time.monotonic() - begun):.1f}', ''))
    return rows


async def half_open(server: RunningServer, deadline: float) -> list[tuple[str, str, str]]:
    """8 offers whose SDP has no candidates and that never send any: seconds until each session is freed."""
    sent: dict[str, float] = {}
    for _ in range(HALF_OPEN_OFFERS):
        client = ScopeClient(server.url)
        try:
            await client.connect(trickle='never')
            assert client.session_id
            sent[client.session_id] = time.monotonic()
        finally:
            await client.close()  # the client is gone; the server was never told
    newcomer = await try_offer(server)
    freed: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        while len(freed) < len(sent) and time.monotonic() - min(sent.values()) < deadline:
            running = (await http.get('/api/v1/session/metrics')).json()['sessions']
            now = time.monotonic()
            freed.update({id_: now - at for id_, at in sent.items() if id_ not in running and id_ not in freed})
            await asyncio.sleep(0.25)
        for session_id in set(sent) - set(freed):  # end them, so the other parts start from a clean server
            await http.delete(f'/api/v1/webrtc/offer/{session_id}')
    times = sorted(freed.values())
    missing = f' (the others not freed within {deadline:.0f} s)' if len(freed) < len(sent) else ''
    rows = [('half-open sessions freed', f'{len(freed)} of {len(sent)}{missing}', 'all')]
    if times:
        rows += [('seconds until freed, median', f'{percentile(times, 50):.1f}', '~20 (connect timeout)'),
                 ('seconds until freed, max', f'{times[-1]:.1f}', '')]
    rows.append(('a new offer while they are open', newcomer, '200'))
    return rows


async def try_offer(server: RunningServer) -> str:
    """The HTTP status a real client's offer gets now (its session is closed again at once)."""
    client = ScopeClient(server.url, keep_images=False)
    try:
        await client.connect()
        return '200'
    except httpx.HTTPStatusError as error:
        return str(error.response.status_code)
    finally:
        await client.close()


async def idle_sessions(server: RunningServer, settle: float, window: float) -> list[tuple[str, str, str]]:
    """Server CPU with no session, then with 8 named sessions nobody watches (after `settle` seconds)."""
    await asyncio.sleep(2)
    empty = await cpu_cores(server, window)
    created: list[str] = []
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        try:
            for index in range(IDLE_SESSIONS):
                response = await http.post('/api/v1/sessions', json={'name': f'idle-{index}'})
                response.raise_for_status()
                created.append(response.json()['id'])
            fresh = await cpu_cores(server, min(window, settle))
            await asyncio.sleep(max(0.0, settle - window))
            idle = await cpu_cores(server, window)
        finally:
            for session_id in created:
                await http.delete(f'/api/v1/sessions/{session_id}')
    return [('server CPU, no session (cores)', f'{empty:.3f}', ''),
            (f'{len(created)} named sessions, first {min(window, settle):.0f} s (cores)', f'{fresh:.3f}', ''),
            (f'{len(created)} named sessions, idle {settle:.0f} s on (cores)', f'{idle:.3f}', '< 0.05')]


async def cpu_cores(server: RunningServer, seconds: float) -> float:
    """The server's CPU use over `seconds`, in cores."""
    before, begun = server.cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    return (server.cpu_seconds() - before) / (time.monotonic() - begun)


async def soak(server: RunningServer, seconds: float) -> list[tuple[str, str, str]]:
    """One client sends a counter (`stamp`) at 30 Hz for `seconds`; the server's parameters must end on the last."""
    client = ScopeClient(server.url, keep_images=False)
    try:
        await client.connect()
        await asyncio.wait_for(client.channel_open.wait(), 15)
        await client.wait_frames(1)
        frames_before, begun = len(client.frames), time.monotonic()
        sent = 0
        while time.monotonic() - begun < seconds:
            sent += 1
            client.send({'stamp': sent})
            await asyncio.sleep(max(0.0, begun + sent / SOAK_RATE - time.monotonic()))
        elapsed = time.monotonic() - begun
        frames = len(client.frames) - frames_before
        arrived = await last_stamp(client, sent, timeout=10)
        seen = [m['parameters']['stamp'] for m in client.messages
                if m.get('type') == 'parameters_updated' and 'stamp' in m.get('parameters', {})]
        backwards = sum(b < a for a, b in itertools.pairwise(seen))
        errors = [m for m in client.messages if m.get('type') == 'error']
        gaps = [b - a for (a, _), (b, _) in itertools.pairwise(client.frames[frames_before:])]
    finally:
        await client.close()
    return [('frames delivered', f'{frames} ({frames / elapsed:.1f} fps)', '~30 fps'),
            ('longest gap between frames (s)', f'{max(gaps, default=float("nan")):.2f}', ''),
            ('updates sent', str(sent), ''),
            ('updates lost (last sent - last the server holds)', str(sent - arrived), '0'),
            ('parameters_updated going backwards', str(backwards), '0'),
            ('error replies', str(len(errors)), '0')]


async def last_stamp(client: ScopeClient, expected: int, timeout: float) -> int:
    """The newest `stamp` the server holds for the client's session, once it is `expected` (or at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        body = (await client.http.get('/api/v1/session/metrics')).json()
        stamp = int(body['sessions'].get(client.session_id, {}).get('parameters', {}).get('stamp') or 0)
        if stamp >= expected or time.monotonic() > deadline:
            return stamp
        await asyncio.sleep(0.2)


async def main(options: argparse.Namespace) -> None:
    parts = [options.only] if options.only else list(PARTS)
    server = RunningServer()
    try:
        server.wait_ready()
        for part in parts:
            rows: list[tuple[str, str, str]]
            if part == 'churn':
                rows = await churn(server, options.cycles)
                title = f'WebRTC churn: {options.cycles} x (connect, 3 frames, disconnect), 512x512 VP8'
            elif part == 'halfopen':
                rows = await half_open(server, options.halfopen_deadline)
                title = f'{HALF_OPEN_OFFERS} half-open offers (no candidates, no ICE ever)'
            elif part == 'idle':
                rows = await idle_sessions(server, options.idle_settle, options.idle_window)
                title = f'{IDLE_SESSIONS} idle named sessions (POST /api/v1/sessions, nobody watching)'
            else:
                rows = await soak(server, options.soak_seconds)
                title = f'Soak: one data-channel client at {SOAK_RATE} Hz for {options.soak_seconds:.0f} s'
            print(table(rows, title), end='\n\n', flush=True)
    finally:
        server.stop()
    print('RSS, threads, open files and CPU are the server process (/proc); the clients run in this process.')


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--only', choices=PARTS, help='run one part only')
    parser.add_argument('--cycles', type=int, default=300, help='churn: connect/disconnect cycles (default 300)')
    parser.add_argument('--halfopen-deadline', type=float, default=60,
                        help='halfopen: seconds to wait for the sessions to be freed (default 60)')
    parser.add_argument('--idle-settle', type=float, default=30,
                        help='idle: seconds after creating the sessions before measuring (default 30)')
    parser.add_argument('--idle-window', type=float, default=10, help='idle: measuring window in seconds (default 10)')
    parser.add_argument('--soak-seconds', type=float, default=600, help='soak: duration in seconds (default 600)')
    asyncio.run(main(parser.parse_args()))
