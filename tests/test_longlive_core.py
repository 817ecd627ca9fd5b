"""The causal video core on a tiny Wan transformer: exact KV cache, bounded memory, streaming autoencoders, pacing."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

from pipeline.causal.attention import block_causal_mask
from pipeline.causal.config import CausalConfig, Geometry
from pipeline.causal.generator import CausalGenerator
from pipeline.causal.kv_cache import KVCache
from pipeline.causal.rope import Rotary, rotate
from pipeline.causal.schedule import FlowSchedule
from pipeline.causal.transformer import CausalWan

from .longlive_models import HEIGHT, WIDTH, spread_weights, tiny_transformer

GEOMETRY = Geometry(WIDTH, HEIGHT, latent_channels=4)
TOKENS = GEOMETRY.tokens_per_frame
CONFIG = CausalConfig(chunk_frames=3, sink_frames=3, window_frames=12)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread (the test machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def model() -> CausalWan:
    return CausalWan(tiny_transformer(seed=3))


def text(model: CausalWan, seed: int = 0) -> Any:
    return model.text_context(torch.randn((1, 7, 32), generator=torch.Generator().manual_seed(seed)))


def test_one_chunk_is_diffusers_wan(model: CausalWan) -> None:
    """Without a cache, one chunk at one timestep is exactly diffusers' WanTransformer3DModel."""
    latents = torch.randn(1, 4, 3, 8, 12)
    embedding = torch.randn(1, 7, 32)
    expected = model.model(latents, torch.tensor([700.0]), embedding, return_dict=False)[0]
    actual = model(latents, torch.full((1, 3), 700.0), model.text_context(embedding), first_frame=0)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-4)


def generate_with_cache(model: CausalWan, latents: torch.Tensor, context: Any, config: CausalConfig,
                        ) -> list[torch.Tensor]:
    """Per chunk: the prediction at t=500 attending to the cache, then the cache-update pass on the chunk."""
    cache = KVCache(layers=model.layers, heads=model.heads, head_dim=model.head_dim, tokens_per_frame=TOKENS,
                    window=config.window_frames, sink=config.sink_frames, device=torch.device('cpu'),
                    dtype=torch.float32)
    outputs = []
    size = cache.buffer.shape
    for start in range(0, latents.shape[2], config.chunk_frames):
        chunk = latents[:, :, start:start + config.chunk_frames]
        slots = cache.plan(range(start, start + config.chunk_frames))
        outputs.append(model(chunk, torch.full((1, config.chunk_frames), 500.0), context, first_frame=start,
                             cache=cache, chunk=slots))
        model(chunk, torch.zeros(1, config.chunk_frames), context, first_frame=start, cache=cache, chunk=slots)
        cache.commit(slots)
        assert cache.buffer.shape == size and len(cache.frames) <= config.window_frames
    return outputs


def block_causal_reference(model: CausalWan, latents: torch.Tensor, context: Any, config: CausalConfig,
                           chunk: int) -> torch.Tensor:
    """Chunk `chunk` at t=500 with full attention over every frame up to it (earlier ones clean), masked."""
    end = (chunk + 1) * config.chunk_frames
    timesteps = torch.zeros(1, end)
    timesteps[:, end - config.chunk_frames:] = 500.0
    mask = block_causal_mask(end, TOKENS, config.chunk_frames, config.sink_frames, config.window_frames)
    return model(latents[:, :, :end], timesteps, context, first_frame=0, mask=mask)[:, :, -config.chunk_frames:]


def test_the_kv_cache_is_exact_while_the_window_holds_every_frame(model: CausalWan) -> None:
    """Chunked generation with the cache equals full block-causal attention over the same frames."""
    latents, context = torch.randn(1, 4, 12, 8, 12), text(model)
    for index, output in enumerate(generate_with_cache(model, latents, context, CONFIG)):
        torch.testing.assert_close(output, block_causal_reference(model, latents, context, CONFIG, index),
                                   atol=2e-5, rtol=1e-4)


def test_beyond_the_window_the_cache_keeps_the_sink_and_recent_frames_in_bounded_memory(model: CausalWan) -> None:
    """Past the window the cache holds the sink and the latest frames: the same as masked attention, same memory."""
    latents, context = torch.randn(1, 4, 24, 8, 12), text(model)
    outputs = generate_with_cache(model, latents, context, CONFIG)
    full_attention = model(latents[:, :, 21:24], torch.full((1, 3), 500.0), context, first_frame=21)
    assert (outputs[-1] - full_attention).abs().max() > 1e-3, 'the cache attends to more than the chunk itself'
    for index in (4, 7):
        torch.testing.assert_close(outputs[index], block_causal_reference(model, latents, context, CONFIG, index),
                                   atol=2e-5, rtol=1e-4)


def test_generation_is_causal_and_seeded(model: CausalWan) -> None:
    """A chunk does not depend on later prompts; the same seed gives the same chunks, another seed others."""
    first, other = text(model, 0), text(model, 1)

    def run(seed: int, prompts: list[Any]) -> list[torch.Tensor]:
        generator = CausalGenerator(model, CONFIG, GEOMETRY, seed=seed)
        return [generator.next_chunk(prompt, [1000, 750, 500, 250]) for prompt in prompts]

    base = run(5, [first, first, first])
    switched = run(5, [first, first, other])
    assert all(torch.equal(a, b) for a, b in zip(base[:2], switched[:2], strict=True))
    assert (base[2] - switched[2]).abs().mean() > 1e-3
    assert all(torch.equal(a, b) for a, b in zip(base, run(5, [first] * 3), strict=True))
    assert (base[0] - run(6, [first])[0]).abs().mean() > 1e-2


def test_recache_recomputes_the_recent_frames_under_the_new_prompt(model: CausalWan) -> None:
    """After a recache the cache holds the sink as it was and the recent chunks as the new prompt sees them."""
    first, other = text(model, 0), text(model, 1)
    generator = CausalGenerator(model, CONFIG, GEOMETRY, seed=1)
    for _ in range(4):
        generator.next_chunk(first, [1000, 500])
    before = generator.cache.buffer.clone()
    generator.recache(other)
    assert generator.cache.frames == [0, 1, 2, 6, 7, 8, 9, 10, 11]
    sink_rows = slice(0, 3 * TOKENS)
    assert torch.equal(before[:, :, :, sink_rows], generator.cache.buffer[:, :, :, sink_rows])
    fresh = CausalGenerator(model, CONFIG, GEOMETRY, seed=1)
    fresh.next_chunk(first, [1000, 500])
    for cached in generator.recent:  # the same clean chunks, written under the new prompt
        chunk = fresh.cache.plan(range(cached.first_frame, cached.first_frame + 3))
        model(cached.latents, torch.zeros(1, 3), other, first_frame=cached.first_frame, cache=fresh.cache,
              chunk=chunk)
        fresh.cache.commit(chunk)
    torch.testing.assert_close(generator.cache.buffer[:, :, :, :9 * TOKENS], fresh.cache.buffer[:, :, :, :9 * TOKENS])


def test_positions_are_rebased_before_they_outgrow_the_rotary_table(model: CausalWan) -> None:
    """Moving a cached key back by n frames is the same as rotating it at a position n frames earlier."""
    rotary, keys = Rotary(12), torch.randn(1, 2 * TOKENS, 2, 12)
    cos, sin = rotary.angles(40, 2, GEOMETRY.token_grid, torch.device('cpu'))
    shift_cos, shift_sin = rotary.time_shift(-37, torch.device('cpu'))
    early_cos, early_sin = rotary.angles(3, 2, GEOMETRY.token_grid, torch.device('cpu'))
    torch.testing.assert_close(rotate(rotate(keys, cos, sin), shift_cos, shift_sin), rotate(keys, early_cos, early_sin),
                               atol=1e-5, rtol=1e-4)
    config = CausalConfig(chunk_frames=3, sink_frames=3, window_frames=12, max_position=18)
    generator = CausalGenerator(model, config, GEOMETRY)
    for _ in range(10):
        generator.next_chunk(text(model), [1000, 500])
        assert generator.position <= 18 and max(generator.cache.frames) < 18


def test_the_schedule_warps_steps_and_starts_video_input_at_the_noise_scale() -> None:
    """LongLive's [1000, 750, 500, 250] on the shifted grid; video input starts at noise_scale."""
    schedule = FlowSchedule(shift=5.0, warp=True)
    assert schedule.timesteps([1000, 750, 500, 250]) == pytest.approx([1000.0, 937.5, 833.333, 625.0], rel=1e-5)
    assert FlowSchedule(warp=False).timesteps([750, 250], noise_scale=0.5) == [500.0, 250.0]


def test_streaming_wan_vae_decodes_and_encodes_like_one_long_video() -> None:
    """Chunk by chunk with the causal cache, the Wan VAE gives the frames and latents of a whole-video pass."""
    from diffusers import AutoencoderKLWan

    from pipeline.causal.video_vae import WanVideoAutoencoder

    vae: Any = AutoencoderKLWan(base_dim=4, z_dim=4, dim_mult=[1, 2, 2, 2], num_res_blocks=1, attn_scales=[],
                                temperal_downsample=[False, True, True], latents_mean=[0.1, -0.2, 0.3, 0.0],
                                latents_std=[1.5, 2.0, 0.8, 1.2])
    spread_weights(vae, 3, 1.2)
    autoencoder = WanVideoAutoencoder(vae)
    latents = torch.randn(1, 4, 6, 8, 12)
    codec = autoencoder.open()
    streamed = torch.cat([codec.decode(latents[:, :, :3]), codec.decode(latents[:, :, 3:])], dim=2)
    mean, std = autoencoder.mean, autoencoder.std
    whole = vae.decode(latents * std + mean, return_dict=False)[0]
    assert streamed.shape[2] == 9 + 12
    torch.testing.assert_close(streamed, whole, atol=1e-5, rtol=1e-4)
    frames = torch.rand(1, 3, 21, HEIGHT, WIDTH) * 2 - 1
    codec = autoencoder.open()
    assert codec.input_frames(3) == 9
    encoded = torch.cat([codec.encode(frames[:, :, :9]), codec.encode(frames[:, :, 9:])], dim=2)
    whole_latents = (vae.encode(frames).latent_dist.mode() - mean) / std
    torch.testing.assert_close(encoded, whole_latents, atol=1e-4, rtol=1e-4)


def test_streaming_tiny_autoencoder_decodes_like_one_long_video(tmp_path: Any) -> None:
    """The TAEHV-layout autoencoder, loaded from a file whose widths it reads, streams exactly."""
    from pipeline.causal.taehv import load_tiny_autoencoder

    from .longlive_models import save_tiny_taehv

    autoencoder = load_tiny_autoencoder(save_tiny_taehv(tmp_path / 'taew2_1.pth'), torch.device('cpu'),
                                        torch.float32)
    latents = torch.randn(1, 4, 6, 8, 12)
    codec = autoencoder.open()
    first, second = codec.decode(latents[:, :, :3]), codec.decode(latents[:, :, 3:])
    whole = autoencoder.open().decode(latents)
    assert (first.shape[2], second.shape[2], whole.shape[2]) == (9, 12, 21)
    torch.testing.assert_close(torch.cat([first, second], dim=2), whole)
    frames = torch.rand(1, 3, 24, HEIGHT, WIDTH) * 2 - 1
    codec = autoencoder.open()
    encoded = torch.cat([codec.encode(frames[:, :, :12]), codec.encode(frames[:, :, 12:])], dim=2)
    torch.testing.assert_close(encoded, autoencoder.open().encode(frames))
