"""Tiny causal Wan models with real configs, saved by the tests in Hugging Face layout (no hub access):
a 2-layer Wan transformer, a tiny Wan VAE, a tiny umT5 and tokenizer, LongLive-layout weights and LoRA, a tiny TAEHV."""
from __future__ import annotations

import atexit
import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

WIDTH, HEIGHT = 96, 64  # 4 x 6 tokens per latent frame
WORDS = ['a', 'red', 'fox', 'blue', 'sea', 'the', 'cat', 'dog', 'over', 'under', 'cave', 'ice', 'forge', 'neon',
         'city', 'night', 'rain', 'forest', 'glow', 'storm']
TRANSFORMER = dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=4, out_channels=4,
                   text_dim=32, freq_dim=16, ffn_dim=48, num_layers=2, cross_attn_norm=True,
                   qk_norm='rms_norm_across_heads', rope_max_seq_len=1024)
# diffusers names -> the original Wan / LongLive names (what diffusers' converter undoes)
ORIGINAL_NAMES = [('condition_embedder.time_embedder.linear_1', 'time_embedding.0'),
                  ('condition_embedder.time_embedder.linear_2', 'time_embedding.2'),
                  ('condition_embedder.text_embedder.linear_1', 'text_embedding.0'),
                  ('condition_embedder.text_embedder.linear_2', 'text_embedding.2'),
                  ('condition_embedder.time_proj', 'time_projection.1'), ('.attn1.', '.self_attn.'),
                  ('.attn2.', '.cross_attn.'), ('.to_q.', '.q.'), ('.to_k.', '.k.'), ('.to_v.', '.v.'),
                  ('.to_out.0.', '.o.'), ('.ffn.net.0.proj.', '.ffn.0.'), ('.ffn.net.2.', '.ffn.2.'),
                  ('.norm2.', '.norm3.')]

_homes: list[Path] = []


def tiny_longlive_home() -> Path:
    """A home folder (built once per test process) whose `models/` holds every file `longlive` needs."""
    if _homes and (_homes[-1] / 'models' / 'lora').is_dir():
        return _homes[-1]
    home = Path(tempfile.mkdtemp(prefix='dreamstage-tiny-wan-'))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    _homes.append(home)
    build_tiny_longlive(home / 'models')
    return home


def build_tiny_longlive(models_dir: Path) -> None:
    """The base model (diffusers layout), LongLive's weights and LoRA and StreamDiffusionV2's weights (original
    layout), a tiny TAEHV and a style LoRA."""
    transformer = build_tiny_wan(models_dir / 'Wan2.1-T2V-1.3B-Diffusers')
    weights = models_dir / 'LongLive-1.3B' / 'models'
    weights.mkdir(parents=True, exist_ok=True)
    causal = tiny_transformer(seed=21)  # LongLive's weights differ from the base model's
    torch.save({'generator': {f'model.{k}': v for k, v in to_original_names(causal.state_dict()).items()}},
               weights / 'longlive_base.pt')
    torch.save({'generator_lora': original_lora(causal, seed=22)}, weights / 'lora.pt')
    sdv2 = models_dir / 'StreamDiffusionV2' / 'wan_causal_dmd_v2v'
    sdv2.mkdir(parents=True, exist_ok=True)
    torch.save({'generator_ema': to_original_names(tiny_transformer(seed=23).state_dict())}, sdv2 / 'model.pt')
    save_tiny_taehv(models_dir / 'Autoencoders' / 'taew2_1.pth')
    build_style_lora(transformer, models_dir / 'lora' / 'style.safetensors')


def build_tiny_wan(folder: Path) -> Any:
    """A diffusers WanPipeline folder: transformer, VAE, umT5 text encoder, tokenizer and scheduler."""
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanPipeline
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = tiny_tokenizer(folder / 'tokenizer-source')
    text_encoder = UMT5EncoderModel(UMT5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, relative_attention_max_distance=16, feed_forward_proj='gated-gelu',
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0))
    vae = AutoencoderKLWan(base_dim=4, z_dim=4, dim_mult=[1, 2, 2, 2], num_res_blocks=1, attn_scales=[],
                           temperal_downsample=[False, True, True], latents_mean=[0.1, -0.2, 0.3, 0.0],
                           latents_std=[1.5, 2.0, 0.8, 1.2])
    transformer = tiny_transformer(seed=11)
    spread_weights(text_encoder, 12, 1.0)
    spread_weights(vae, 13, 1.0)
    pipe: Any = WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, transformer=transformer, vae=vae,
                            scheduler=FlowMatchEulerDiscreteScheduler(shift=5.0))
    pipe.save_pretrained(folder)
    shutil.rmtree(folder / 'tokenizer-source')
    return transformer


def tiny_transformer(seed: int) -> Any:
    from diffusers import WanTransformer3DModel

    model: Any = WanTransformer3DModel(**TRANSFORMER)
    spread_weights(model, seed, 1.0)
    with torch.no_grad():  # the few prompt tokens, not the 500 zero rows after them, steer cross-attention
        for layer in (model.condition_embedder.text_embedder.linear_1, model.condition_embedder.text_embedder.linear_2):
            layer.bias.zero_()
        for block in model.blocks:
            block.attn2.to_k.bias.zero_()
            block.attn2.to_v.bias.zero_()
            block.attn2.norm_q.weight.fill_(3.0)
            block.attn2.norm_k.weight.fill_(3.0)
    return model.eval()


def tiny_tokenizer(folder: Path) -> Any:
    """A unigram tokenizer of a few words in T5's conventions (</s> after the prompt, <pad> = 0)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from tokenizers.processors import TemplateProcessing
    from transformers import AutoTokenizer

    vocab = [('<pad>', 0.0), ('</s>', 0.0), ('<unk>', 0.0), *((f'▁{w}', -1.0) for w in WORDS),
             *((c, -5.0) for c in 'abcdefghijklmnopqrstuvwxyz'), ('▁', -3.0)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=2, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement='▁', prepend_scheme='always')
    tokenizer.decoder = decoders.Metaspace(replacement='▁', prepend_scheme='always')
    tokenizer.post_processor = TemplateProcessing(single='$A </s>', special_tokens=[('</s>', 1)])
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / 'tokenizer.json'))
    (folder / 'tokenizer_config.json').write_text(json.dumps({
        'tokenizer_class': 'T5Tokenizer', 'pad_token': '<pad>', 'eos_token': '</s>', 'unk_token': '<unk>',
        'model_max_length': 512, 'extra_ids': 0}))
    return AutoTokenizer.from_pretrained(folder)


def to_original_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A diffusers Wan state dict in the original layout (as LongLive's checkpoints store it)."""
    renamed = {}
    for name, tensor in state.items():
        name = f'.{name}.'
        for new, old in ORIGINAL_NAMES:
            name = name.replace(new, old)
        name = name.strip('.')
        if name == 'scale_shift_table':
            name = 'head.modulation'
        elif name.endswith('.scale_shift_table'):
            name = name.replace('.scale_shift_table', '.modulation')
        elif name.startswith('proj_out.'):
            name = name.replace('proj_out.', 'head.head.')
        renamed[name] = tensor.clone()
    return renamed


def original_lora(model: Any, seed: int, rank: int = 4) -> dict[str, torch.Tensor]:
    """A peft state dict (LongLive's `generator_lora`) on every linear layer of the blocks, original names."""
    generator = torch.Generator().manual_seed(seed)
    lora = {}
    for name, module in model.blocks.named_modules():
        if isinstance(module, torch.nn.Linear):
            original = to_original_names({f'blocks.{name}.weight': module.weight})
            layer = next(iter(original)).removesuffix('.weight')
            lora[f'base_model.model.{layer}.lora_A.weight'] = torch.randn(
                (rank, module.in_features), generator=generator) * 0.2
            lora[f'base_model.model.{layer}.lora_B.weight'] = torch.randn(
                (module.out_features, rank), generator=generator) * 0.2
    return lora


def build_style_lora(transformer: Any, path: Path, seed: int = 31) -> Path:
    """A style LoRA for the tiny transformer in diffusers' layout (attention projections), one .safetensors."""
    from diffusers import WanPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig, get_peft_model_state_dict

    torch.manual_seed(seed)
    model = tiny_transformer(seed=11)
    model.load_state_dict(transformer.state_dict())
    model.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                 target_modules=['to_q', 'to_k', 'to_v', 'to_out.0']))
    layers = {k: v * 3 for k, v in convert_state_dict_to_diffusers(get_peft_model_state_dict(model)).items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    WanPipeline.save_lora_weights(path.parent, transformer_lora_layers=layers, weight_name=path.name,
                                  safe_serialization=True)
    return path


def save_tiny_taehv(path: Path) -> Path:
    """A TAEHV-layout file with narrow layers (the loader reads the widths from the weights)."""
    from pipeline.causal.taehv import TinyVideoAutoencoderModel

    model = TinyVideoAutoencoderModel(latent_channels=4, width=8, decoder_widths=(16, 8, 8, 8))
    spread_weights(model, 41, 1.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path


def spread_weights(module: Any, seed: int, gain: float) -> None:
    """Re-draw the weights so a random network's output clearly follows its inputs (prompt, seed, video)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if parameter.dim() > 1:
                fan_in = parameter[0].numel()
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * gain / math.sqrt(fan_in))
            elif 'norm' not in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.1)
