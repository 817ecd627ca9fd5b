"""Audio features on synthetic signals: tempo of a kick track, centroid of a sine, silence, the ring buffer."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from audio.features import SAMPLE_RATE, Analyser, Features
from audio.ring import RingBuffer
from audio.signals import BeatPattern
from audio.tempo import estimate_tempo

TICK = SAMPLE_RATE // 30  # samples per 33 ms tick


def listen(signal: Callable[[int, int], np.ndarray], seconds: float) -> list[Features]:
    """Feed a mono signal to an analyser tick by tick, as the 30 Hz loop does."""
    analyser = Analyser()
    return [analyser.process(signal(start, start + TICK)) for start in range(0, int(seconds * SAMPLE_RATE), TICK)]


def kicks(bpm: float) -> Callable[[int, int], np.ndarray]:
    """A kick drum on every beat and nothing else."""
    period = 60.0 / bpm

    def signal(start: int, stop: int) -> np.ndarray:
        t = np.arange(start, stop) / SAMPLE_RATE
        since = t - np.floor(t / period) * period
        phase = 2 * np.pi * (45 * since + 105 * 0.03 * (1 - np.exp(-since / 0.03)))
        return (0.6 * np.sin(phase) * np.exp(-since / 0.1)).astype(np.float32)

    return signal


def sine(frequency: float, level: float = 0.5) -> Callable[[int, int], np.ndarray]:
    return lambda start, stop: (level * np.sin(2 * np.pi * frequency * np.arange(start, stop) / SAMPLE_RATE)).astype(
        np.float32)


def test_a_120_bpm_kick_track_gives_120_bpm_and_beats_on_the_kicks() -> None:
    heard = listen(kicks(120), seconds=10)
    last = heard[-1]
    assert last.bpm is not None and 118 <= last.bpm <= 122
    assert last.confidence > 0.5
    beat_times = [i * TICK / SAMPLE_RATE for i, features in enumerate(heard) if features.beat]
    assert 16 <= len(beat_times) <= 21, 'about one beat per kick (two a second)'
    late = [t for t in beat_times if t > 4]
    assert all(abs(t - round(t * 2) / 2) < 0.05 for t in late), f'beats land on the kicks: {late}'


@pytest.mark.parametrize('bpm', [90, 128, 150])
def test_other_tempos_of_the_generated_beat_are_found(bpm: float) -> None:
    pattern = BeatPattern(bpm)
    last = listen(lambda start, stop: pattern.read(start, stop).mean(axis=1), seconds=10)[-1]
    assert last.bpm is not None and abs(last.bpm - bpm) <= 2


def test_a_1_khz_sine_has_its_centroid_near_1_khz_and_is_not_flat() -> None:
    last = listen(sine(1000), seconds=1)[-1]
    assert 900 <= last.centroid_hz <= 1100
    assert last.flatness < 0.05
    assert last.mid > 0.5 > last.treble and last.bass < 0.5
    assert last.energy > 0.5


def test_a_higher_sine_is_brighter_and_noise_is_flat() -> None:
    assert 3600 <= listen(sine(4000), seconds=1)[-1].centroid_hz <= 4400
    rng = np.random.default_rng(0)
    noise = listen(lambda start, stop: (0.2 * rng.standard_normal(stop - start)).astype(np.float32), seconds=1)[-1]
    assert noise.flatness > 0.4 and noise.centroid_hz > 8000


def test_silence_gives_zero_energy_and_no_beats() -> None:
    heard = listen(lambda start, stop: np.zeros(stop - start, np.float32), seconds=6)
    assert all(f.energy == 0 and f.bass == 0 and f.onset == 0 and not f.beat for f in heard)
    assert heard[-1].bpm is None and heard[-1].confidence == 0 and heard[-1].beat_count == 0


def test_energy_adapts_to_the_level_but_keeps_a_floor() -> None:
    loud = listen(sine(440, level=0.8), seconds=1)[-1]
    quiet = listen(sine(440, level=0.05), seconds=1)[-1]
    assert loud.energy > 0.8 and quiet.energy > 0.8, 'a steady tone reads as full after adaptation'
    hum = listen(sine(440, level=0.002), seconds=1)[-1]
    assert hum.energy < 0.2, 'a very quiet hum stays low (the normalisation has a floor)'


def test_tempo_needs_a_few_seconds_of_onsets() -> None:
    envelope = np.zeros(200, np.float32)
    envelope[::50] = 1.0
    assert estimate_tempo(envelope, 100).bpm is None
    envelope = np.zeros(800, np.float32)
    envelope[::50] = 1.0
    assert estimate_tempo(envelope, 100).bpm == pytest.approx(120, abs=0.5)
    envelope[::25] = 1.0  # eighth notes: folded back into 80..160
    assert 80 <= (estimate_tempo(envelope, 100).bpm or 0) < 160


def test_the_ring_buffer_keeps_the_latest_samples_by_position() -> None:
    ring = RingBuffer(10)
    ring.write(np.arange(1, 8, dtype=np.float32))
    ring.write(np.arange(8, 14, dtype=np.float32))
    assert ring.latest(4).tolist() == [10, 11, 12, 13]
    assert ring.span(0, 5).tolist() == [0, 0, 0, 4, 5], 'dropped samples read as zero'
    ring.write(np.arange(14, 40, dtype=np.float32))
    assert ring.latest(10).tolist() == list(range(30, 40))
    assert ring.written == 39
