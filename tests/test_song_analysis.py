"""The librosa analysis of a synthetic click track: the beat grid matches the clicks, bars start on the accents,
playback follows the grid ahead of time; uploaded songs are analysed once."""
from __future__ import annotations

import io
import wave
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from control.analysis import HOP, SAMPLE_RATE, SongAnalysis, analyse
from control.audio_tempo import AudioTempo

from .control_helpers import wait_for

BPM = 120.0
FIRST = 0.5  # seconds before the first click


def click_track(seconds: float, bpm: float = BPM, rate: int = SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray]:
    """Clicks every beat from FIRST on, every fourth one higher and louder (the downbeat); and the click times."""
    samples = np.zeros(int(seconds * rate), np.float32)
    times = np.arange(FIRST, seconds - 0.2, 60.0 / bpm)
    length = int(0.03 * rate)
    t = np.arange(length) / rate
    for index, at in enumerate(times):
        accent = index % 4 == 0
        tone = np.sin(2 * np.pi * (1500 if accent else 1000) * t) * np.exp(-t / 0.005) * (1.0 if accent else 0.6)
        start = round(at * rate)
        samples[start:start + length] += tone.astype(np.float32)
    return samples, times


@pytest.fixture(scope='module')
def song() -> Iterator[tuple[SongAnalysis, np.ndarray]]:
    samples, times = click_track(16.0)
    yield analyse(samples), times


def test_the_beat_grid_matches_the_clicks_within_one_hop(song: tuple[SongAnalysis, np.ndarray]) -> None:
    analysis, clicks = song
    beats = np.asarray(analysis.beats)
    assert len(clicks) - 1 <= len(beats) <= len(clicks), 'librosa may trim a weak beat at the very end'
    errors = np.abs(beats - clicks[:len(beats)])
    assert errors.max() < HOP / SAMPLE_RATE, f'within one hop ({1000 * HOP / SAMPLE_RATE:.1f} ms): {errors}'
    assert analysis.bpm == pytest.approx(BPM, abs=0.5)
    assert analysis.downbeats[0] == pytest.approx(clicks[0], abs=0.005), 'bars start on the accented clicks'
    assert len(analysis.onset_envelope) == pytest.approx(16.0 * SAMPLE_RATE / HOP, abs=2)
    assert analysis.sections and analysis.sections[0]['start'] == 0.0


class DrivenPlayback:
    """A playing file whose position the test sets (samples at 48 kHz)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def position(self, now: float | None = None) -> int:
        return int(self.seconds * 48_000)


def test_playback_follows_the_grid_ahead_of_time(song: tuple[SongAnalysis, np.ndarray]) -> None:
    analysis, clicks = song
    playback = DrivenPlayback()
    tempo = AudioTempo()
    tempo.follow_song(analysis, playback, loop=True)
    playback.seconds = clicks[5] - 0.1  # 100 ms before the sixth click
    line = tempo.timeline(now=50.0)
    assert line is not None and line.bpm == pytest.approx(BPM, abs=0.5)
    assert line.time_of(5.0) == pytest.approx(50.1, abs=0.002), 'the next beat is known before it sounds'
    assert line.beat_at(50.1) % 4 == pytest.approx(1.0, abs=0.01), 'the sixth click is beat 2 of bar 2'
    playback.seconds = analysis.duration + clicks[0]  # the file looped
    looped = tempo.timeline(now=60.0)
    assert looped is not None and looped.beat_at(60.0) == pytest.approx(len(analysis.beats), abs=0.01)


def wav(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, 'wb') as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes((np.clip(samples, -1, 1) * 32767).astype('<i2').tobytes())
    return buffer.getvalue()


def test_an_uploaded_song_is_analysed_once(api: httpx.Client) -> None:
    samples, clicks = click_track(8.0)
    upload = api.post('/api/v1/assets', params={'filename': 'analysis-tests/clicks.wav'}, content=wav(samples),
                      headers={'Content-Type': 'application/octet-stream'})
    assert upload.status_code == 200, upload.text
    result = wait_for(lambda: (body := api.get('/api/v1/tempo/analysis', params={'path': 'analysis-tests/clicks.wav'})
                               .json())['state'] == 'done' and body, timeout=240, interval=0.5)
    assert result, 'analysed in the background after the upload'
    beats = np.asarray(result['analysis']['beats'])
    assert len(beats) >= len(clicks) - 1 and np.abs(beats - clicks[:len(beats)]).max() < HOP / SAMPLE_RATE
    assert api.get('/api/v1/tempo/analysis', params={'path': '../outside.wav'}).status_code == 400
    assert api.get('/api/v1/tempo/analysis', params={'path': 'analysis-tests/missing.wav'}).status_code == 404
