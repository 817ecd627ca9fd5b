"""Audio sources: what to listen to (an asset, a test signal, the browser microphone, a local input device)."""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

import av
import numpy as np
from pydantic import BaseModel, Field

from .features import SAMPLE_RATE
from .playback import Playback, PlaybackSource
from .signals import BeatPattern, FileSignal, SignalError

SourceKind = Literal['file', 'test', 'microphone', 'device']
MAX_QUEUED = 2 * SAMPLE_RATE  # live samples kept when the loop falls behind
DEVICE_HINT = ('a device source needs the optional sounddevice package and PortAudio: '
               'pip install sounddevice (and apt install libportaudio2)')


class SourceError(ValueError):
    """A source that cannot be used; `status` is the HTTP status that says why (400 bad, 404 missing)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class SourceSpec(BaseModel):
    """Where the sound comes from."""

    kind: SourceKind = Field(description='file: an audio asset; test: a generated beat; microphone: the audio '
                                         'track a WebRTC peer sends; device: a sound card on the server')
    path: str | None = Field(default=None, description='file: path of an audio asset, relative to the assets folder')
    loop: bool = Field(default=True, description='file: start again at the end')
    bpm: float = Field(default=120.0, ge=40, le=240, description='test: tempo of the generated beat')
    device: str | int | None = Field(default=None, description='device: name or index (None: the default input)')
    lookahead_ms: float = Field(default=0.0, ge=0, le=500, description='file/test: analyse this far ahead of what '
                                                                        'is heard (to offset the video latency)')


class AudioSource(Protocol):
    """Gives the loop the mono 48 kHz samples heard since its last pull."""

    kind: str
    description: str
    playback: Playback | None  # what peers should hear (file and test sources), or None

    def start(self, clock: Callable[[], float]) -> None:
        """Begin hearing; `clock` reads the audio loop's time, which `pull` is called with."""

    def pull(self, now: float) -> np.ndarray: ...

    def stop(self) -> None: ...

    def details(self) -> dict[str, Any]: ...


def open_source(spec: SourceSpec, session: Any, assets_dir: Path) -> AudioSource:
    """The source a spec asks for (blocking: a file is opened and its first half second decoded)."""
    if spec.kind == 'file':
        path = asset_path(assets_dir, spec.path)
        try:
            signal = FileSignal(path, loop=spec.loop)
        except SignalError as error:
            raise SourceError(str(error)) from None
        name = path.relative_to(assets_dir.resolve()).as_posix()
        return PlaybackSource('file', name, signal, spec.lookahead_ms / 1e3)
    if spec.kind == 'test':
        return PlaybackSource('test', f'test beat at {spec.bpm:g} BPM', BeatPattern(spec.bpm), spec.lookahead_ms / 1e3)
    if spec.kind == 'microphone':
        return MicrophoneSource(session)
    return DeviceSource(spec.device)


def asset_path(assets_dir: Path, name: str | None) -> Path:
    """An existing file inside the assets folder (relative, or absolute as the assets list gives it)."""
    if not name:
        raise SourceError('a file source needs the path of an audio asset')
    root = assets_dir.resolve()
    candidate = Path(name)
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if resolved == root or not resolved.is_relative_to(root):
        raise SourceError(f'{name!r} is not inside the assets folder')
    if not resolved.is_file():
        raise SourceError(f'no audio asset {name!r}', status=404)
    return resolved


def device_status() -> dict[str, Any]:
    """Whether input devices can be opened here (sounddevice and PortAudio installed), and their names."""
    try:
        import sounddevice
    except (ImportError, OSError) as error:
        return {'available': False, 'reason': f'{DEVICE_HINT} ({error})'}
    try:
        devices = [f"{index}: {info['name']}" for index, info in enumerate(sounddevice.query_devices())
                   if info.get('max_input_channels', 0) > 0]
    except Exception as error:  # PortAudio errors have no common base class worth naming
        return {'available': False, 'reason': f'cannot list input devices: {error}'}
    return {'available': True, 'devices': devices}


class LiveInput:
    """Samples pushed by another thread (a WebRTC track, a sound card), drained by the loop once per tick."""

    kind = 'live'
    description = 'live input'
    playback: Playback | None = None

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queue: deque[np.ndarray] = deque()
        self.queued = 0
        self.received = 0
        self.last_received: float | None = None

    def push(self, samples: np.ndarray) -> None:
        with self.lock:
            self.queue.append(samples)
            self.queued += len(samples)
            self.received += len(samples)
            self.last_received = time.monotonic()
            while self.queued > MAX_QUEUED and len(self.queue) > 1:
                self.queued -= len(self.queue.popleft())

    def pull(self, now: float) -> np.ndarray:
        with self.lock:
            blocks, self.queue, self.queued = list(self.queue), deque(), 0
        return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)

    def start(self, clock: Callable[[], float]) -> None:
        """Nothing to start: samples arrive when they arrive."""

    def stop(self) -> None:
        """Nothing to stop."""

    def details(self) -> dict[str, Any]:
        age = None if self.last_received is None else round(time.monotonic() - self.last_received, 3)
        return {'received_seconds': round(self.received / SAMPLE_RATE, 3), 'last_received_ago': age}


class MicrophoneSource(LiveInput):
    """The audio a WebRTC peer of the session sends (a browser microphone), through the session's audio listeners."""

    kind = 'microphone'
    description = 'microphone (WebRTC audio track)'

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        self.resampler: av.AudioResampler | None = None

    def start(self, clock: Callable[[], float]) -> None:
        self.session.audio_listeners.append(self.receive)

    def stop(self) -> None:
        if self.receive in self.session.audio_listeners:
            self.session.audio_listeners.remove(self.receive)

    def receive(self, frame: av.AudioFrame) -> None:
        """Take one decoded frame (called on the event loop): resampled to 48 kHz mono float and queued."""
        if self.resampler is None:
            self.resampler = av.AudioResampler(format='flt', layout='mono', rate=SAMPLE_RATE)
        for out in self.resampler.resample(frame):
            self.push(np.asarray(out.to_ndarray(), np.float32).reshape(-1))


class DeviceSource(LiveInput):
    """A sound card input on the server, through the optional `sounddevice` package."""

    kind = 'device'

    def __init__(self, device: str | int | None) -> None:
        super().__init__()
        try:
            import sounddevice
        except (ImportError, OSError) as error:
            raise SourceError(f'{DEVICE_HINT} ({error})') from None
        self.sounddevice = sounddevice
        self.device = device
        self.description = f'input device {device if device is not None else "(default)"}'
        try:
            self.stream = sounddevice.InputStream(device=device, channels=1, samplerate=SAMPLE_RATE, dtype='float32',
                                                  blocksize=480, callback=self._callback)
        except Exception as error:  # PortAudio errors have no common base class worth naming
            raise SourceError(f'cannot open input device {device!r}: {error}') from None

    def start(self, clock: Callable[[], float]) -> None:
        self.stream.start()

    def stop(self) -> None:
        self.stream.stop()
        self.stream.close()

    def _callback(self, data: np.ndarray, frames: int, timing: Any, status: Any) -> None:
        self.push(data[:, 0].copy())
