"""LoRA files and assets in the studio: uploads with the REST API's checks, scales, the browser, inputs, references."""
from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
from fastapi import HTTPException
from nicegui import app, ui
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User
from pydantic import BaseModel, Field

from pipeline.protocol import Chunk, Frame, LoadParams, Pipeline, PipelineInfo, PipelineStream

from .studio_helpers import only, session
from .waiting import until

# pylint: disable=missing-function-docstring


class ReferenceControls(BaseModel):
    """A pipeline that takes reference images."""

    vace_ref_images: list[str] = Field(default=[], json_schema_extra={'ui': {'component': 'vace', 'order': 1}})


VACE = PipelineInfo(id='vace-test', name='Vace test', description='Takes reference images.', supported_modes=['text'],
                    default_mode='text', default_width=64, default_height=64, supports_lora=True,
                    load_params=LoadParams, runtime_params=ReferenceControls)


class VaceStream(PipelineStream):
    def __call__(self, chunk: Chunk) -> list[Frame]:
        return [np.zeros((64, 64, 3), np.uint8)]


class VacePipeline(Pipeline):
    """The test pipeline."""

    info = VACE

    def open_stream(self) -> PipelineStream:
        return VaceStream()


def png(width: int = 4, height: int = 4) -> bytes:
    """A real (grey) PNG image."""
    rows = b''.join(b'\x00' + bytes([128, 128, 128]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))

    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b'')


def safetensors() -> bytes:
    """A minimal valid safetensors file (an empty tensor table)."""
    header = json.dumps({'__metadata__': {'format': 'pt'}}).encode()
    return struct.pack('<Q', len(header)) + header


async def upload(user: User, marker: str, name: str, data: bytes) -> bool:
    """Drop a file on an upload box; whether the server took it (a refusal is the upload's HTTP error). Returns once
    the notification that says how it went is there (one per file)."""
    box = only(user, marker)
    told = len(user.notify.messages)
    try:
        with user:
            await box.handle_uploads([SmallFileUpload(name, 'application/octet-stream', data)])
    except HTTPException as error:
        assert error.status_code == 422
        return False
    finally:
        assert await until(lambda: len(user.notify.messages) > told), f'no word about the upload of {name}'
    return True


async def test_lora_files_get_a_live_scale_slider_each(studio: User, studio_home: Path) -> None:
    lora_dir = studio_home / 'models' / 'lora'
    (lora_dir / 'styles').mkdir(parents=True)
    (lora_dir / 'ink.safetensors').write_bytes(safetensors())
    (lora_dir / 'styles' / 'neon.safetensors').write_bytes(safetensors())
    await studio.open('/')
    studio.find('LoRA').click()
    await studio.should_see('ink')
    await studio.should_see('styles/neon')
    await studio.should_see('does not use LoRAs')
    only(studio, 'lora-scale-0').set_value(0.4)
    scales = {Path(entry['path']).name: entry['scale'] for entry in session().state.snapshot()['lora_scales']}
    assert scales == {'ink.safetensors': 0.4, 'neon.safetensors': 1.0}

    neon = str((lora_dir / 'styles' / 'neon.safetensors').resolve())
    session().update({'lora_scales': [{'path': neon, 'scale': 1.75}]}, source='scope')
    assert await until(lambda: only(studio, 'lora-scale-1').value == 1.75)


async def test_lora_uploads_are_checked_like_the_rest_api(studio: User, studio_home: Path) -> None:
    await studio.open('/')
    studio.find('LoRA').click()
    assert await upload(studio, 'lora-upload', 'glow.safetensors', safetensors())
    assert (studio_home / 'models' / 'lora' / 'glow.safetensors').is_file()
    await studio.should_see('glow', retries=10)
    assert not await upload(studio, 'lora-upload', 'glow.safetensors', safetensors())
    assert not await upload(studio, 'lora-upload', 'fake.safetensors', b'not a tensor file at all')
    assert not await upload(studio, 'lora-upload', 'model.ckpt', safetensors())
    await studio.should_see('model.ckpt: Invalid file type')  # under the box, until the failed file is removed
    messages = ' | '.join(studio.notify.messages)
    assert 'glow.safetensors already exists' in messages
    assert 'fake.safetensors: Not a safetensors file' in messages
    assert 'model.ckpt: Invalid file type. Allowed types: .safetensors' in messages
    assert not (studio_home / 'models' / 'lora' / 'fake.safetensors').exists()


async def test_assets_upload_with_clear_errors_and_show_in_the_browser(studio: User, studio_home: Path) -> None:
    await studio.open('/')
    studio.find('Media').click()
    await studio.should_see('Nothing here yet', retries=5)
    assert await upload(studio, 'asset-upload', 'moon.png', png())
    assert await upload(studio, 'asset-upload', 'clips/waves.mp4', b'\x00\x00\x00\x18ftypmp42')
    assert await upload(studio, 'asset-upload', 'drums.wav', b'RIFF----WAVEfmt ')
    assert not await upload(studio, 'asset-upload', 'fake.png', b'GIF89a, not a png')
    assert not await upload(studio, 'asset-upload', 'tool.exe', b'MZ')
    messages = ' | '.join(studio.notify.messages)
    assert 'fake.png: File content does not match its .png extension' in messages
    assert re.search(r'tool\.exe: Invalid file type\. Allowed types: \.png', messages)
    assets = studio_home / 'assets'
    assert sorted(p.relative_to(assets).as_posix() for p in assets.rglob('*') if p.is_file()) == \
        ['clips/waves.mp4', 'drums.wav', 'moon.png']
    for name in ('moon.png', 'clips/waves.mp4', 'drums.wav'):
        await studio.should_see(marker=f'asset-{name}')
    with studio.scope(marker='asset-moon.png'):
        image = next(iter(studio.find(ui.image).elements))
    assert image.source == '/api/v1/assets/moon.png'

    only(studio, 'asset-filter').set_value('image')
    await studio.should_not_see(marker='asset-drums.wav')
    await studio.should_see(marker='asset-moon.png')


async def test_an_asset_can_be_deleted(studio: User, studio_home: Path) -> None:
    (studio_home / 'assets').mkdir(parents=True, exist_ok=True)
    (studio_home / 'assets' / 'old.png').write_bytes(png())
    await studio.open('/')
    studio.find('Media').click()
    studio.find(marker='delete-old.png').click()
    assert not (studio_home / 'assets' / 'old.png').exists()
    await studio.should_not_see(marker='asset-old.png')


async def test_an_image_becomes_a_reference_where_the_pipeline_takes_one(
        studio: User, studio_home: Path, studio_load: Callable[..., Awaitable[None]]) -> None:
    app.state.context.registry.register(VACE, f'{__name__}:VacePipeline')
    (studio_home / 'assets').mkdir(parents=True, exist_ok=True)
    (studio_home / 'assets' / 'face.png').write_bytes(png())
    await studio.open('/')
    studio.find('Media').click()
    await studio.should_see('Dreamfield (CPU) takes no reference image.')
    await studio_load('vace-test')
    await studio.should_see('Images can be sent as a reference (vace_ref_images).')
    studio.find(marker='reference-face.png').click()
    assert session().change_log[-1][2] == ['vace_ref_images']
    await studio.should_see('Last sent: face.png')


async def test_the_webcam_or_a_video_asset_becomes_the_video_input(studio: User, studio_home: Path) -> None:
    (studio_home / 'assets').mkdir(parents=True, exist_ok=True)
    (studio_home / 'assets' / 'loop.webm').write_bytes(b'\x1aE\xdf\xa3')
    calls: list[str] = []

    def browser_switches(match: re.Match) -> dict[str, str]:
        calls.append(match.group(0))
        return {'kind': match.group(1)}

    await studio.open('/')
    studio.javascript_rules[re.compile(r'.*setInput\("(\w+)", (.*)\)')] = browser_switches
    studio.find('Media').click()
    only(studio, 'input-source').set_value('webcam')
    await studio.should_see('This tab sends: webcam')
    studio.find(marker='video-input-loop.webm').click()
    await studio.should_see('This tab sends: video loop.webm')
    assert calls[-1].endswith('setInput("video", "/api/v1/assets/loop.webm")')
    only(studio, 'input-source').set_value('none')
    await studio.should_see('This tab sends: text only')


async def test_a_camera_the_browser_refuses_is_explained(studio: User) -> None:
    await studio.open('/')
    studio.javascript_rules[re.compile(r'.*setInput\("webcam"')] = \
        lambda _: {'kind': 'none', 'error': 'Permission denied'}
    studio.find('Media').click()
    only(studio, 'input-source').set_value('webcam')
    assert await until(lambda: any('Webcam: Permission denied' in message for message in studio.notify.messages))
    assert await until(lambda: only(studio, 'input-source').value == 'none')
