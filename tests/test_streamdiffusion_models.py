"""Tiny diffusion models with real diffusers/transformers configs, saved in Hugging Face layout (no hub access)."""
from __future__ import annotations

import atexit
import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from pipeline.model_store import missing, required_models
from pipeline.streamdiffusion.info import STREAMDIFFUSION

LETTERS = 'abcdefghijklmnopqrstuvwxyz'


_homes: list[Path] = []


def tiny_models_home() -> Path:
    """A home folder (built once per test process) with `models/` holding the tiny models and LoRA files."""
    if _homes and (_homes[-1] / 'models' / 'sd-turbo').is_dir():
        return _homes[-1]
    # NOTE: NiceGUI's user simulation runs atexit handlers when it shuts down, so the folder can vanish: rebuild it
    home = Path(tempfile.mkdtemp(prefix='dreamstage-tiny-sd-'))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    _homes.append(home)
    models = home / 'models'
    folder = build_tiny_models(models)
    build_tiny_sdxl(models)
    build_tiny_lora(folder / 'unet', models / 'lora' / 'style.safetensors', seed=5)
    build_tiny_lora(folder / 'unet', models / 'lcm-lora-sdv1-5' / 'pytorch_lora_weights.safetensors', seed=6)
    return home


def build_tiny_models(models_dir: Path) -> Path:
    """Write a tiny SD model as `<models>/sd-turbo` (the default model id) and a tiny TAESD as `<models>/taesd`."""
    from diffusers import AutoencoderKL, AutoencoderTiny, EulerDiscreteScheduler, StableDiffusionPipeline
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    folder = models_dir / 'sd-turbo'
    vocab_dir = folder / 'tokenizer'  # as in real repos, the tokenizer folder keeps its vocabulary and merges
    vocab_dir.mkdir(parents=True, exist_ok=True)
    vocab = {'<|startoftext|>': 0, '<|endoftext|>': 1}
    for letter in LETTERS:
        vocab[letter] = len(vocab)
        vocab[f'{letter}</w>'] = len(vocab)
    files = {'vocab.json': json.dumps(vocab), 'merges.txt': '#version: 0.2\n'}
    for name, text in files.items():
        (vocab_dir / name).write_text(text)
    tokenizer = CLIPTokenizer(str(vocab_dir / 'vocab.json'), str(vocab_dir / 'merges.txt'), model_max_length=16)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=16, projection_dim=32, bos_token_id=0, eos_token_id=1, pad_token_id=1))
    unet = tiny_unet()
    vae = AutoencoderKL(block_out_channels=(8, 16, 16, 16), in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=['DownEncoderBlock2D'] * 4, up_block_types=['UpDecoderBlock2D'] * 4,
                        norm_num_groups=8, layers_per_block=1, scaling_factor=2.0)
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear',
                                       timestep_spacing='trailing', steps_offset=1)
    for module, seed, gain in ((unet, 1, 1.0), (vae, 2, 1.0), (text_encoder, 3, 1.0)):
        spread_weights(module, seed, gain)
    pipe: Any = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                        scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                        requires_safety_checker=False)
    pipe.save_pretrained(folder)
    tiny_vae: Any = AutoencoderTiny(encoder_block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
                               num_encoder_blocks=(1, 1, 1, 1), num_decoder_blocks=(1, 1, 1, 1), latent_channels=4,
                               scaling_factor=10.0)
    spread_weights(tiny_vae, 4, 1.3)
    tiny_vae.save_pretrained(models_dir / 'taesd')
    return folder


def build_tiny_sdxl(models_dir: Path) -> Path:
    """Write a tiny SDXL model (two text encoders, pooled embeddings, time ids) as `<models>/sdxl-turbo`."""
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    sd = models_dir / 'sd-turbo'
    folder = models_dir / 'sdxl-turbo'
    tokenizer = CLIPTokenizer.from_pretrained(sd / 'tokenizer')
    config = CLIPTextConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                            num_attention_heads=4, max_position_embeddings=16, projection_dim=32, bos_token_id=0,
                            eos_token_id=1, pad_token_id=1)
    text_encoder, text_encoder_2 = CLIPTextModel(config), CLIPTextModelWithProjection(config)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=('DownBlock2D', 'CrossAttnDownBlock2D'), up_block_types=('CrossAttnUpBlock2D', 'UpBlock2D'),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type='text_time',
        addition_time_embed_dim=8, projection_class_embeddings_input_dim=6 * 8 + 32, cross_attention_dim=64,
        norm_num_groups=8)
    for module, seed in ((unet, 11), (text_encoder, 12), (text_encoder_2, 13)):
        spread_weights(module, seed, 1.0)
    pipe: Any = StableDiffusionXLPipeline(
        vae=AutoencoderKL.from_pretrained(sd / 'vae'), text_encoder=text_encoder, text_encoder_2=text_encoder_2,
        tokenizer=tokenizer, tokenizer_2=tokenizer, unet=unet,
        scheduler=EulerDiscreteScheduler.from_pretrained(sd / 'scheduler'))
    pipe.save_pretrained(folder)
    for name in ('tokenizer', 'tokenizer_2'):
        for file in ('vocab.json', 'merges.txt'):
            shutil.copy(sd / 'tokenizer' / file, folder / name / file)
    shutil.copytree(models_dir / 'taesd', models_dir / 'taesdxl', dirs_exist_ok=True)
    return folder


def tiny_unet() -> Any:
    """A two-level UNet2DConditionModel (a few ms per step at 128x128 on a CPU)."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=('DownBlock2D', 'CrossAttnDownBlock2D'), up_block_types=('CrossAttnUpBlock2D', 'UpBlock2D'),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=8)


def build_tiny_lora(unet_folder: Path, path: Path, seed: int = 5, strength: float = 1.0) -> Path:
    """A LoRA for the tiny UNet (peft layers, diffusers key names) saved as one .safetensors file."""
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig, get_peft_model_state_dict

    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_pretrained(unet_folder)
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                target_modules=['to_q', 'to_k', 'to_v', 'to_out.0']))
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    layers = {key: value * strength for key, value in layers.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(path.parent, unet_lora_layers=layers, weight_name=path.name,
                                              safe_serialization=True)
    return path


def spread_weights(module: Any, seed: int, gain: float) -> None:
    """Re-draw the weights so a random network's output clearly follows its inputs (prompt, seed, image)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if parameter.dim() > 1:
                fan_in = parameter[0].numel()
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * gain / math.sqrt(fan_in))
            elif 'norm' not in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)


def test_tiny_models_have_the_layout_model_management_expects(tmp_path: Path) -> None:
    """The tiny model set holds every file the pipeline's default model needs, in Hugging Face layout."""
    assert missing(required_models(STREAMDIFFUSION), tmp_path)
    folder = build_tiny_models(tmp_path)
    assert missing(required_models(STREAMDIFFUSION), tmp_path) == []
    assert json.loads((folder / 'model_index.json').read_text())['_class_name'] == 'StableDiffusionPipeline'
    lora = build_tiny_lora(folder / 'unet', tmp_path / 'lora' / 'style.safetensors')
    assert lora.stat().st_size > 1000
