"""Frames of multi-frame chunks reach viewers one period apart, with a clock the test drives."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.pacer import FramePacer


def test_the_pacer_spreads_a_chunk_over_its_duration_and_chains_chunks() -> None:
    """With a clock the test drives: frames one period apart, the next chunk one period after the last frame."""
    now = [100.0]
    published: list[tuple[float, int]] = []

    def wait(seconds: float) -> bool:
        now[0] += seconds
        return False

    pacer = FramePacer(lambda frame, version, values: published.append((now[0], int(frame[0, 0, 0]))), 0.25,
                       clock=lambda: now[0])
    frames = [np.full((1, 1, 3), i, dtype=np.uint8) for i in range(4)]
    assert pacer.put(frames, 1, {})
    for _ in range(4):
        assert pacer.publish_next(wait)
    now[0] += 0.1  # the next chunk arrives while the last frame is still on screen
    assert pacer.put(frames[:2], 2, {})
    for _ in range(2):
        assert pacer.publish_next(wait)
    times = [t for t, _ in published]
    assert times == pytest.approx([100.0, 100.25, 100.5, 100.75, 101.0, 101.25])
    assert [i for _, i in published] == [0, 1, 2, 3, 0, 1]
    now[0] += 5.0  # a slow chunk: it starts at once
    pacer.put(frames[:1], 3, {})
    pacer.publish_next(wait)
    assert published[-1][0] == pytest.approx(106.25)
    pacer.stop()
    assert not pacer.put(frames, 4, {})
