"""Playable signals at 48 kHz stereo: a generated beat pattern, and an audio file decoded ahead of playback."""
from __future__ import annotations

import threading
from collections import deque
from pathlib import Path
from typing import Protocol

import av
import numpy as np

from .features import SAMPLE_RATE

KEEP_SECONDS = 3.0  # decoded audio kept behind the play position (a lagging reader still finds it)
MAX_PACKETS_PER_CALL = 64  # decoding work per `prepare` call, so one tick never stalls on a long decode


class SignalError(ValueError):
    """A signal that cannot be played (not audio, unreadable...)."""


class Signal(Protocol):
    """Samples by absolute position: float32, shape (n, 2), full scale 1."""

    def read(self, start: int, stop: int) -> np.ndarray: ...

    def prepare(self, until: int) -> None: ...

    def close(self) -> None: ...


class BeatPattern:
    """A kick on every beat, a hi-hat on the off-beats and a sine bass line every other two bars, at `bpm`."""

    def __init__(self, bpm: float = 120.0, level: float = 0.5) -> None:
        self.bpm = bpm
        self.level = level
        self.period = 60.0 / bpm
        rng = np.random.default_rng(1)
        self.noise = np.diff(rng.standard_normal(SAMPLE_RATE + 1)).astype(np.float32) / 2  # high-passed noise

    def read(self, start: int, stop: int) -> np.ndarray:
        positions = np.arange(start, stop, dtype=np.int64)
        t = positions / SAMPLE_RATE
        beat = np.floor(t / self.period)
        since_beat = t - beat * self.period
        kick = _kick(since_beat)
        eighth = np.floor(t / (self.period / 2))
        since_eighth = t - eighth * self.period / 2
        hat = np.where(eighth % 2 == 1, np.exp(-since_eighth / 0.03), 0.0) * self.noise[positions % SAMPLE_RATE] * 0.5
        bass_on = (beat // 8) % 2 == 1
        bass = np.where(bass_on, 0.25 * np.sin(2 * np.pi * 55.0 * t) * np.exp(-since_beat / 0.4), 0.0)
        mono = (self.level * (kick + hat + bass)).astype(np.float32)
        return np.repeat(mono[:, None], 2, axis=1)

    def prepare(self, until: int) -> None:
        """Nothing to prepare: samples are computed when read."""

    def close(self) -> None:
        """Nothing to release."""


class FileSignal:
    """An audio file, decoded with PyAV a little ahead of playback and resampled to 48 kHz stereo; loops if asked."""

    def __init__(self, path: Path, loop: bool = True) -> None:
        self.path = path
        self.loop = loop
        self.lock = threading.Lock()
        self.blocks: deque[tuple[int, np.ndarray]] = deque()
        self.decoded = 0  # absolute position of the end of decoded audio
        self.ended = False
        self.duration: float | None = None
        self._open()
        self.prepare(SAMPLE_RATE // 2)
        if self.decoded == 0:
            self.close()
            raise SignalError(f'{path.name}: no audio could be decoded')

    def read(self, start: int, stop: int) -> np.ndarray:
        out = np.zeros((stop - start, 2), np.float32)
        with self.lock:
            for block_start, block in self.blocks:
                low, high = max(start, block_start), min(stop, block_start + len(block))
                if low < high:
                    out[low - start:high - start] = block[low - block_start:high - block_start]
        return out

    def prepare(self, until: int) -> None:
        """Decode until `until` samples are available (a bounded amount of work per call); drop what is long played."""
        packets = 0
        while self.decoded < until and not self.ended and packets < MAX_PACKETS_PER_CALL:
            packets += 1
            block = self._decode_next()
            if block is None:
                continue
            with self.lock:
                self.blocks.append((self.decoded, block))
                self.decoded += len(block)
        with self.lock:
            while self.blocks and self.blocks[0][0] + len(self.blocks[0][1]) < until - KEEP_SECONDS * SAMPLE_RATE:
                self.blocks.popleft()

    def close(self) -> None:
        self.container.close()

    def _open(self) -> None:
        try:
            self.container = av.open(str(self.path))
        except (av.FFmpegError, OSError) as error:
            raise SignalError(f'{self.path.name}: cannot open ({error})') from None
        if not self.container.streams.audio:
            self.container.close()
            raise SignalError(f'{self.path.name}: the file has no audio stream')
        stream = self.container.streams.audio[0]
        if stream.duration and stream.time_base:
            self.duration = float(stream.duration * stream.time_base)
        self.resampler = av.AudioResampler(format='flt', layout='stereo', rate=SAMPLE_RATE)
        self.frames = self.container.decode(stream)

    def _decode_next(self) -> np.ndarray | None:
        """The next decoded block, or None when a loop restarted or the end was reached."""
        try:
            frame = next(self.frames)
        except StopIteration:
            if not self.loop or self.decoded == 0:
                self.ended = True
                return None
            self.container.close()
            self._open()
            return None
        except av.FFmpegError:  # a damaged packet: skip it
            return None
        converted = [np.asarray(out.to_ndarray(), np.float32).reshape(-1, 2) for out in self.resampler.resample(frame)]
        return np.concatenate(converted) if converted else None


def _kick(since: np.ndarray) -> np.ndarray:
    """A kick drum: a sine falling from 150 Hz to 45 Hz with a fast decay, `since` seconds after it was struck."""
    sweep = 0.03
    phase = 2 * np.pi * (45.0 * since + (150.0 - 45.0) * sweep * (1 - np.exp(-since / sweep)))
    return np.sin(phase) * np.exp(-since / 0.1)
