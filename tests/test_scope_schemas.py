"""The schemas, read as Scope's web app reads them: every control gets a widget, runtime ones stay enabled while
streaming, and a pipeline declared later (longlive, streamdiffusionv2...) comes out right with no extra work."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from pipeline.protocol import LoadParams, PipelineInfo
from pipeline.registry import PipelineRegistry, default_registry
from pipeline.schema import pipeline_meta

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / 'shared' / 'spec' / 'scope-pipeline-schemas.json'
# frontend/src/lib/schemaSettings.ts: the components that render as their own block
COMPLEX = {'vace', 'lora', 'resolution', 'cache', 'denoising_steps', 'noise', 'quantization', 'image', 'audio'}
SETTINGS_ONLY = COMPLEX - {'image', 'audio'}  # InputAndControlsPanel skips these


def widget(prop: dict[str, Any]) -> str | None:
    """The widget Scope's app picks for a property (a port of `resolveFieldTypes`/`inferPrimitiveFieldType`)."""
    ui = prop['ui']
    if ui.get('component') in COMPLEX:
        return str(ui['component'])

    def from_sub(sub: dict[str, Any]) -> str | None:
        if 'enum' in sub:
            return 'enum'
        if sub.get('type') == 'string':
            return 'text'
        if sub.get('type') in ('integer', 'number'):
            return 'slider' if 'minimum' in sub and 'maximum' in sub else 'number'
        return 'toggle' if sub.get('type') == 'boolean' else None

    if prop.get('anyOf'):
        branch = next((b for b in prop['anyOf'] if b.get('type') != 'null'), None)
        return from_sub(branch) if branch else None
    if '$ref' in prop or 'enum' in prop:
        return 'enum'
    return from_sub(prop)


def panel_fields(meta: dict[str, Any], mode: str) -> dict[str, dict[str, Any]]:
    """The properties the app shows in a mode, by key: each with its panel, widget and whether it is enabled while
    streaming."""
    shown = {}
    for key, prop in meta['config_schema']['properties'].items():
        ui = prop.get('ui')
        if ui is None or (ui.get('modes') and mode not in ui['modes']):
            continue
        panel = ui.get('category', 'configuration')
        if panel == 'input' and ui.get('component') in SETTINGS_ONLY:
            continue  # the Input & Controls panel does not render these blocks
        shown[key] = {'panel': panel, 'widget': widget(prop), 'live': ui.get('is_load_param') is False}
    return shown


def registry() -> PipelineRegistry:
    return default_registry(aliases={'longlive': 'dreamfield', 'streamdiffusionv2': 'dreamfield'},
                            installed_plugins=False)


@pytest.mark.parametrize('pipeline_id', ['dreamfield', 'passthrough', 'streamdiffusion', 'longlive'])
def test_every_field_scopes_app_shows_gets_a_widget(pipeline_id: str) -> None:
    """No "Could not infer field type": every field with `ui` metadata has a widget in the panel it lands in, and
    every runtime control the pipeline declares is enabled while streaming."""
    reg = registry()
    info = reg.resolve(pipeline_id)
    assert info is not None
    meta = pipeline_meta(info.info, pipeline_id)
    for mode in meta['supported_modes']:
        for key, field in panel_fields(meta, mode).items():
            assert field['widget'] is not None, f"{pipeline_id}.{key} has no widget in Scope's app"
    runtime = set(info.info.runtime_params.model_fields) if info.info.runtime_params else set()
    for key, prop in meta['config_schema']['properties'].items():
        if 'ui' in prop:
            assert prop['ui']['is_load_param'] is (key not in runtime), key


def test_dreamfields_controls_are_all_there_and_live() -> None:
    """Dreamfield in Scope's Settings panel: noise (a slider), steps, cache, seed (a number field, not a slider to
    four billion) all enabled while streaming, in text and video mode; its load parameters are there too."""
    meta = pipeline_meta(registry().specs['dreamfield'].info)
    for mode in ('text', 'video'):
        fields = panel_fields(meta, mode)
        assert fields['noise_scale'] == {'panel': 'configuration', 'widget': 'slider', 'live': True}
        assert fields['denoising_step_list'] == {'panel': 'configuration', 'widget': 'denoising_steps', 'live': True}
        assert fields['manage_cache'] == {'panel': 'configuration', 'widget': 'cache', 'live': True}
        assert fields['seed'] == {'panel': 'configuration', 'widget': 'number', 'live': True}
        assert fields['render_scale'] == {'panel': 'configuration', 'widget': 'slider', 'live': False}
        assert fields['height']['widget'] == fields['width']['widget'] == 'resolution'
        assert 'base_seed' not in fields, 'one seed control: the live one'
    assert meta['supports_cache_management'] is True
    assert meta['mode_defaults']['video']['denoising_steps'] == [1000, 750, 500, 250]


def test_streamdiffusions_steps_are_scopes_steps_block() -> None:
    """StreamDiffusion's steps are Scope's denoising-steps block (timesteps mapped onto its schedule); the raw
    `t_index_list` and `lora_dict` stay API keys without a widget; the cache block sits in Settings."""
    meta = pipeline_meta(registry().specs['streamdiffusion'].info)
    fields = panel_fields(meta, 'text')
    assert fields['denoising_step_list']['widget'] == 'denoising_steps' and fields['denoising_step_list']['live']
    assert fields['manage_cache']['panel'] == 'configuration'
    assert fields['guidance_scale'] == {'panel': 'input', 'widget': 'slider', 'live': True}
    assert 't_index_list' not in fields and 'lora_dict' not in fields
    assert {'t_index_list', 'lora_dict'} <= set(meta['config_schema']['properties'])
    assert meta['mode_defaults']['text']['denoising_steps'] == [760, 600, 360]


def test_an_alias_is_listed_under_its_own_id_and_named_for_what_runs(tmp_path: Path) -> None:
    """Scope's pipeline picker offers `longlive`, saying that Dreamfield runs in its place while LongLive's weights
    are not downloaded; a real pipeline of that id that can run replaces the alias."""
    listed = {pid: name for pid, _info, name in registry().listed(tmp_path)}
    assert listed['longlive'] == 'LongLive (Dreamfield stand-in)'
    assert listed['streamdiffusionv2'] == 'StreamDiffusionV2 (Dreamfield stand-in)'
    meta = pipeline_meta(registry().resolve('longlive').info, 'longlive', listed['longlive'])  # type: ignore[union-attr]
    assert (meta['id'], meta['name']) == ('longlive', 'LongLive (Dreamfield stand-in)')
    reg = registry()
    reg.register(PipelineInfo(id='longlive', name='LongLive', description='the real one', supported_modes=['text'],
                              default_mode='text'), 'nowhere:LongLive')
    assert [name for pid, _info, name in reg.listed(tmp_path) if pid == 'longlive'] == ['LongLive']


class LongLiveLike(LoadParams):
    """Load parameters declared the way Scope's own configs declare them."""

    vae_type: str = Field(default='wan', json_schema_extra={'ui': {'category': 'configuration', 'label': 'VAE',
                                                                     'is_load_param': True, 'order': 3}})
    lora_merge_strategy: str = Field(default='permanent_merge', json_schema_extra={'ui': {
        'category': 'configuration', 'component': 'lora', 'order': 2}})
    extra_blob: dict[str, float] | None = Field(default=None, json_schema_extra={'ui': {'label': 'A mapping'}})


class LongLiveLikeControls(BaseModel):
    """Runtime controls declared carelessly: in the wrong panel, without is_load_param, marked load-time."""

    noise_scale: float = Field(default=0.7, ge=0, le=1, json_schema_extra={'ui': {
        'category': 'input', 'component': 'noise', 'modes': ['video'], 'order': 7}})
    noise_controller: bool = Field(default=True, json_schema_extra={'ui': {'component': 'noise', 'modes': ['video']}})
    denoising_step_list: list[int] = Field(default=[1000, 750], json_schema_extra={'ui': {
        'component': 'denoising_steps', 'is_load_param': True}})
    kv_cache_attention_bias: float = Field(default=0.3, ge=0.01, le=1, json_schema_extra={'ui': {
        'category': 'input', 'label': 'KV cache bias'}})
    shift: list[float] = Field(default=[1.0], json_schema_extra={'ui': {'category': 'input', 'label': 'Shifts'}})


def test_a_pipeline_declared_later_comes_out_right() -> None:
    """Whatever a new pipeline's declarations say, the schema follows what Scope's app needs: runtime controls are
    live, complex blocks sit in Settings, a noise block gets the video-mode defaults that make the app show it,
    and fields it cannot render lose their `ui` instead of warning."""
    info = PipelineInfo(id='longlive-like', name='LongLive-like', description='x', supported_modes=['text', 'video'],
                        default_mode='text', load_params=LongLiveLike, runtime_params=LongLiveLikeControls)
    meta = pipeline_meta(info)
    video = panel_fields(meta, 'video')
    assert video['noise_scale'] == {'panel': 'configuration', 'widget': 'noise', 'live': True}
    assert video['noise_controller']['live'] and video['denoising_step_list']['live']
    assert video['kv_cache_attention_bias'] == {'panel': 'input', 'widget': 'slider', 'live': True}
    assert video['vae_type'] == {'panel': 'configuration', 'widget': 'text', 'live': False}
    assert video['lora_merge_strategy']['widget'] == 'lora'
    assert 'extra_blob' not in video and 'shift' not in video
    assert 'noise_scale' not in panel_fields(meta, 'text'), 'video-only, as declared'
    assert meta['mode_defaults']['video']['noise_scale'] == 0.7
    assert meta['mode_defaults']['video']['noise_controller'] is True


def test_our_controls_use_the_components_scopes_own_schemas_use() -> None:
    """The controls Scope's built-ins share with ours carry the same component and panel in both."""
    reference = json.loads(REFERENCE.read_text())['pipelines']['longlive']['config_schema']['properties']
    ours = {key: prop for pid in ('dreamfield', 'streamdiffusion')
            for key, prop in pipeline_meta(registry().specs[pid].info)['config_schema']['properties'].items()}
    same_control = {'height': 'height', 'width': 'width', 'manage_cache': 'manage_cache',
                    'denoising_steps': 'denoising_step_list', 'lora_merge_strategy': 'loras'}
    for theirs, mine in same_control.items():
        assert ours[mine]['ui']['component'] == reference[theirs]['ui']['component'], mine
        assert ours[mine]['ui']['category'] == reference[theirs]['ui']['category'] == 'configuration', mine
