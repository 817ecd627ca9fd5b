"""A tick clock the test drives: the audio loop runs exactly one tick per `tick()`, at a time advanced by one period."""
from __future__ import annotations

import threading

DEADLINE = 60.0  # seconds a driven tick may take on a busy machine before the test fails


class DrivenClock:
    """Satisfies `audio.clock.TickClock`; time stands still between ticks, so every tick sees exact times."""

    def __init__(self, rate: float = 30.0, start: float = 1000.0) -> None:
        self.period = 1.0 / rate
        self.time = start
        self.ticks = 0  # ticks handed to the loop
        self.granted = 0  # ticks allowed and not yet taken
        self.idle = False  # the loop is back in `wait`: every tick handed out is done
        self.stopped = False  # the loop left (stop set, or it stopped by itself)
        self.condition = threading.Condition()

    def start(self) -> None:
        """Nothing to start: time moves only when the test ticks."""

    def now(self) -> float:
        with self.condition:
            return self.time

    def wait(self, stop: threading.Event) -> float | None:
        with self.condition:
            self.idle = True
            self.condition.notify_all()
            while not self.granted and not stop.is_set():
                self.condition.wait(0.02)  # `stop` is an Event of its own: look at it now and then
            self.idle = False
            if stop.is_set():
                self.stopped = True
                self.condition.notify_all()
                return None
            self.granted -= 1
            self.ticks += 1
            self.time += self.period
            return self.time

    def tick(self, count: int = 1) -> None:
        """Let the loop run `count` ticks, one after the other; returns when the last one is done."""
        for _ in range(count):
            self._tick_once()

    def _tick_once(self) -> None:
        with self.condition:
            target = self.ticks + 1
            self.granted += 1
            self.condition.notify_all()
            if not self.condition.wait_for(lambda: self.stopped or (self.ticks >= target and self.idle), DEADLINE):
                raise TimeoutError(f'the audio loop did not finish tick {target} within {DEADLINE} s')
            if self.ticks < target:
                raise RuntimeError(f'the audio loop stopped before tick {target}')

    def figures(self) -> dict[str, float | int | None]:
        return {'ticks': self.ticks, 'missed': 0, 'period_mean_ms': round(self.period * 1000, 3),
                'jitter_p99_ms': 0.0}
