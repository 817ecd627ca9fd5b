"""Tempo from an onset envelope (autocorrelation with a tempo prior), and causal beats that follow it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_BPM, MAX_BPM = 40.0, 240.0  # lags searched
FOLD_LOW, FOLD_HIGH = 80.0, 160.0  # the reported tempo is folded into [80, 160) BPM
PRIOR_BPM, PRIOR_OCTAVES = 120.0, 1.0  # a log-normal preference, as librosa's tempo estimator has
MIN_SECONDS = 3.0  # envelope needed before a tempo is guessed


@dataclass(slots=True)
class Tempo:
    """An estimated tempo and how periodic the onsets are (0 to 1)."""

    bpm: float | None = None
    confidence: float = 0.0


def estimate_tempo(envelope: np.ndarray, frame_rate: float) -> Tempo:
    """The tempo of an onset envelope: the autocorrelation peak weighted by a prior, refined below one frame."""
    if len(envelope) < MIN_SECONDS * frame_rate:
        return Tempo()
    x = envelope.astype(np.float64) - float(envelope.mean())
    n = len(x)
    spectrum = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spectrum.real ** 2 + spectrum.imag ** 2)[:n]
    if ac[0] <= 1e-12:
        return Tempo()
    ac = ac / ac[0] * n / np.maximum(n - np.arange(n), 1)  # unbiased: long lags are not penalised for overlap
    low, high = int(60 * frame_rate / MAX_BPM), min(n - 2, int(np.ceil(60 * frame_rate / MIN_BPM)))
    lags = np.arange(max(low, 2), high + 1)
    prior = np.exp(-0.5 * (np.log2(60 * frame_rate / lags / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    best = int(lags[np.argmax(ac[lags] * prior)])
    left, centre, right = ac[best - 1], ac[best], ac[best + 1]
    curvature = left - 2 * centre + right
    offset = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
    bpm = 60 * frame_rate / (best + float(np.clip(offset, -0.5, 0.5)))
    while bpm < FOLD_LOW:
        bpm *= 2
    while bpm >= FOLD_HIGH:
        bpm /= 2
    return Tempo(round(bpm, 2), float(np.clip(centre, 0.0, 1.0)))


class BeatDetector:
    """Beats where the onset envelope rises past an adaptive threshold, near the expected beat once a tempo is known."""

    def __init__(self, frame_rate: float, *, floor: float, memory_seconds: float = 2.0) -> None:
        self.frame_rate = frame_rate
        self.floor = floor
        self.memory = int(memory_seconds * frame_rate)
        self.last_beat: float | None = None  # in envelope frames
        self.count = 0

    def detect(self, envelope: np.ndarray, frame: int, tempo: Tempo) -> bool:
        """Whether envelope frame `frame` (the envelope's last) starts a beat: rising and above the threshold."""
        if len(envelope) < 2:
            return False
        value, before = envelope[-1], envelope[-2]
        if value <= before:
            return False
        recent = envelope[-self.memory:]
        mean = float(recent.mean())
        threshold = max(self.floor, 2.0 * mean, mean + 2.0 * float(recent.std()))
        if value < threshold:
            return False
        since = None if self.last_beat is None else (frame - self.last_beat) / self.frame_rate
        if since is not None:
            if tempo.bpm and tempo.confidence > 0.3:
                period = 60.0 / tempo.bpm
                phase = since / period
                near = abs(phase - round(phase)) < 0.25 and round(phase) >= 1
                if not near and since < 1.5 * period:
                    return False
            elif since < 0.2:
                return False
        self.last_beat = frame
        self.count += 1
        return True
