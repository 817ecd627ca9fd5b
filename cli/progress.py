"""A one-line progress bar for the terminal: frames done, generation speed and time left."""
from __future__ import annotations

import sys
from typing import Any, TextIO

WIDTH = 30


class ProgressBar:
    """Redraws one line on a terminal; elsewhere (logs, pipes) prints a line every tenth of the way."""

    def __init__(self, total_frames: int, out: TextIO | None = None) -> None:
        self.total = max(1, total_frames)
        self.out = out or sys.stderr
        self.live = self.out.isatty()
        self.printed_tenths = -1
        self.line = ''

    def update(self, progress: dict[str, Any]) -> None:
        """Show a `progress` event: {chunk, total_chunks, frames, latency, fps}."""
        frames, fps = int(progress.get('frames', 0)), float(progress.get('fps') or 0.0)
        self.line = describe(frames, self.total, fps, int(progress['chunk']), int(progress['total_chunks']))
        if self.live:
            self.out.write('\r' + self.line)
            self.out.flush()
            return
        tenths = 10 * frames // self.total
        if tenths > self.printed_tenths:
            self.printed_tenths = tenths
            print(self.line, file=self.out, flush=True)

    def close(self) -> None:
        if self.live and self.line:
            self.out.write('\n')
            self.out.flush()


def describe(frames: int, total: int, fps: float, chunk: int, total_chunks: int) -> str:
    """`[#####-----] 24/48 frames  12.3 fps  ETA 0:02  (chunk 24/48)`."""
    done = min(WIDTH, WIDTH * frames // max(1, total))
    eta = (total - frames) / fps if fps > 0 else None
    left = f'{int(eta) // 60}:{int(eta) % 60:02d}' if eta is not None else '?'
    return (f'[{"#" * done}{"-" * (WIDTH - done)}] {frames}/{total} frames  {fps:.1f} fps  ETA {left}  '
            f'(chunk {chunk}/{total_chunks})')
