"""`dreamstage generate`: in this machine's own process, and against a running server with an input clip and a
timeline; the result is a playable MP4."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .server import ROOT, RunningServer
from .test_batch_api import decode_mp4


def dreamstage(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run the `dreamstage` command line (main.py) with its own folders."""
    env = {**os.environ, 'DREAMSTAGE_MODELS_DIR': str(home / 'models'), 'DREAMSTAGE_ASSETS_DIR': str(home / 'assets'),
           'HF_HUB_OFFLINE': '1'}
    for name in ('NICEGUI_USER_SIMULATION', 'PYTEST_CURRENT_TEST', 'PYTEST_VERSION'):
        env.pop(name, None)
    return subprocess.run([sys.executable, str(ROOT / 'main.py'), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def write_clip(path: Path, frames: int = 10) -> None:
    """A small H.264 clip: a white square moving over grey."""
    with av.open(str(path), 'w', format='mp4') as container:
        stream = container.add_stream('libx264', rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 96, 64, 'yuv420p'
        for index in range(frames):
            picture = np.full((64, 96, 3), 90, np.uint8)
            picture[20:44, 4 + 6 * index:28 + 6 * index] = 255
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format='rgb24')))
        container.mux(stream.encode(None))


def test_generate_in_process_writes_a_playable_mp4(tmp_path: Path) -> None:
    out = tmp_path / 'fox.mp4'
    done = dreamstage('generate', '--prompt', 'a red fox in the snow', '--frames', '8', '--width', '64', '--height',
                      '64', '-o', str(out), home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert '8/8 frames' in done.stderr and 'wrote' in done.stderr
    frames = decode_mp4(out.read_bytes())
    assert len(frames) == 8 and frames[0].shape == (64, 64, 3)


def test_generate_against_a_server_with_an_input_clip_and_a_timeline(batch_server: RunningServer,
                                                                     tmp_path: Path) -> None:
    clip, timeline, out = tmp_path / 'clip.mp4', tmp_path / 'timeline.json', tmp_path / 'out.mp4'
    write_clip(clip)
    timeline.write_text(json.dumps([{'chunk': 4, 'text': 'a blue ocean'},
                                    {'chunk': 8, 'transition_target_prompts': [{'text': 'red lava', 'weight': 1}],
                                     'transition_num_steps': 3}]))
    done = dreamstage('generate', '--server', batch_server.url, '--prompt', 'ink in water', '--frames', '12',
                      '--input', str(clip), '--timeline', str(timeline), '--seed', '5', '-o', str(out), home=tmp_path)
    assert done.returncode == 0, done.stderr
    frames = decode_mp4(out.read_bytes())
    assert len(frames) == 12 and frames[0].shape == (64, 64, 3)
    raw = tmp_path / 'out.bin'
    again = dreamstage('generate', '--server', batch_server.url, '--prompt', 'ink in water', '--frames', '12',
                       '--input', str(clip), '--timeline', str(timeline), '--seed', '5', '-o', str(raw), home=tmp_path)
    assert again.returncode == 0, again.stderr
    assert raw.stat().st_size == 20 + 12 * 64 * 64 * 3, 'the raw format: the 20-byte header and the frames'


def test_generate_explains_what_is_wrong(batch_server: RunningServer, tmp_path: Path) -> None:
    bad = tmp_path / 'timeline.json'
    bad.write_text('{"chunks": 3}')
    done = dreamstage('generate', '--server', batch_server.url, '--prompt', 'x', '--timeline', str(bad), '-o',
                      str(tmp_path / 'x.mp4'), home=tmp_path)
    assert done.returncode == 2 and 'expected a list of chunk specs' in done.stderr
    failed = dreamstage('generate', '--server', batch_server.url, '--prompt', 'x', '--frames', '4', '--pipeline',
                        'dreamfield', '--noise-scale', '7', '-o', str(tmp_path / 'x.mp4'), home=tmp_path)
    assert failed.returncode == 1 and 'noise_scale' in failed.stderr
    assert not (tmp_path / 'x.mp4').exists()
