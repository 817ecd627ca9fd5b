"""Dreamfield, the built-in CPU pipeline: prompts, seeds, steps, noise, the cache and input video all show."""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.conditioning import interpolate
from pipeline.dreamfield.info import DreamfieldLoadParams
from pipeline.dreamfield.pipeline import DreamfieldPipeline
from pipeline.dreamfield.text_encoder import HashedTextModel, TextEncoder
from pipeline.protocol import Chunk, Frame, LoadContext

SIZE = 256
JELLYFISH = 'a red jellyfish in the ocean'
CITY = 'a city skyline at night'


@pytest.fixture(scope='module')
def dreamfield(tmp_path_factory: pytest.TempPathFactory) -> DreamfieldPipeline:
    """One loaded pipeline at 256x256 for the whole module."""
    return load(tmp_path_factory.mktemp('dreamfield'), SIZE, SIZE)


def test_a_frame_is_rgb_at_the_pipeline_size(dreamfield: DreamfieldPipeline) -> None:
    """One chunk gives one C-contiguous uint8 RGB frame of the pipeline's size."""
    frames = dreamfield.open_stream()(chunk(dreamfield, JELLYFISH))
    assert len(frames) == 1
    assert frames[0].shape == (SIZE, SIZE, 3)
    assert frames[0].dtype == np.uint8
    assert frames[0].flags.c_contiguous


def test_every_frame_is_a_new_array_left_alone(dreamfield: DreamfieldPipeline) -> None:
    """A handed-over frame is never reused or changed by later chunks."""
    stream = dreamfield.open_stream()
    first = stream(chunk(dreamfield, JELLYFISH, index=0))[0]
    kept = first.copy()
    second = stream(chunk(dreamfield, JELLYFISH, index=1))[0]
    assert not np.shares_memory(first, second)
    assert np.array_equal(first, kept)


@pytest.mark.parametrize(('width', 'height', 'render_scale'), [(576, 320, 0.5), (320, 192, 1.0), (240, 176, 0.3)])
def test_other_sizes_and_render_scales(tmp_path: Path, width: int, height: int, render_scale: float) -> None:
    """Wide frames, full-resolution rendering and odd scales all give frames of the asked size."""
    pipeline = load(tmp_path, width, height, render_scale)
    frame = render(pipeline, JELLYFISH, chunks=3)
    assert frame.shape == (height, width, 3)
    assert frame.std() > 10


def test_prompts_become_unit_length_embeddings(dreamfield: DreamfieldPipeline) -> None:
    """Prompts are embedded as 384 float32 numbers of unit length."""
    red = dreamfield.encode_prompt(JELLYFISH)
    assert red.shape == (384,)
    assert red.dtype == np.float32
    assert np.linalg.norm(red) == pytest.approx(1.0, abs=1e-4)


def test_related_prompts_point_the_same_way(dreamfield: DreamfieldPipeline) -> None:
    """The sentence model puts a paraphrase much nearer than an unrelated prompt."""
    if dreamfield.encoder.name != 'all-MiniLM-L6-v2':
        pytest.skip('the packaged sentence model is not installed')
    red, city = dreamfield.encode_prompt(JELLYFISH), dreamfield.encode_prompt(CITY)
    crimson = dreamfield.encode_prompt('a crimson jellyfish underwater')
    assert float(red @ crimson) > float(red @ city) + 0.4


def test_different_prompts_look_clearly_different(dreamfield: DreamfieldPipeline) -> None:
    """Two unrelated prompts differ in colour and form."""
    jellyfish, city = render(dreamfield, JELLYFISH), render(dreamfield, CITY)
    assert difference(jellyfish, city) > 30
    assert np.abs(mean_colour(jellyfish) - mean_colour(city)).max() > 10


@pytest.mark.parametrize(('prompt', 'similar', 'unrelated'), [
    (JELLYFISH, 'a crimson jellyfish underwater', CITY),
    ('a lush green forest', 'a dense green jungle', 'a red sports car'),
    ('burning lava', 'molten fire and flames', 'a snowy mountain'),
])
def test_similar_prompts_look_closer_than_unrelated_ones(dreamfield: DreamfieldPipeline, prompt: str, similar: str,
                                                        unrelated: str) -> None:
    """A prompt's picture is nearer to a paraphrase's than to an unrelated prompt's."""
    picture = render(dreamfield, prompt)
    assert difference(picture, render(dreamfield, similar)) < difference(picture, render(dreamfield, unrelated))


def test_a_transition_morphs_smoothly(dreamfield: DreamfieldPipeline) -> None:
    """Interpolated conditionings morph the picture a little per frame instead of cutting."""
    start, end = dreamfield.encode_prompt(JELLYFISH), dreamfield.encode_prompt(CITY)
    path = [start] * 10 + [interpolate(start, end, (step + 1) / 8, 'slerp') for step in range(8)] + [end] * 10
    stream = dreamfield.open_stream()
    frames = [stream(chunk(dreamfield, conditioning=embedding, index=i))[0] for i, embedding in enumerate(path)]
    steps = [difference(a, b) for a, b in itertools.pairwise(frames)]
    assert max(steps) < 0.5 * difference(frames[0], frames[-1])


def test_the_seed_makes_a_variation(dreamfield: DreamfieldPipeline) -> None:
    """The same prompt under another seed is another picture."""
    assert difference(render(dreamfield, JELLYFISH, seed=42), render(dreamfield, JELLYFISH, seed=7)) > 15


def test_more_denoising_steps_add_detail(dreamfield: DreamfieldPipeline) -> None:
    """Each denoising step adds an octave of finer detail."""
    one = detail(render(dreamfield, CITY, denoising_step_list=[1000]))
    four = detail(render(dreamfield, CITY, denoising_step_list=[1000, 750, 500, 250]))
    assert four > 1.1 * one


def test_noise_scale_changes_the_picture(dreamfield: DreamfieldPipeline) -> None:
    """Noise scale stirs the field: calm and turbulent pictures differ."""
    calm, wild = render(dreamfield, JELLYFISH, noise_scale=0.0), render(dreamfield, JELLYFISH, noise_scale=1.0)
    assert difference(calm, wild) > 15


def test_the_same_inputs_give_the_same_frames(dreamfield: DreamfieldPipeline) -> None:
    """Streams are deterministic: the same chunks give identical frames."""
    assert np.array_equal(render(dreamfield, JELLYFISH), render(dreamfield, JELLYFISH))


def test_no_conditioning_still_draws_a_picture(dreamfield: DreamfieldPipeline) -> None:
    """Without a prompt the stream shows its default look."""
    assert render(dreamfield, None).std() > 10


def test_a_reset_starts_fresh_while_the_cache_keeps_it_coherent(dreamfield: DreamfieldPipeline) -> None:
    """Consecutive frames are close; a reset (a fresh start) is clearly different from the continued stream."""
    continued, restarted = dreamfield.open_stream(), dreamfield.open_stream()
    for i in range(45):
        before = continued(chunk(dreamfield, JELLYFISH, index=i))[0]
        restarted(chunk(dreamfield, JELLYFISH, index=i))
    after = continued(chunk(dreamfield, JELLYFISH, index=45))[0]
    fresh = restarted(chunk(dreamfield, JELLYFISH, index=45, reset=True))[0]
    assert difference(before, after) < 6
    assert difference(after, fresh) > 15


def test_video_mode_restyles_the_input(dreamfield: DreamfieldPipeline) -> None:
    """In video mode the picture follows the input frames."""
    bars, rings = bars_picture(), rings_picture()
    from_bars = render(dreamfield, JELLYFISH, frames=[bars], noise_scale=0.3)
    from_rings = render(dreamfield, JELLYFISH, frames=[rings], noise_scale=0.3)
    assert difference(from_bars, from_rings) > 20
    assert correlation(luminance(from_bars), luminance(bars)) > 0.5


def test_noise_scale_sets_how_much_of_the_input_remains(dreamfield: DreamfieldPipeline) -> None:
    """Low noise keeps the input's structure; high noise generates more of the picture."""
    rings = rings_picture()
    kept = correlation(luminance(render(dreamfield, CITY, frames=[rings], noise_scale=0.1)), luminance(rings))
    stirred = correlation(luminance(render(dreamfield, CITY, frames=[rings], noise_scale=0.9)), luminance(rings))
    assert kept > stirred + 0.2


def test_the_fallback_encoder_is_deterministic_and_keeps_words_close() -> None:
    """Without the model, hashed words and trigrams still embed related prompts nearer each other."""
    first, second = TextEncoder(HashedTextModel(), 'hashed'), TextEncoder(HashedTextModel(), 'hashed')
    red = first.encode(JELLYFISH)
    assert np.array_equal(red, second.encode(JELLYFISH))
    assert float(red @ first.encode('a red jellyfish in the sea')) > float(red @ first.encode(CITY)) + 0.2


def load(folder: Path, width: int, height: int, render_scale: float = 0.5) -> DreamfieldPipeline:
    """A pipeline of the given size (the text encoder is shared by all of them)."""
    params = DreamfieldLoadParams(width=width, height=height, render_scale=render_scale)
    return DreamfieldPipeline(params, LoadContext(folder, folder, folder))


def chunk(pipeline: DreamfieldPipeline, prompt: str | None = None, *, index: int = 0, conditioning: Any = None,
          reset: bool | None = None, frames: list[Frame] | None = None, **params: Any) -> Chunk:
    """The chunk the worker would build at 30 fps (a reset on the first one)."""
    values = {'noise_scale': 0.7, 'denoising_step_list': [1000, 750, 500, 250], 'seed': 42, **params}
    if prompt is not None:
        conditioning = pipeline.encode_prompt(prompt)
    return Chunk(index=index, time=index / 30, params=values, conditioning=conditioning,
                 reset=index == 0 if reset is None else reset, frames=frames)


def render(pipeline: DreamfieldPipeline, prompt: str | None, chunks: int = 30, **params: Any) -> Frame:
    """The last frame of a fresh stream after `chunks` chunks (one second at 30 fps)."""
    stream = pipeline.open_stream()
    conditioning = None if prompt is None else pipeline.encode_prompt(prompt)
    for index in range(chunks):
        frame = stream(chunk(pipeline, index=index, conditioning=conditioning, **params))[0]
    return frame


def difference(a: Frame, b: Frame) -> float:
    """Mean absolute pixel difference (0..255)."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def mean_colour(frame: Frame) -> np.ndarray:
    return frame.reshape(-1, 3).mean(axis=0)


def luminance(frame: Frame) -> np.ndarray:
    return frame.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def detail(frame: Frame) -> float:
    """High-frequency energy: the mean absolute Laplacian of the luminance."""
    y = luminance(frame)
    return float(np.abs(4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:]).mean())


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.reshape(-1), b.reshape(-1))[0, 1])


def bars_picture() -> Frame:
    """Vertical white bars on black."""
    x = np.arange(SIZE)[None, :].repeat(SIZE, axis=0)
    return np.repeat(np.where((x // 32) % 2 == 0, 230, 20).astype(np.uint8)[..., None], 3, axis=2)


def rings_picture() -> Frame:
    """Concentric rings around the centre."""
    y, x = np.mgrid[0:SIZE, 0:SIZE] - SIZE / 2
    return np.repeat(np.where((np.hypot(x, y) // 24) % 2 == 0, 230, 20).astype(np.uint8)[..., None], 3, axis=2)
