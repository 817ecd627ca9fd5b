"""Loading a StreamDiffusion model set from disk (never from the network): diffusers pipeline, VAE, LoRAs, devices."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..model_store import missing
from ..models import model_folder
from .info import StreamDiffusionLoadParams, is_local_model, model_family
from .loras import LoraSet

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ModelSet:
    """The loaded modules and where they run."""

    pipe: Any  # a diffusers StableDiffusion(XL)Pipeline: text encoders, tokenizers, LoRA loading
    unet: Callable[..., Any]  # the UNet as called per frame (compiled when asked)
    vae: Any
    vae_dtype: torch.dtype
    scheduler: Any
    loras: LoraSet
    device: torch.device
    dtype: torch.dtype
    sdxl: bool
    latent_scale: float
    tiny_vae: bool

    @property
    def pooled_dim(self) -> int | None:
        """The width of SDXL's pooled text embedding (None for SD)."""
        return int(self.pipe.text_encoder_2.config.projection_dim) if self.sdxl else None


def load_models(params: StreamDiffusionLoadParams, models_dir: Path, lora_dir: Path,
                report: Callable[[str], None]) -> ModelSet:
    """Load everything the parameters name from the models and LoRA folders; raises FileNotFoundError when absent."""
    from diffusers import AutoencoderTiny, LCMScheduler, StableDiffusionPipeline, StableDiffusionXLPipeline
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.disable_progress_bar()
    device, dtype = choose_device(params.device, params.dtype)
    folder = model_path(params.model_id, models_dir)
    _check_files(params, folder, models_dir)
    family = model_family(str(folder))
    sdxl = family == 'sdxl'
    report(f'Loading {params.model_id}...')
    pipeline_class = StableDiffusionXLPipeline if sdxl else StableDiffusionPipeline
    extra: dict[str, Any] = {} if sdxl else {'safety_checker': None, 'requires_safety_checker': False}
    pipe = pipeline_class.from_pretrained(folder, local_files_only=True, use_safetensors=True, feature_extractor=None,
                                          image_encoder=None, **_dtype_argument(dtype), **extra)
    pipe.set_progress_bar_config(disable=True)
    pipe.to(device)
    report('Loading LoRAs...')
    lcm_lora = None
    if params.wants_lcm_lora(family):
        lcm_lora = model_folder(models_dir, params.lcm_lora_repo()) / 'pytorch_lora_weights.safetensors'
    loras = LoraSet(pipe, params, lora_dir, lcm_lora)
    vae, vae_dtype, tiny = _autoencoder(params, pipe, models_dir, family, device, dtype, AutoencoderTiny)
    scheduler = LCMScheduler.from_config(pipe.scheduler.config)
    if device.type == 'cuda' and params.channels_last:
        pipe.unet.to(memory_format=torch.channels_last)
        vae.to(memory_format=torch.channels_last)
    unet = _unet_call(pipe.unet, params, device)
    return ModelSet(pipe, unet, vae, vae_dtype, scheduler, loras, device, dtype, sdxl,
                    float(vae.config.scaling_factor), tiny)


def choose_device(device: str, dtype: str) -> tuple[torch.device, torch.dtype]:
    """CUDA when present (fp16 there), else the CPU in float32."""
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('device cuda was asked for, but no CUDA GPU is available')
    if device == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    names = {'float16': torch.float16, 'bfloat16': torch.bfloat16, 'float32': torch.float32}
    chosen = names.get(dtype) or (torch.float16 if device == 'cuda' else torch.float32)
    return torch.device(device), chosen


def model_path(model_id: str, models_dir: Path) -> Path:
    """A local diffusers folder as given, or a repo's folder `<models>/<last segment of the repo id>`."""
    return Path(model_id).expanduser() if is_local_model(model_id) else model_folder(models_dir, model_id)


def _check_files(params: StreamDiffusionLoadParams, folder: Path, models_dir: Path) -> None:
    """A load never downloads: missing files stop it with a message that says how to get them."""
    if is_local_model(params.model_id) and not (folder / 'model_index.json').is_file():
        raise FileNotFoundError(f'{folder} is not a diffusers model folder (it has no model_index.json)')
    if absent := missing(params.model_files(), models_dir):
        raise FileNotFoundError(f'Model files are not downloaded (missing {absent[0]} in {models_dir}). Download '
                                'them first: POST /api/v1/models/download {"pipeline_id": "streamdiffusion", '
                                f'"model_id": "{params.model_id}"}} or python -m pipeline.download --pipeline '
                                f'streamdiffusion --model-id {params.model_id}')


def _autoencoder(params: StreamDiffusionLoadParams, pipe: Any, models_dir: Path, family: str, device: torch.device,
                 dtype: torch.dtype, tiny_class: Any) -> tuple[Any, torch.dtype, bool]:
    """TAESD when asked, else the model's own VAE (kept in float32 where it overflows in float16, as SDXL's does)."""
    if params.use_tiny_vae:
        vae = tiny_class.from_pretrained(model_folder(models_dir, params.tiny_vae_repo()), local_files_only=True,
                                         **_dtype_argument(dtype)).to(device)
        return vae.eval(), dtype, True
    vae = pipe.vae
    if family == 'sdxl' and dtype == torch.float16 and vae.config.get('force_upcast', False):
        vae.to(dtype=torch.float32)
        return vae, torch.float32, False
    return vae, dtype, False


def _dtype_argument(dtype: torch.dtype) -> dict[str, torch.dtype]:
    """diffusers' `from_pretrained` takes `dtype` in recent releases and `torch_dtype` before."""
    from diffusers.utils import deprecation_utils

    return {'dtype' if hasattr(deprecation_utils, '_TORCH_DTYPE_DEPRECATION_MESSAGE') else 'torch_dtype': dtype}


def _unet_call(unet: Any, params: StreamDiffusionLoadParams, device: torch.device) -> Callable[..., Any]:
    """The per-frame UNet: optionally torch.compile'd, with CUDA graphs (`reduce-overhead`) on CUDA when asked."""
    module = unet
    graphs = params.cuda_graphs and device.type == 'cuda'
    if params.compile or graphs:
        mode = {(True, True): 'max-autotune', (False, True): 'reduce-overhead'}.get(
            (params.compile, graphs), 'max-autotune-no-cudagraphs')
        log.info('compiling the UNet (%s)', mode)
        module = torch.compile(unet, mode=mode, fullgraph=False, dynamic=False)

    def call(latents: torch.Tensor, timesteps: torch.Tensor, hidden: torch.Tensor,
             added: dict[str, torch.Tensor] | None) -> torch.Tensor:
        return module(latents, timesteps, encoder_hidden_states=hidden, added_cond_kwargs=added, return_dict=False)[0]

    return call
