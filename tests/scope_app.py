"""The parts of Scope's web app that talk to the server, replayed as its source does them (frontend/src:
pages/StreamPage.tsx `handleStartStream` and `applyBackendParamsToSettings`, hooks/useUnifiedWebRTC.ts,
hooks/usePipeline.ts), with an aiortc peer in place of the browser's."""
from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from aiortc import MediaStreamTrack

from .scope_client import ScopeClient

# Keys the app takes into its own settings; any other key of `parameters_updated` becomes a "schema field override"
# that the app sends back in its next load request and its next offer.
KNOWN_KEYS = frozenset({'noise_scale', 'noise_controller', 'manage_cache', 'kv_cache_attention_bias',
                        'vace_context_scale', 'denoising_step_list', 'reset_cache', 'paused', 'prompts',
                        'quantize_mode', 'lookahead_ms', '_quantized'})
PROMPT = 'A 3D animated scene. A **panda** walks along a path towards the camera in a park on a spring day.'


class ScopeApp:
    """One page of Scope's app: settings that outlive a stream, and one stream at a time."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, timeout=60)
        self.overrides: dict[str, Any] = {}  # settings.schemaFieldOverrides
        self.stream: ScopeClient | None = None
        self.loads: list[dict[str, Any]] = []
        self.offers: list[dict[str, Any]] = []

    async def start(self, pipeline_id: str, mode: str, track: MediaStreamTrack | None = None,
                    size: tuple[int, int] = (512, 512)) -> ScopeClient:
        """The play button: load (the app loads on every start), then offer with the app's initial parameters."""
        schema = (await self.http.get('/api/v1/pipelines/schemas')).json()['pipelines'][pipeline_id]
        overrides = {key: value for key, value in self.overrides.items() if key not in ('height', 'width')}
        load = {'pipelines': [{'node_id': pipeline_id, 'pipeline_id': pipeline_id,
                               'load_params': {'height': size[1], 'width': size[0], **overrides}}]}
        await self._load(load)
        initial: dict[str, Any] = {'input_mode': mode}
        if schema['supports_prompts']:
            initial.update(prompts=[{'text': PROMPT, 'weight': 100}], prompt_interpolation_method='linear',
                           denoising_step_list=schema['mode_defaults'].get(mode, {}).get('denoising_steps',
                                                                                         [700, 500]))
        if schema['supports_cache_management']:
            initial['manage_cache'] = True
        initial.update(pipeline_ids=[pipeline_id], produces_video=True, produces_audio=False)
        if mode == 'video':
            initial.update(noise_scale=0.7, noise_controller=True)
        initial['graph'] = {'nodes': [{'id': 'input', 'type': 'source', 'source_mode': 'video'},
                                      {'id': pipeline_id, 'type': 'pipeline', 'pipeline_id': pipeline_id},
                                      {'id': 'output', 'type': 'sink'}],
                            'edges': [{'from': 'input', 'from_port': 'video', 'to_node': pipeline_id,
                                       'to_port': 'video', 'kind': 'stream'},
                                      {'from': pipeline_id, 'from_port': 'video', 'to_node': 'output',
                                       'to_port': 'video', 'kind': 'stream'}]}
        initial['recording'] = False
        initial.update(overrides)
        self.offers.append(initial)
        stream = self.stream = ScopeClient(self.base_url)
        await stream.connect(initial, track=track, codecs=('VP8',), audio_recvonly=True,
                             video_direction='sendrecv', trickle='one-by-one')
        await asyncio.wait_for(stream.channel_open.wait(), 15)
        stream.send({'quantize_mode': 'none', 'lookahead_ms': 0})
        stream.send({'beat_cache_reset_rate': 'none'})
        await self._load(load)  # the app sends its load a second time once the stream runs
        return stream

    async def stop(self) -> None:
        """The reset button: the app takes what the stream told it, then closes its peer connection."""
        if self.stream is None:
            return
        self.take_updates(self.stream)
        await self.stream.close()
        self.stream = None

    def take_updates(self, stream: ScopeClient) -> None:
        """`applyBackendParamsToSettings` for every `parameters_updated` the stream received."""
        for message in stream.messages:
            if message.get('type') == 'parameters_updated':
                self.overrides.update({k: v for k, v in message['parameters'].items() if k not in KNOWN_KEYS})

    async def close(self) -> None:
        await self.stop()
        await self.http.aclose()

    async def _load(self, body: dict[str, Any]) -> None:
        self.loads.append(body)
        response = await self.http.post('/api/v1/pipeline/load', json=body)
        response.raise_for_status()
        deadline = time.monotonic() + 60
        while (status := (await self.http.get('/api/v1/pipeline/status')).json())['status'] != 'loaded':
            assert status['status'] != 'error', status
            assert time.monotonic() < deadline, 'the pipeline did not load'
            await asyncio.sleep(0.1)
