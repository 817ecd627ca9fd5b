"""Small helpers for benchmark figures: percentiles, a session's CPU per frame and a plain table."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return float('nan')
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def table(rows: list[tuple[str, str, str]], title: str) -> str:
    """Rows of (figure, value, target) as an aligned text table."""
    header = ('figure', 'value', 'target')
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    lines = [title, '  '.join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
             '  '.join('-' * w for w in widths)]
    lines += ['  '.join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return '\n'.join(lines)


@dataclass(frozen=True)
class FrameCost:
    """The server's CPU between two metrics snapshots of one session: in all (seconds) and per frame (ms)."""

    cpu_seconds: float
    total_ms: float
    generate_ms: float
    encode_ms: float

    @property
    def rest_ms(self) -> float:
        """What is neither generating nor encoding: decoding input, RTP, the event loop."""
        return self.total_ms - self.generate_ms - self.encode_ms


def frame_cost(before: dict[str, Any], after: dict[str, Any]) -> FrameCost:
    """The cost between two snapshots, each {'session': the session's metrics, 'server': the server's}."""
    session_before, session_after = before['session'], after['session']
    server_before, server_after = before['server'], after['server']
    frames = max(1, session_after['frames_out'] - session_before['frames_out'])
    cpu = server_after['process_cpu_seconds'] - server_before['process_cpu_seconds']
    generate = session_after['generate_cpu_seconds'] - session_before['generate_cpu_seconds']
    encode_frames = max(1, server_after['encode_frames'] - server_before['encode_frames'])
    encode = (server_after['encode_cpu_seconds'] - server_before['encode_cpu_seconds']) / encode_frames
    return FrameCost(cpu, 1000 * cpu / frames, 1000 * generate / frames, 1000 * encode)
