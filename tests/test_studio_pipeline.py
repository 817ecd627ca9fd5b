"""The pipeline panel: picking, resolution presets, load parameters, progress, errors and model downloads."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import torch
from nicegui import app
from nicegui.testing import User

from pipeline.protocol import LoadContext, LoadParams, ModelFiles, Pipeline, PipelineInfo, PipelineStream
from ui.resolution import resolution_presets, snap

from .studio_helpers import only
from .waiting import LOADING, until

# pylint: disable=missing-function-docstring

BROKEN = PipelineInfo(id='broken', name='Broken', description='Fails while loading.', supported_modes=['text'],
                      default_mode='text', load_params=LoadParams)
HEAVY = PipelineInfo(id='heavy', name='Heavy', description='Needs weights from the hub.', supported_modes=['text'],
                     default_mode='text', load_params=LoadParams,
                     model_files=[ModelFiles('dreamstage/heavy-weights', ['model.safetensors'])])


class BrokenPipeline(Pipeline):
    """A pipeline whose weights are corrupt."""

    info = BROKEN

    def __init__(self, params: LoadParams, context: LoadContext) -> None:
        super().__init__(params, context)
        context.report_stage('Reading weights...')
        raise RuntimeError('checkpoint is corrupt')

    def open_stream(self) -> PipelineStream:
        raise NotImplementedError


async def open_pipeline_tab(user: User, path: str = '/') -> None:
    await user.open(path)
    user.find('Pipeline').click()


async def wait_for_status(status: str) -> None:
    manager = app.state.context.manager
    assert await until(lambda: manager.status()['status'] == status, LOADING), f'status stayed {manager.status()}'


def test_resolution_presets_keep_to_the_pipelines_rule() -> None:
    info = PipelineInfo(id='x', name='X', description='', supported_modes=['text'], default_mode='text',
                        default_width=500, default_height=300, dimension_multiple=64)
    presets = resolution_presets(info)
    assert next(iter(presets.values())) == (500, 300)
    assert all(w % 64 == 0 and h % 64 == 0 for w, h in list(presets.values())[1:])
    assert snap(432, 16) == 432 and snap(432, 64) == 448 and snap(10, 64) == 64


async def test_the_panel_shows_the_loaded_pipeline_and_its_declaration(studio: User) -> None:
    await open_pipeline_tab(studio)
    await studio.should_see('loaded · dreamfield')
    await studio.should_see('Dreamfield (CPU)')
    await studio.should_see('Default · 512x512')
    await studio.should_see('Render scale')
    await studio.should_see('video mode')


async def test_load_with_a_resolution_preset_and_a_load_parameter(studio: User) -> None:
    await open_pipeline_tab(studio)
    only(studio, 'resolution-preset').set_value('16:9 · 576x320')
    assert (only(studio, 'resolution-width').value, only(studio, 'resolution-height').value) == (576, 320)
    only(studio, 'load-render_scale').set_value(0.25)
    studio.find(marker='load-pipeline').click()
    await wait_for_status('loaded')
    status = app.state.context.manager.status()
    assert status['load_params'] == {'base_seed': 42, 'render_scale': 0.25, 'width': 576, 'height': 320}
    assert await until(lambda: app.state.context.sessions.studio().pipeline.width == 576)
    session = app.state.context.sessions.studio()
    assert (session.pipeline.width, session.pipeline.height) == (576, 320)


async def test_a_size_off_the_rule_is_refused_with_a_reason(studio: User) -> None:
    await open_pipeline_tab(studio)
    only(studio, 'resolution-width').set_value(500)
    await studio.should_see('Custom')
    studio.find(marker='load-pipeline').click()
    await studio.should_see('must be a multiple of 16 (for example 496)')
    assert app.state.context.manager.status()['load_params'] in (None, {})


async def test_another_pipeline_can_be_picked_and_loaded(studio: User) -> None:
    await open_pipeline_tab(studio)
    only(studio, 'pipeline-picker').set_value('passthrough')
    await studio.should_see('Returns the input video unchanged.')
    studio.find(marker='load-pipeline').click()
    await wait_for_status('loaded')
    assert await until(lambda: app.state.context.sessions.studio().pipeline_id == 'passthrough')
    await studio.should_see('Passthrough')


async def test_a_load_error_is_shown(studio: User, caplog: pytest.LogCaptureFixture) -> None:
    app.state.context.registry.register(BROKEN, f'{__name__}:BrokenPipeline')
    await open_pipeline_tab(studio)
    only(studio, 'pipeline-picker').set_value('broken')
    studio.find(marker='load-pipeline').click()
    await wait_for_status('error')
    await studio.should_see('broken: RuntimeError: checkpoint is corrupt')
    await studio.should_see('error · broken')
    assert 'loading broken failed' in caplog.text
    caplog.clear()  # the server logs the failure as an error, as it should


async def test_a_pipeline_that_needs_weights_offers_a_download(studio: User) -> None:
    app.state.context.registry.register(HEAVY, f'{__name__}:BrokenPipeline')
    await open_pipeline_tab(studio)
    only(studio, 'pipeline-picker').set_value('heavy')
    await studio.should_see('Model files are missing: download them before loading')
    studio.find(marker='load-pipeline').click()
    await studio.should_see("Models for 'heavy' are not downloaded")
    studio.find(marker='download-models').click()
    # 'not available' in this build, or the downloader's own answer
    assert await until(lambda: only(studio, 'download-message').text)


@pytest.fixture
def keyed(studio_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server protected by an API key, whose hub address leads nowhere (nothing leaves the machine)."""
    from huggingface_hub import constants

    monkeypatch.setenv('DREAMSTAGE_API_KEY', 'secret')
    monkeypatch.setenv('HF_ENDPOINT', 'http://127.0.0.1:9')  # nothing listens there
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', False)  # so the download really tries, and fails clearly


async def test_with_an_api_key_the_studio_still_downloads_models(keyed: None, user: User) -> None:
    """The studio starts downloads through the server's own services, not over HTTP: the key never gets in the way."""
    await wait_for_status('loaded')
    app.state.context.registry.register(HEAVY, f'{__name__}:BrokenPipeline')
    await open_pipeline_tab(user, '/?key=secret')
    only(user, 'pipeline-picker').set_value('heavy')
    await user.should_see('Model files are missing: download them before loading')
    user.find(marker='download-models').click()
    await user.should_see('Model download started for heavy')
    await user.should_see('Cannot reach Hugging Face')  # the downloader's own answer


@pytest.fixture
def nothing_loaded(studio_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server started without a pipeline (`PIPELINE=none`)."""
    monkeypatch.setenv('PIPELINE', 'none')


async def test_without_a_pipeline_the_page_offers_to_load_one(nothing_loaded: None, user: User) -> None:
    await user.open('/')
    await user.should_see('Dreamstage is starting')
    await user.should_see('not loaded · nothing')
    only(user, 'pipeline-picker').set_value('dreamfield')
    user.find(marker='load-pipeline').click()
    await wait_for_status('loaded')
    await user.should_see(marker='video', retries=30)


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks a machine without CUDA')
async def test_half_precision_without_cuda_is_refused_before_loading(studio: User) -> None:
    """float16 on a CPU would load and then deliver no frames: the Load button refuses it and says why."""
    await open_pipeline_tab(studio)
    only(studio, 'pipeline-picker').set_value('streamdiffusion')
    await studio.should_see(marker='load-dtype')
    await studio.should_see('float16 and bfloat16 need a CUDA GPU')
    only(studio, 'load-dtype').set_value('float16')
    studio.find(marker='load-pipeline').click()
    await studio.should_see("Cannot load 'streamdiffusion' on this machine: precision float16 needs a CUDA GPU")
    assert app.state.context.manager.status()['pipeline_ids'] == ['dreamfield'], 'nothing was loaded'


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks a machine without CUDA')
@pytest.mark.parametrize('load_params, refused', [
    ({'dtype': 'float16'}, 'precision float16 needs a CUDA GPU'),
    ({'dtype': 'bfloat16', 'device': 'cpu'}, 'precision bfloat16 needs a CUDA GPU, and device is cpu'),
    ({'device': 'cuda'}, 'device cuda needs a CUDA GPU'),
])
def test_the_rest_load_refuses_cuda_only_choices_with_a_422(api: httpx.Client, load_params: dict[str, str],
                                                            refused: str) -> None:
    before = api.get('/api/v1/pipeline/status').json()['pipeline_ids']
    response = api.post('/api/v1/pipeline/load', json={'pipeline_ids': ['streamdiffusion'], 'load_params': load_params})
    assert response.status_code == 422 and refused in response.json()['detail']
    assert api.get('/api/v1/pipeline/status').json()['pipeline_ids'] == before, 'nothing was loaded'
