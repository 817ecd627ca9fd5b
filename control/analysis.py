"""Song analysis with librosa, once per audio file: beat grid, downbeats, onset envelope and sections, so the
playback of a file knows its beats ahead of time (live inputs keep the real-time analysis of the audio engine)."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
import numpy as np

from audio.tempo import estimate_tempo

log = logging.getLogger(__name__)
SAMPLE_RATE = 22_050
HOP = 512  # analysis hop: 23.2 ms
BEATS_PER_BAR = 4
VERSION = 1


@dataclass(slots=True)
class SongAnalysis:
    """What librosa found in one file; times in seconds from its start."""

    duration: float
    bpm: float
    beats: list[float]
    downbeats: list[float]
    downbeat_phase: int  # index of the first downbeat among the beats
    onset_rate: float  # frames a second of `onset_envelope`
    onset_envelope: list[float]  # 0..1
    sections: list[dict[str, float]] = field(default_factory=list)  # {'start', 'end'}
    hop_seconds: float = HOP / SAMPLE_RATE
    version: int = VERSION

    def to_dict(self, envelope: bool = True) -> dict[str, object]:
        data = asdict(self)
        if not envelope:
            data.pop('onset_envelope')
        return data


def decode_mono(path: Path, rate: int = SAMPLE_RATE, limit_seconds: float = 1200.0) -> np.ndarray:
    """A file's audio as mono float32 at `rate` (PyAV: every format FFmpeg reads), at most `limit_seconds`."""
    blocks: list[np.ndarray] = []
    total = 0
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise ValueError(f'{path.name}: no audio stream')
        resampler = av.AudioResampler(format='flt', layout='mono', rate=rate)
        for frame in container.decode(container.streams.audio[0]):
            for out in resampler.resample(frame):
                block = np.asarray(out.to_ndarray(), np.float32).reshape(-1)
                blocks.append(block)
                total += len(block)
            if total > limit_seconds * rate:
                break
    if not blocks:
        raise ValueError(f'{path.name}: no audio could be decoded')
    return np.concatenate(blocks)


def analyse(samples: np.ndarray, rate: int = SAMPLE_RATE) -> SongAnalysis:
    """Beat grid (librosa's dynamic-programming tracker), downbeats, onset envelope and sections of a signal."""
    import librosa  # imported on first use: it takes a second and compiles with numba

    duration = len(samples) / rate
    envelope = librosa.onset.onset_strength(y=samples, sr=rate, hop_length=HOP)
    guess = estimate_tempo(envelope, rate / HOP)  # below one frame of lag, where librosa's estimate is coarse
    _, frames = librosa.beat.beat_track(onset_envelope=envelope, sr=rate, hop_length=HOP, units='frames',
                                        bpm=guess.bpm or 120.0)
    beats = refine_beats(samples, rate, librosa.frames_to_time(frames, sr=rate, hop_length=HOP)).tolist()
    phase = downbeat_phase(envelope, frames)
    peak = float(envelope.max()) or 1.0
    bpm = 60.0 / float(np.median(np.diff(beats))) if len(beats) > 1 else guess.bpm or 0.0
    return SongAnalysis(duration=round(duration, 4), bpm=round(bpm, 3),
                        beats=[round(b, 4) for b in beats],
                        downbeats=[round(b, 4) for b in beats[phase::BEATS_PER_BAR]],
                        downbeat_phase=phase, onset_rate=rate / HOP,
                        onset_envelope=[round(float(v) / peak, 3) for v in envelope],
                        sections=sections(samples, rate, frames, duration))


def refine_beats(samples: np.ndarray, rate: int, beats: np.ndarray) -> np.ndarray:
    """Each tracked beat moved onto the attack it stands for: where the 2 ms energy envelope first reaches half its
    peak within two hops before to one hop after it (the tracker's frames are 23 ms apart and lag the attack)."""
    width = max(1, int(0.002 * rate))
    energy = np.convolve(np.abs(samples), np.ones(width, np.float32) / width, mode='same')
    refined = []
    for beat in beats:
        low, high = max(0, int(beat * rate) - 2 * HOP), min(len(energy), int(beat * rate) + HOP)
        window = energy[low:high]
        if len(window) == 0 or window.max() <= 0:
            refined.append(float(beat))
            continue
        refined.append((low + int(np.argmax(window >= 0.5 * window.max()))) / rate)
    return np.asarray(refined)


def downbeat_phase(envelope: np.ndarray, frames: np.ndarray) -> int:
    """Which of the first four beats starts the bars: the one whose every fourth beat is the strongest."""
    if len(frames) < 2 * BEATS_PER_BAR:
        return 0
    strength = envelope[np.clip(frames, 0, len(envelope) - 1)]
    return int(np.argmax([strength[p::BEATS_PER_BAR].mean() for p in range(BEATS_PER_BAR)]))


def sections(samples: np.ndarray, rate: int, beat_frames: np.ndarray, duration: float) -> list[dict[str, float]]:
    """Parts of the song (agglomerative clustering of beat-synchronous timbre and harmony), at least one."""
    import librosa

    count = int(np.clip(duration // 20, 1, 8))
    if count < 2 or len(beat_frames) < 4 * count:
        return [{'start': 0.0, 'end': round(duration, 3)}]
    mfcc = librosa.feature.mfcc(y=samples, sr=rate, hop_length=HOP, n_mfcc=13)
    chroma = librosa.feature.chroma_stft(y=samples, sr=rate, hop_length=HOP)
    features = librosa.util.sync(np.vstack([librosa.util.normalize(mfcc, axis=1), chroma]), list(beat_frames))
    bounds = librosa.segment.agglomerative(features, count)
    starts = librosa.frames_to_time(librosa.util.fix_frames(beat_frames, x_min=0)[bounds], sr=rate, hop_length=HOP)
    edges = sorted({round(float(t), 3) for t in starts} | {0.0})
    return [{'start': start, 'end': end} for start, end in zip(edges, [*edges[1:], round(duration, 3)], strict=True)
            if end > start]


class AnalysisStore:
    """Analyses kept as JSON beside the assets (`.analysis/`), keyed by path, size and modification time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, path: Path) -> SongAnalysis | None:
        cached = self._file(path)
        if not cached.is_file():
            return None
        try:
            data = json.loads(cached.read_text())
            data.pop('key', None)
            analysis = SongAnalysis(**data)
        except (OSError, ValueError, TypeError):
            return None
        return analysis if analysis.version == VERSION else None

    def analyse(self, path: Path) -> SongAnalysis:
        """Analyse a file (blocking: seconds for a song) and keep the result."""
        analysis = self.get(path)
        if analysis is not None:
            return analysis
        analysis = analyse(decode_mono(path))
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self._file(path)
        temporary = target.with_suffix('.part')
        temporary.write_text(json.dumps(analysis.to_dict()))
        temporary.replace(target)
        log.info('analysed %s: %.1f BPM, %d beats, %d sections', path.name, analysis.bpm, len(analysis.beats),
                 len(analysis.sections))
        return analysis

    def _file(self, path: Path) -> Path:
        stat = path.stat() if path.exists() else None
        key = f'{path.resolve()}:{stat.st_size if stat else 0}:{stat.st_mtime_ns if stat else 0}'
        return self.folder / f'{hashlib.sha256(key.encode()).hexdigest()[:24]}.json'
