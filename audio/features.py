"""Audio features per tick from a ring buffer: energy, bands, centroid in Hz, flatness, onsets, tempo and beats."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .ring import RingBuffer
from .tempo import BeatDetector, Tempo, estimate_tempo

SAMPLE_RATE = 48_000
WINDOW = 2048  # samples per tick spectrum (43 ms)
ONSET_FFT = 1024  # samples per onset-envelope frame
ONSET_RATE = 100  # onset-envelope frames per second (hop 480 samples)
HISTORY_SECONDS = 8.0  # onset envelope kept for tempo
TEMPO_INTERVAL = 1.0  # seconds of audio between tempo estimates
SILENCE_RMS = 1e-4  # below -80 dBFS everything reads zero
BANDS = {'bass': (20.0, 250.0), 'mid': (250.0, 4000.0), 'treble': (4000.0, 16000.0)}
FEATURE_NAMES = ('energy', 'bass', 'mid', 'treble', 'centroid_hz', 'flatness', 'onset', 'beat', 'bpm', 'confidence')


@dataclass(slots=True)
class Features:
    """What one tick heard. Levels are 0..1 after adaptive normalisation; `rms` is raw (full scale 1)."""

    energy: float = 0.0
    rms: float = 0.0
    bass: float = 0.0
    mid: float = 0.0
    treble: float = 0.0
    centroid_hz: float = 0.0
    flatness: float = 0.0
    onset: float = 0.0
    bpm: float | None = None
    confidence: float = 0.0
    beat: bool = False
    beat_count: int = 0
    seconds: float = 0.0  # audio analysed so far

    def value(self, name: str) -> float:
        """A feature as a number (a beat is 1 on its tick, an unknown tempo 0)."""
        value = getattr(self, name)
        return 0.0 if value is None else float(value)

    def to_dict(self) -> dict[str, float | bool | int | None]:
        return {key: round(value, 4) if isinstance(value, float) else value for key, value in asdict(self).items()}


class PeakHold:
    """Adaptive normalisation (an AGC): a ceiling that jumps to new peaks and decays slowly, never below a floor."""

    def __init__(self, floor: float, half_life: float = 3.0, headroom: float = 1.12) -> None:
        self.floor, self.half_life, self.headroom = floor, half_life, headroom
        self.ceiling = floor

    def __call__(self, value: float, dt: float) -> float:
        if value * self.headroom > self.ceiling:
            self.ceiling = value * self.headroom
        else:
            self.ceiling = max(self.floor, self.ceiling * 0.5 ** (dt / self.half_life))
        return min(1.0, value / self.ceiling)


class Analyser:
    """Turns blocks of mono samples (48 kHz float32) into `Features`, one call per tick."""

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        self.sample_rate = sample_rate
        self.ring = RingBuffer(max(WINDOW, ONSET_FFT) + sample_rate)
        self.window = np.hanning(WINDOW).astype(np.float32)
        self.onset_window = np.hanning(ONSET_FFT).astype(np.float32)
        self.freqs = np.fft.rfftfreq(WINDOW, 1 / sample_rate).astype(np.float32)
        self.band_slices = {name: _bin_range(self.freqs, low, high) for name, (low, high) in BANDS.items()}
        self.power_scale = 2.0 / (WINDOW * float(np.sum(self.window ** 2)))  # band power as mean square of the signal
        onset_freqs = np.fft.rfftfreq(ONSET_FFT, 1 / sample_rate)
        self.onset_bins = int(np.searchsorted(onset_freqs, 11_000.0))
        self.kick_bins = int(np.searchsorted(onset_freqs, 250.0))  # beats follow the low end (kicks, bass notes)
        self.hop = sample_rate // ONSET_RATE
        self.next_hop_end = ONSET_FFT
        self.previous_magnitude = np.zeros(self.onset_bins, np.float32)
        self.envelope = RingBuffer(int(HISTORY_SECONDS * ONSET_RATE))
        self.kick_envelope = RingBuffer(int(HISTORY_SECONDS * ONSET_RATE))
        self.envelope_frames = 0
        self.energy_agc = PeakHold(floor=0.02)
        self.band_agc = {name: PeakHold(floor=0.005) for name in BANDS}
        self.onset_agc = PeakHold(floor=0.02, half_life=4.0)
        self.beats = BeatDetector(ONSET_RATE, floor=0.02)
        self.tempo = Tempo()
        self.tempo_due = int(TEMPO_INTERVAL * ONSET_RATE)

    def process(self, samples: np.ndarray) -> Features:
        """Take the samples heard since the last tick and describe the latest moment."""
        self.ring.write(samples)
        dt = max(len(samples), 1) / self.sample_rate
        flux, beat = self._onsets()
        block = self.ring.latest(WINDOW)
        rms = float(np.sqrt(np.mean(block * block)))
        features = Features(rms=rms, bpm=self.tempo.bpm, confidence=self.tempo.confidence, beat=beat,
                            beat_count=self.beats.count, seconds=self.ring.written / self.sample_rate)
        if rms < SILENCE_RMS:
            for agc in (self.energy_agc, *self.band_agc.values()):
                agc(0.0, dt)
            features.onset = self.onset_agc(flux, dt)
            return features
        spectrum = np.fft.rfft(block * self.window)
        power = spectrum.real ** 2 + spectrum.imag ** 2
        magnitude = np.sqrt(power)
        features.energy = self.energy_agc(rms, dt)
        for name, (low, high) in self.band_slices.items():
            level = float(np.sqrt(np.sum(power[low:high]) * self.power_scale))
            setattr(features, name, self.band_agc[name](level, dt))
        total = float(magnitude[1:].sum())
        features.centroid_hz = float(np.dot(self.freqs[1:], magnitude[1:]) / total) if total > 0 else 0.0
        audible = power[1:] + 1e-12
        features.flatness = float(np.exp(np.mean(np.log(audible))) / np.mean(audible))
        features.onset = self.onset_agc(flux, dt)
        return features

    def _onsets(self) -> tuple[float, bool]:
        """Extend the onset envelope by every whole hop now in the ring; the strongest flux and whether a beat fell."""
        if self.ring.written < self.next_hop_end:
            return 0.0, False
        ends = np.arange(self.next_hop_end, self.ring.written + 1, self.hop)
        self.next_hop_end = int(ends[-1]) + self.hop
        first = int(ends[0]) - ONSET_FFT
        span = self.ring.span(first, int(ends[-1]))
        offsets = ends - ONSET_FFT - first
        frames = span[offsets[:, None] + np.arange(ONSET_FFT)] * self.onset_window
        magnitude = np.log1p(10.0 * np.abs(np.fft.rfft(frames, axis=1)[:, :self.onset_bins])).astype(np.float32)
        strongest, beat = 0.0, False
        for row in magnitude:
            rise = np.maximum(row - self.previous_magnitude, 0.0)
            self.previous_magnitude = row
            flux = float(np.mean(rise))
            self.envelope.write(np.array([flux], np.float32))
            self.kick_envelope.write(np.array([np.mean(rise[1:self.kick_bins])], np.float32))
            self.envelope_frames += 1
            strongest = max(strongest, flux)
            kept = min(self.envelope_frames, self.envelope.capacity)
            beat = self.beats.detect(self.kick_envelope.latest(kept), self.envelope_frames - 1, self.tempo) or beat
            if self.envelope_frames >= self.tempo_due:
                self.tempo = estimate_tempo(self.envelope.latest(kept), ONSET_RATE)
                self.tempo_due = self.envelope_frames + int(TEMPO_INTERVAL * ONSET_RATE)
        return strongest, beat


def _bin_range(freqs: np.ndarray, low: float, high: float) -> tuple[int, int]:
    return int(np.searchsorted(freqs, low)), int(np.searchsorted(freqs, high))
