"""The audio loop on a clock the test drives: beats, mappings, prompt words and the sound peers hear, tick by tick."""
from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from audio.engine import AudioEngine
from audio.output import ensure_audio_output
from audio.playback import PlaybackSource
from audio.presets import BUILTIN
from audio.signals import BeatPattern, FileSignal
from pipeline.conditioning import PromptConditioner
from pipeline.dreamfield.info import DreamfieldLoadParams
from pipeline.dreamfield.pipeline import DreamfieldPipeline
from pipeline.parameters import Parameters
from pipeline.protocol import Chunk, Frame, LoadContext
from pipeline.session import Session

from .driven_clock import DEADLINE, DrivenClock
from .test_audio_loop import strongest_period, wav_bytes

OCEAN = {'prompts': [{'text': 'blue ocean, deep sea underwater', 'weight': 1.0}]}
TICKS_PER_BEAT = 15  # 120 BPM on the 30 Hz loop: a kick every half second


@pytest.fixture(scope='module')
def dreamfield(tmp_path_factory: pytest.TempPathFactory) -> DreamfieldPipeline:
    """The CPU pipeline at 256x256 (small, so rendering every tick stays cheap)."""
    folder = tmp_path_factory.mktemp('dreamfield')
    return DreamfieldPipeline(DreamfieldLoadParams(width=256, height=256), LoadContext(folder, folder, folder))


@pytest.fixture
async def session(dreamfield: DreamfieldPipeline) -> AsyncIterator[Session]:
    """A session of the pipeline (its worker not started: `Lockstep` renders instead)."""
    running = Session(dreamfield, pipeline_id='dreamfield', initial=OCEAN)
    yield running
    running.close()


async def test_a_test_beat_pulses_the_picture_on_every_beat(session: Session) -> None:
    """beat-pulse at 120 BPM: a beat on every 15th tick, noise_scale kicks up on it and the picture churns with it;
    stopping puts noise_scale back and the picture calms down."""
    picture = Lockstep(session)
    picture.render(30)  # the picture before the music
    clock = DrivenClock()
    engine = start(session, PlaybackSource('test', 'test beat at 120 BPM', BeatPattern(120)), 'beat-pulse', clock)
    beats, noise, changes = [], [], []
    for tick in range(1, 8 * 30 + 1):  # eight seconds of music, one picture per tick
        clock.tick()
        if engine.features.beat:
            beats.append(tick)
        noise.append(session.state.values['noise_scale'])
        changes.append(picture.change())

    assert beats[0] <= 2 * TICKS_PER_BEAT, f'the first beat is heard within a second: {beats}'
    assert np.diff(beats).tolist() == [TICKS_PER_BEAT] * (len(beats) - 1), f'a beat every half second: {beats}'
    assert engine.features.beat_count == len(beats) >= 14
    status = engine.status()
    assert 118 <= status['features']['bpm'] <= 122 and status['clock']['ticks'] == 240
    assert status['source']['position_seconds'] == 8.0, 'the test beat plays on the driven clock'
    assert Parameters.model_validate(status['last_message']).to_message() == status['last_message']
    for beat in beats:
        before, on = noise[beat - 2], noise[beat - 1]
        assert on > before + 0.3, f'noise_scale kicks up on the beat of tick {beat}: {before} -> {on}'
    assert min(noise) >= 0.3 and max(noise) <= 1.0

    middle = (max(changes) + min(changes)) / 2
    pulses = [tick for tick, (a, b) in enumerate(itertools.pairwise(changes), start=2) if a < middle <= b]
    assert pulses == beats, f'the picture churns in pulses, on the beats: {np.round(changes, 1)}'

    engine.stop(timeout=DEADLINE)
    assert not engine.running
    assert session.state.values['noise_scale'] == 0.7, 'stopping puts noise_scale back'
    picture.render(30)  # the picture settles at the old noise_scale
    after = [picture.change() for _ in range(60)]
    assert np.std(changes) > 2 * np.std(after), f'the picture pulsed with the music: {changes} vs {after}'
    assert max(after) < middle, 'no more pulses without the music'


async def test_soundscape_adds_music_words_to_the_prompt_and_takes_them_back(session: Session) -> None:
    """soundscape at 140 BPM: words for the music join the prompt; a prompt the user sends keeps the words;
    stopping leaves the user's prompt alone."""
    clock = DrivenClock()
    engine = start(session, PlaybackSource('test', 'test beat at 140 BPM', BeatPattern(140)), 'soundscape', clock)
    clock.tick(60)  # two seconds
    prompt = session.state.values['prompts'][-1]['text']
    assert prompt.startswith('blue ocean, deep sea underwater, ') and len(prompt) > 40
    status = engine.status()
    assert status['words'] and status['messages_sent'] > 10 and status['clock']['ticks'] == 60
    assert all(word in prompt for word in status['words'])
    assert 0.48 <= session.state.values['noise_scale'] <= 0.74

    session.update({'prompts': [{'text': 'a neon city at night', 'weight': 1.0}]}, source='scope')  # the user
    clock.tick(45)  # a second and a half: past the preset's prompt cooldown
    prompt = session.state.values['prompts'][-1]['text']
    assert prompt.startswith('a neon city at night, ') and all(word in prompt for word in engine.status()['words'])

    engine.stop(timeout=DEADLINE)
    assert session.state.values['prompts'] == [{'text': 'a neon city at night', 'weight': 1.0}]


async def test_an_audio_file_plays_on_the_loop_clock_and_peers_hear_its_beat(session: Session, tmp_path: Path) -> None:
    """A 4 s WAV plays on the driven clock, loops, drives the session, and the track peers get pulses with its kicks."""
    song = tmp_path / 'beat.wav'
    song.write_bytes(wav_bytes(4.0))
    clock = DrivenClock()
    engine = start(session, PlaybackSource('file', 'beat.wav', FileSignal(song, loop=True)), 'beat-pulse', clock)
    clock.tick(75)  # two and a half seconds, then a peer joins
    track = ensure_audio_output(session).create_track()
    levels = []
    for index in range(150):  # three seconds of 20 ms audio frames, the loop ticking alongside
        while clock.now() - clock_start(engine) < 2.5 + index * 0.02:
            clock.tick()
        frame = await track.recv()
        levels.append(float(np.sqrt(np.mean(frame.to_ndarray().astype(np.float64) ** 2))))
    track.stop()

    status = engine.status()
    assert status['running'] and status['source']['position_seconds'] > 4.5, 'past the end of the file: it loops'
    assert 118 <= (status['features']['bpm'] or 0) <= 122
    assert session.state.values['noise_scale'] != 0.7
    assert max(levels) > 1000, 'peers hear the music, not silence'
    assert strongest_period(levels) == 25, 'its loudness pulses every 25 frames (0.5 s, the kicks)'
    engine.stop(timeout=DEADLINE)


def start(session: Session, source: PlaybackSource, preset: str, clock: DrivenClock) -> AudioEngine:
    """An audio engine of the session on the driven clock, started."""
    engine = AudioEngine(session, source, BUILTIN[preset], clock=clock)
    engine.start()
    return engine


def clock_start(engine: AudioEngine) -> float:
    """When the engine's source began playing, on its clock."""
    playback = engine.source.playback
    assert playback is not None
    return playback.started


class Lockstep:
    """Renders the session's picture one chunk at a time, as its worker would at 30 fps, with the parameters the
    session holds at that moment (so every tick of the driven clock gets exactly one picture)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.stream = session.pipeline.open_stream()
        self.conditioner = PromptConditioner(session.pipeline.encode_prompt)
        self.index = 0
        self.last: Frame | None = None

    def render(self, count: int = 1) -> Frame:
        """The next `count` frames; the last one."""
        for _ in range(count):
            taken = self.session.state.take()
            self.conditioner.apply(taken.prompt_change, str(taken.values.get('prompt_interpolation_method')))
            chunk = Chunk(index=self.index, time=self.index / 30, params=taken.values, reset=self.index == 0,
                          conditioning=self.conditioner.next(), one_shots=taken.one_shots)
            self.last = self.stream(chunk)[-1]
            self.index += 1
        assert self.last is not None
        return self.last

    def change(self) -> float:
        """How much the next frame differs from the last one (mean absolute pixel difference, 0..255)."""
        before = self.last if self.last is not None else self.render()
        after = self.render()
        return float(np.abs(after.astype(np.int16) - before.astype(np.int16)).mean())
