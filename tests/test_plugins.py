"""Pipelines from installed packages: `dreamstage.pipelines` entry points, found as a user's pip install leaves them."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from pipeline.registry import default_registry

from .scope_client import ScopeClient
from .server import RunningServer, serving

TEAL = (20, 180, 160)
TEAL_PLUGIN = f'''
"""A plugin pipeline that paints every frame teal."""
import numpy as np

from pipeline.protocol import Chunk, Pipeline, PipelineInfo, PipelineStream


class TealStream(PipelineStream):
    def __call__(self, chunk: Chunk) -> list:
        return [np.full((128, 128, 3), {TEAL}, np.uint8)]


class TealPipeline(Pipeline):
    info = PipelineInfo(id='teal', name='Teal', description='Every frame teal.', supported_modes=['text'],
                        default_mode='text', default_width=128, default_height=128)

    def open_stream(self) -> PipelineStream:
        return TealStream()


class NotAPipeline:
    pass


class Impostor(TealPipeline):
    info = PipelineInfo(id='dreamfield', name='Not Dreamfield', description='Takes a built-in id.',
                        supported_modes=['text'], default_mode='text')
'''


def install(site: Path, name: str, version: str, entry_points: dict[str, str], *,
            modules: dict[str, str] | None = None, direct_url: dict | None = None) -> None:
    """Lay a package out in `site` the way pip installs one: its modules and a `<name>-<version>.dist-info`."""
    for module, source in (modules or {}).items():
        (site / f'{module}.py').write_text(source)
    info = site / f'{name.replace("-", "_")}-{version}.dist-info'
    info.mkdir(parents=True)
    (info / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n'
                                   f'Summary: {name} for Dreamstage\nAuthor: A. Plugin Author\n')
    lines = ''.join(f'{key} = {value}\n' for key, value in entry_points.items())
    (info / 'entry_points.txt').write_text(f'[dreamstage.pipelines]\n{lines}')
    (info / 'INSTALLER').write_text('pip\n')
    if direct_url is not None:
        (info / 'direct_url.json').write_text(json.dumps(direct_url))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A site-packages folder on this process's path; the plugin modules imported from it are forgotten after."""
    folder = tmp_path / 'site-packages'
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    modules = set(sys.modules)
    yield folder
    for name in set(sys.modules) - modules:
        if getattr(sys.modules[name], '__file__', None) and str(folder) in str(sys.modules[name].__file__):
            del sys.modules[name]


@pytest.fixture(scope='module')
def plugin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose Python path holds a working plugin package and a broken one."""
    site = tmp_path_factory.mktemp('site-packages')
    install(site, 'dreamstage-teal', '1.2.0', {'teal': 'teal_plugin:TealPipeline'},
            modules={'teal_plugin': TEAL_PLUGIN})
    install(site, 'dreamstage-broken', '0.1.0', {'broken': 'broken_plugin:BrokenPipeline'},
            modules={'broken_plugin': 'import a_module_nobody_installed\n'})
    with serving(pipeline='none', env={'PYTHONPATH': str(site)}, loaded=False) as running:
        yield running


def test_the_server_lists_installed_plugins_in_scopes_shape(plugin_server: RunningServer) -> None:
    """`/api/v1/plugins` lists both installed packages; the broken one's error is in `failed_plugins`."""
    body = httpx.get(f'{plugin_server.url}/api/v1/plugins').json()
    assert body['total'] == 2
    plugins = {plugin['name']: plugin for plugin in body['plugins']}
    assert plugins['dreamstage-teal'] == {
        'name': 'dreamstage-teal', 'version': '1.2.0', 'author': 'A. Plugin Author',
        'description': 'dreamstage-teal for Dreamstage', 'source': 'pypi', 'editable': False, 'editable_path': None,
        'pipelines': [{'pipeline_id': 'teal', 'pipeline_name': 'Teal'}], 'latest_version': None,
        'update_available': None, 'package_spec': 'dreamstage-teal', 'bundled': False, 'kind': None, 'origin': None}
    assert plugins['dreamstage-broken']['pipelines'] == []
    assert body['failed_plugins'] == [{'package_name': 'dreamstage-broken', 'entry_point_name': 'broken',
                                       'error_type': 'ModuleNotFoundError',
                                       'error_message': "No module named 'a_module_nobody_installed'"}]


async def test_a_plugin_pipeline_loads_and_streams(plugin_server: RunningServer) -> None:
    """The plugin's pipeline is in the schemas, loads like a built-in one and its frames reach a WebRTC client."""
    client = ScopeClient(plugin_server.url)
    try:
        schemas = (await client.http.get('/api/v1/pipelines/schemas')).json()['pipelines']
        assert schemas['teal']['name'] == 'Teal' and 'dreamfield' in schemas
        await client.load({'pipeline_ids': ['teal']})
        await client.connect({'prompts': [{'text': 'anything', 'weight': 1.0}]})
        frame = await client.latest_frame()
    finally:
        await client.close()
    assert np.abs(frame.reshape(-1, 3).mean(axis=0) - TEAL).max() < 8
    assert httpx.get(f'{plugin_server.url}/health').status_code == 200


def test_broken_plugins_are_recorded_and_the_built_ins_stay(site: Path) -> None:
    """An entry point that is no pipeline, one that takes a built-in id, one that exits: each is recorded, no more."""
    install(site, 'dreamstage-teal', '1.2.0', {'teal': 'teal_plugin:TealPipeline',
                                               'plain': 'teal_plugin:NotAPipeline',
                                               'impostor': 'teal_plugin:Impostor'},
            modules={'teal_plugin': TEAL_PLUGIN})
    install(site, 'dreamstage-quitter', '0.1.0', {'quitter': 'quitter_plugin:Pipeline'},
            modules={'quitter_plugin': 'raise SystemExit("no GPU, bye")\n'})
    registry = default_registry()
    assert registry.specs['dreamfield'].target == 'pipeline.dreamfield.pipeline:DreamfieldPipeline'
    assert registry.specs['teal'].load_class().info.name == 'Teal'
    failed = {(f.package_name, f.entry_point_name): (f.error_type, f.error_message) for f in registry.failed_plugins}
    assert failed == {
        ('dreamstage-teal', 'plain'): ('TypeError', 'teal_plugin:NotAPipeline is not a subclass of '
                                                    'pipeline.protocol.Pipeline'),
        ('dreamstage-teal', 'impostor'): ('ValueError', "pipeline id 'dreamfield' is taken by "
                                                        'pipeline.dreamfield.pipeline:DreamfieldPipeline'),
        ('dreamstage-quitter', 'quitter'): ('SystemExit', 'no GPU, bye'),
    }
    assert [p.pipeline_id for p in next(p for p in registry.plugins if p.name == 'dreamstage-teal').pipelines] == \
        ['teal']


@pytest.mark.parametrize('direct_url, source, editable, spec', [
    ({'url': 'file:///home/me/teal', 'dir_info': {'editable': True}}, 'local', '/home/me/teal', 'dreamstage-teal'),
    ({'url': 'file:///home/me/teal', 'dir_info': {}}, 'local', None, 'dreamstage-teal'),
    ({'url': 'https://github.com/me/teal.git', 'vcs_info': {'vcs': 'git', 'commit_id': 'abc'}}, 'git', None,
     'git+https://github.com/me/teal.git'),
])
def test_a_plugin_says_where_it_was_installed_from(site: Path, direct_url: dict, source: str, editable: str | None,
                                                   spec: str) -> None:
    """`pip install -e`, a local folder and a git URL read back as Scope reports them."""
    install(site, 'dreamstage-teal', '1.2.0', {'teal': 'teal_plugin:TealPipeline'},
            modules={'teal_plugin': TEAL_PLUGIN}, direct_url=direct_url)
    plugin = next(p for p in default_registry().plugins if p.name == 'dreamstage-teal')
    assert (plugin.source, plugin.editable, plugin.editable_path, plugin.package_spec) == \
        (source, editable is not None, editable, spec)


def test_no_installed_plugins_without_asking(site: Path) -> None:
    """A registry built without installed plugins has only the built-in pipelines."""
    install(site, 'dreamstage-teal', '1.2.0', {'teal': 'teal_plugin:TealPipeline'},
            modules={'teal_plugin': TEAL_PLUGIN})
    registry = default_registry(installed_plugins=False)
    assert 'teal' not in registry.specs and registry.plugins == [] and registry.failed_plugins == []
