"""What the StreamDiffusion pipeline declares: load parameters, runtime controls and the model files it needs."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from ..protocol import LoadParams, ModelFiles, PipelineInfo

DEFAULT_MODEL = 'stabilityai/sd-turbo'
SD_FILES = ['model_index.json', 'scheduler/scheduler_config.json', 'text_encoder/config.json',
            'text_encoder/model.safetensors', 'tokenizer/tokenizer_config.json', 'tokenizer/vocab.json',
            'tokenizer/merges.txt', 'unet/config.json', 'unet/diffusion_pytorch_model.safetensors', 'vae/config.json',
            'vae/diffusion_pytorch_model.safetensors']
SDXL_FILES = [*SD_FILES, 'text_encoder_2/config.json', 'text_encoder_2/model.safetensors',
              'tokenizer_2/tokenizer_config.json', 'tokenizer_2/vocab.json', 'tokenizer_2/merges.txt']
TINY_VAE_FILES = ['config.json', 'diffusion_pytorch_model.safetensors']
LORA_FILES = ['pytorch_lora_weights.safetensors']
TINY_VAES = {'sdxl': 'madebyollin/taesdxl', 'sd': 'madebyollin/taesd'}
LCM_LORAS = {'sdxl': 'latent-consistency/lcm-lora-sdxl', 'sd': 'latent-consistency/lcm-lora-sdv1-5'}
Family = Literal['sd', 'sdxl']


def _ui(order: int, label: str, *, load: bool = False, **extra: Any) -> dict[str, Any]:
    """The studio metadata (`ui`) of a field."""
    return {'ui': {'category': 'configuration' if load else 'input', 'is_load_param': load, 'order': order,
                   'label': label, **extra}}


class LoraFile(BaseModel):
    """A LoRA file to load: a path (absolute, or relative to the LoRA folder) and its strength."""

    path: str
    scale: float = Field(default=1.0, ge=-10, le=10)
    merge_mode: Literal['permanent_merge', 'runtime_peft'] | None = None


class StreamDiffusionLoadParams(LoadParams):
    """Load parameters: the model, autoencoder, LoRAs and the acceleration options."""

    model_id: str = Field(default=DEFAULT_MODEL, min_length=1, json_schema_extra=_ui(
        4, 'Model (Hugging Face repo id or local diffusers folder)', load=True))
    use_tiny_vae: bool = Field(default=True, json_schema_extra=_ui(5, 'Tiny autoencoder (TAESD)', load=True))
    tiny_vae_id: str | None = Field(default=None, json_schema_extra=_ui(6, 'TAESD model', load=True))
    use_lcm_lora: bool | None = Field(default=None, json_schema_extra=_ui(
        7, 'LCM-LoRA (default: for non-turbo SD1.5/SDXL models)', load=True))
    lcm_lora_id: str | None = Field(default=None, json_schema_extra=_ui(8, 'LCM-LoRA model', load=True))
    loras: list[LoraFile] | None = Field(default=None, json_schema_extra=_ui(9, 'LoRAs', load=True, component='lora'))
    lora_dict: dict[str, float] | None = Field(default=None, json_schema_extra=_ui(
        10, 'LoRAs {path: scale}', load=True))
    lora_merge_mode: Literal['permanent_merge', 'runtime_peft'] = Field(
        default='permanent_merge', json_schema_extra=_ui(11, 'LoRA merge mode', load=True))
    use_denoising_batch: bool = Field(default=True, json_schema_extra=_ui(12, 'Stream batch', load=True))
    cfg_type: Literal['none', 'full', 'self', 'initialize'] = Field(default='self', json_schema_extra=_ui(
        13, 'Guidance (residual CFG: self / initialize)', load=True))
    do_add_noise: bool = Field(default=True, json_schema_extra=_ui(14, 'Re-noise between steps', load=True))
    device: Literal['auto', 'cuda', 'cpu'] = Field(default='auto', json_schema_extra=_ui(15, 'Device', load=True))
    dtype: Literal['auto', 'float16', 'bfloat16', 'float32'] = Field(
        default='auto', json_schema_extra=_ui(16, 'Precision (auto: fp16 on CUDA)', load=True))
    channels_last: bool = Field(default=True, json_schema_extra=_ui(17, 'Channels-last (CUDA)', load=True))
    compile: bool = Field(default=False, json_schema_extra=_ui(18, 'torch.compile', load=True))
    cuda_graphs: bool = Field(default=False, json_schema_extra=_ui(19, 'CUDA graphs', load=True))

    def unavailable(self) -> str | None:
        """CUDA-only choices without CUDA are refused up front: loaded anyway, the stream would deliver nothing."""
        half = self.dtype in ('float16', 'bfloat16')
        if half and self.device == 'cpu':
            return f'precision {self.dtype} needs a CUDA GPU, and device is cpu: choose precision float32 or auto'
        if (half or self.device == 'cuda') and not cuda_available():
            asked = [choice for choice in (f'device {self.device}' if self.device == 'cuda' else '',
                                           f'precision {self.dtype}' if half else '') if choice]
            return (f'{" and ".join(asked)} {"need" if len(asked) > 1 else "needs"} a CUDA GPU, and this machine has '
                    'none: choose auto (the CPU computes in float32)')
        return None

    def model_files(self) -> list[ModelFiles]:
        """The repositories these parameters need (a local model folder needs none)."""
        family = model_family(self.model_id)
        models: list[ModelFiles] = []
        if not is_local_model(self.model_id):
            models.append(ModelFiles(self.model_id, SDXL_FILES if family == 'sdxl' else SD_FILES))
        if self.use_tiny_vae:
            models.append(ModelFiles(self.tiny_vae_repo(), TINY_VAE_FILES))
        if self.wants_lcm_lora(family):
            models.append(ModelFiles(self.lcm_lora_repo(), LORA_FILES))
        return models

    def tiny_vae_repo(self) -> str:
        """The TAESD repository for this model's family."""
        return self.tiny_vae_id or TINY_VAES[model_family(self.model_id)]

    def lcm_lora_repo(self) -> str:
        """The LCM-LoRA repository for this model's family."""
        return self.lcm_lora_id or LCM_LORAS[model_family(self.model_id)]

    def wants_lcm_lora(self, family: Family) -> bool:
        """LCM-LoRA when asked, or by default for SD1.5/SDXL checkpoints that are not turbo or LCM models."""
        if self.use_lcm_lora is not None:
            return self.use_lcm_lora
        name = self.model_id.lower()
        if 'turbo' in name or 'lcm' in name:
            return False
        if is_local_model(self.model_id):
            return _cross_attention_dim(self.model_id) in (768, 2048)
        return not any(tag in name for tag in ('2-1', '2.1', '2-base', 'sd21'))


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (torch is imported only when a load asks for CUDA-only choices)."""
    import torch  # heavy: declaring the pipeline does not import it
    return bool(torch.cuda.is_available())


class StreamDiffusionControls(BaseModel):
    """Runtime controls (data-channel keys, Scope's and Daydream's names); none of them reloads the model."""

    denoising_step_list: list[int] | None = Field(default=None, json_schema_extra=_ui(
        19, 'Denoising steps', component='denoising_steps'))  # Scope's timesteps, mapped onto the schedule
    t_index_list: list[int] = Field(default=[12, 20, 32], min_length=1, max_length=8, json_schema_extra=_ui(
        20, 'Denoising steps (t_index_list)'))
    num_inference_steps: int = Field(default=50, ge=1, le=200, json_schema_extra=_ui(21, 'Schedule steps'))
    guidance_scale: float = Field(default=1.0, ge=0, le=20, json_schema_extra=_ui(
        22, 'Guidance scale', modulatable=True, modulatable_min=0.0, modulatable_max=5.0))
    delta: float = Field(default=0.7, ge=0, le=1, json_schema_extra=_ui(
        23, 'Delta (residual noise)', modulatable=True, modulatable_min=0.0, modulatable_max=1.0))
    seed: int = Field(default=42, ge=0, json_schema_extra=_ui(24, 'Seed'))
    negative_prompt: str = Field(default='blurry, low quality, flat, 2d', json_schema_extra=_ui(25, 'Negative prompt'))
    manage_cache: bool = Field(default=True, json_schema_extra=_ui(26, 'Manage cache', component='cache'))

    @field_validator('t_index_list')
    @classmethod
    def _non_decreasing(cls, steps: list[int]) -> list[int]:
        if any(s < 0 for s in steps) or steps != sorted(steps):
            raise ValueError('t_index_list must be non-decreasing indices, each at least 0')
        return steps


def is_local_model(model_id: str) -> bool:
    """Whether a model id names a local folder rather than a Hugging Face repository."""
    return model_id.startswith(('/', '~', '.')) or Path(model_id).expanduser().is_dir()


def model_family(model_id: str) -> Family:
    """SDXL or SD (1.x/2.x), from a local folder's UNet config, else from the repo name."""
    if is_local_model(model_id):
        config = _unet_config(model_id)
        return 'sdxl' if config.get('addition_embed_type') == 'text_time' else 'sd'
    return 'sdxl' if 'xl' in model_id.lower() else 'sd'


def _unet_config(model_id: str) -> dict[str, Any]:
    path = Path(model_id).expanduser() / 'unet' / 'config.json'
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def _cross_attention_dim(model_id: str) -> int | None:
    value = _unet_config(model_id).get('cross_attention_dim') if is_local_model(model_id) else None
    return value if isinstance(value, int) else None


STREAMDIFFUSION = PipelineInfo(
    id='streamdiffusion',
    name='StreamDiffusion',
    description='Per-frame image diffusion after StreamDiffusion (Kodaira et al. 2023): sd-turbo, sdxl-turbo or '
                'SD1.5 with LCM-LoRA, text-to-image or video-to-video, stream batch, residual CFG, TAESD and LoRAs. '
                'Real-time on a CUDA GPU; runs (slowly) on the CPU.',
    supported_modes=['text', 'video'],
    default_mode='text',
    default_width=512,
    default_height=512,
    dimension_multiple=64,
    chunk_size=1,
    fps=30.0,
    supports_lora=True,
    supports_negative_prompt=True,
    default_denoising_steps=[760, 600, 360],  # the default t_index_list [12, 20, 32] of 50 steps, as timesteps
    default_temporal_interpolation_method='slerp',
    default_temporal_interpolation_steps=8,
    estimated_vram_gb=4.0,
    model_files=StreamDiffusionLoadParams().model_files(),
    load_params=StreamDiffusionLoadParams,
    runtime_params=StreamDiffusionControls,
    docs_url='https://github.com/cumulo-autumn/StreamDiffusion',
)
