"""Server figures: they can be read from a worker thread while the event loop keeps recording."""
from __future__ import annotations

import threading
import time

from rtc.stats import LoopLag


def test_loop_lag_figures_can_be_read_while_the_loop_records() -> None:
    """`/api/v1/session/metrics` runs in the thread pool and reads the lag samples the loop appends to."""
    lag = LoopLag()
    for _ in range(5000):
        lag.samples.append((time.perf_counter(), 0.001))
    stop = threading.Event()

    def record() -> None:
        while not stop.is_set():
            lag.samples.append((time.perf_counter(), 0.002))

    recorder = threading.Thread(target=record, daemon=True)
    recorder.start()
    try:
        for _ in range(300):
            assert lag.summary()['max_ms'] >= 1.0
    finally:
        stop.set()
        recorder.join()
