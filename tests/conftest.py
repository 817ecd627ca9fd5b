"""Shared fixtures: a real server process per test module, and aiortc clients of it."""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nicegui import app
from nicegui.testing import User

from .batch_wire import WireClient
from .scope_client import ScopeClient
from .server import RunningServer, serving
from .waiting import LOADING, PATIENCE, until

STALE_OUTPUT = 'output-AAAAAAAAAAAAAAAAAAAAAA'


@pytest.fixture(scope='session')
def server() -> Iterator[RunningServer]:
    """A server with the CPU pipeline loaded, shared by the tests that do not change its settings."""
    with serving() as running:
        yield running


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[ScopeClient]:
    """A Scope client of the shared server."""
    scope_client = ScopeClient(server.url)
    yield scope_client
    await scope_client.close()


@pytest.fixture
def api(server: RunningServer) -> Iterator[httpx.Client]:
    """An HTTP client of the shared server."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture(scope='session')
def limited_server() -> Iterator[RunningServer]:
    """A server without a pipeline whose uploads are limited to 1 MB."""
    with serving(pipeline='none', env={'DREAMSTAGE_MAX_UPLOAD_MB': '1'}, loaded=False) as running:
        yield running


@pytest.fixture(scope='session')
def batch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server for batch generation: passthrough and dreamfield loaded at 64x64, data blobs limited to 4 MB, and a
    leftover output of an earlier run in its data folder (start-up removes it)."""
    home = tmp_path_factory.mktemp('batch-server')
    (home / 'data' / 'batch' / STALE_OUTPUT).mkdir(parents=True)
    (home / 'data' / 'batch' / STALE_OUTPUT / 'video.bin').write_bytes(b'left over')
    running = RunningServer(pipeline='none', home=home, env={'DREAMSTAGE_MAX_BLOB_MB': '4'})
    try:
        running.wait_ready(loaded=False)
        WireClient(running.url).load(['passthrough', 'dreamfield'], {'width': 64, 'height': 64})
        yield running
    finally:
        running.stop()


@pytest.fixture(scope='session')
def media_server() -> Iterator[RunningServer]:
    """A server for Daydream streams' media: no pipeline of its own; a stream whose model is not here runs a
    passthrough (which loads only while no `hold-loads` file is beside its models folder)."""
    running = RunningServer(pipeline='none', env={
        'DREAMSTAGE_PIPELINES': 'tests.held_pipeline:HeldPassthroughPipeline',
        'DREAMSTAGE_PIPELINE_ALIASES': 'streamdiffusion=held-passthrough',
        'DREAMSTAGE_MAX_PEERS_PER_SESSION': '6'})
    try:
        running.wait_ready(loaded=False)
        yield running
    finally:
        running.stop()


# --- the studio: NiceGUI user simulation of main.py ---

pytest_plugins = ['nicegui.testing.user_plugin']  # the `user` and `create_user` fixtures


@pytest.fixture
def studio_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Empty models, LoRA and assets folders for a simulated studio (set before main.py runs)."""
    monkeypatch.setenv('DREAMSTAGE_MODELS_DIR', str(tmp_path / 'models'))
    monkeypatch.setenv('DREAMSTAGE_ASSETS_DIR', str(tmp_path / 'assets'))
    monkeypatch.setenv('DREAMSTAGE_ICE_HOSTS', '127.0.0.1')
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    lifespan = app.router.lifespan_context
    yield tmp_path
    app.router.lifespan_context = lifespan  # include_router nests the lifespan once per run of main.py


@pytest.fixture(autouse=True)
def patient_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """A simulated visitor looks for what a page should (not) show for up to a minute, not NiceGUI's default 0.3 s:
    pages update from timers, which run late on a busy machine."""
    should_see, should_not_see = User.should_see, User.should_not_see

    async def patient_should_see(self: User, *args: Any, retries: int = 3, **kwargs: Any) -> None:
        await should_see(self, *args, retries=max(retries, int(PATIENCE / 0.1)), **kwargs)

    async def patient_should_not_see(self: User, *args: Any, retries: int = 3, **kwargs: Any) -> None:
        await should_not_see(self, *args, retries=max(retries, int(PATIENCE / 0.05)), **kwargs)

    monkeypatch.setattr(User, 'should_see', patient_should_see)
    monkeypatch.setattr(User, 'should_not_see', patient_should_not_see)


@pytest.fixture
async def studio(studio_home: Path, user: User) -> User:
    """A simulated visitor of the studio, once the pipeline main.py pre-loads is ready."""
    context = app.state.context
    assert await until(context.manager.loaded_chain, LOADING), f'the pipeline did not load: {context.manager.status()}'
    return user


@pytest.fixture
def studio_load(studio: User) -> Callable[..., Awaitable[None]]:
    """Load a pipeline as the studio's Load button does, and wait until the studio session runs it."""

    async def load(pipeline_id: str, **load_params: Any) -> None:
        context = app.state.context
        context.manager.load(context.manager.validate([(pipeline_id, pipeline_id, load_params)]))

        def running() -> bool:
            return any(s.pipeline_id == pipeline_id for s in context.sessions.running()) \
                and context.manager.status()['status'] == 'loaded'

        assert await until(running, LOADING), f'{pipeline_id} did not load: {context.manager.status()}'

    return load
