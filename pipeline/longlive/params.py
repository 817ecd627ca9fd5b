"""Load parameters and runtime controls shared by the causal Wan pipelines (Scope's names where Scope has them)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator

from ..causal.config import CausalConfig
from ..causal.paths import ModelPaths
from ..models import model_folder
from ..protocol import LoadParams, ModelFiles

WAN_BASE = 'Wan-AI/Wan2.1-T2V-1.3B-Diffusers'
BASE_FILES = ['model_index.json', 'text_encoder', 'tokenizer']
WAN_VAE_FILES = ['vae/config.json', 'vae/diffusion_pytorch_model.safetensors']
TINY_VAE_REPO = 'lightx2v/Autoencoders'
TINY_VAE_FILES = {'tae': 'taew2_1.pth', 'lighttae': 'lighttaew2_1.pth'}
VaeType = Literal['wan', 'tae', 'lighttae']


def ui(order: int, label: str, *, load: bool = False, **extra: Any) -> dict[str, Any]:
    """The studio metadata (`ui`) of a field."""
    return {'ui': {'category': 'configuration' if load else 'input', 'is_load_param': load, 'order': order,
                   'label': label, **extra}}


class LoraFile(BaseModel):
    """A style LoRA to load: a path (absolute, or relative to the LoRA folder) and its strength."""

    path: str
    scale: float = Field(default=1.0, ge=-10, le=10)
    merge_mode: Literal['permanent_merge', 'runtime_peft'] | None = None


class CausalWanLoadParams(LoadParams):
    """Load parameters: the models (base, causal weights, autoencoder, LoRAs), precision and memory."""

    causal: ClassVar[CausalConfig] = CausalConfig()  # chunk, sink, window and schedule of the pipeline
    checkpoint_file: ClassVar[str] = ''  # the causal weights inside `weights_id`
    checkpoint_lora_file: ClassVar[str | None] = None  # their own LoRA, merged at load

    model_id: str = Field(default=WAN_BASE, min_length=1, json_schema_extra=ui(
        4, 'Base model: Wan2.1 diffusers repo or folder (text encoder, VAE, transformer config)', load=True))
    weights_id: str | None = Field(default=None, json_schema_extra=ui(
        5, 'Causal weights: repo or folder (none: the base model folder has them)', load=True))
    vae_type: VaeType = Field(default='wan', json_schema_extra=ui(
        6, 'VAE (wan: full quality; tae/lighttae: tiny and fast)', load=True))
    tiny_vae_id: str = Field(default=TINY_VAE_REPO, json_schema_extra=ui(7, 'Tiny VAE repo or folder', load=True))
    loras: list[LoraFile] | None = Field(default=None, json_schema_extra=ui(8, 'LoRAs', load=True, component='lora'))
    lora_merge_strategy: Literal['permanent_merge', 'runtime_peft'] = Field(
        default='permanent_merge', json_schema_extra=ui(9, 'LoRA merge strategy', load=True, component='lora'))
    quantization: Literal['fp8_e4m3fn'] | None = Field(default=None, json_schema_extra=ui(
        10, 'Quantization (fp8: half the transformer memory)', load=True, component='quantization'))
    warp_denoising_steps: bool = Field(default=True, json_schema_extra=ui(
        11, 'Map denoising steps through the shifted timestep grid', load=True))
    device: Literal['auto', 'cuda', 'cpu'] = Field(default='auto', json_schema_extra=ui(12, 'Device', load=True))
    dtype: Literal['auto', 'bfloat16', 'float16', 'float32'] = Field(
        default='auto', json_schema_extra=ui(13, 'Precision (auto: bf16 on CUDA)', load=True))
    text_encoder_device: Literal['auto', 'cuda', 'cpu'] = Field(default='auto', json_schema_extra=ui(
        14, 'Text encoder device (cpu saves ~11 GB of GPU memory)', load=True))
    attention: Literal['auto', 'sdpa', 'flash'] = Field(default='auto', json_schema_extra=ui(
        15, 'Attention kernel (auto: FlashAttention when installed, else SDPA)', load=True))
    compile: bool = Field(default=False, json_schema_extra=ui(16, 'torch.compile', load=True))
    cuda_graphs: bool = Field(default=False, json_schema_extra=ui(17, 'CUDA graphs', load=True))
    max_memory_gb: float | None = Field(default=None, gt=0, json_schema_extra=ui(
        18, 'GPU memory to use at most (default: what is free)', load=True))

    def model_files(self) -> list[ModelFiles]:
        """The repositories these parameters need (local folders need none)."""
        models: list[ModelFiles] = []
        if not is_local(self.model_id):
            # without a causal checkpoint the base folder's own transformer weights are the model
            transformer = ['transformer/config.json'] if self.weights_id else ['transformer']
            vae = WAN_VAE_FILES if self.vae_type == 'wan' else []
            models.append(ModelFiles(self.model_id, BASE_FILES + transformer + vae))
        if self.weights_id and not is_local(self.weights_id):
            files = [self.checkpoint_file] + ([self.checkpoint_lora_file] if self.checkpoint_lora_file else [])
            models.append(ModelFiles(self.weights_id, files))
        if self.vae_type != 'wan' and not is_local(self.tiny_vae_id):
            models.append(ModelFiles(self.tiny_vae_id, [TINY_VAE_FILES[self.vae_type]]))
        return models

    def model_paths(self, models_dir: Path) -> ModelPaths:
        """Where the files of these parameters are on disk."""
        weights = folder(self.weights_id, models_dir) if self.weights_id else None
        tiny = None
        if self.vae_type != 'wan':
            tiny = folder(self.tiny_vae_id, models_dir)
            tiny = tiny if tiny.is_file() else tiny / TINY_VAE_FILES[self.vae_type]
        lora = weights / self.checkpoint_lora_file if weights and self.checkpoint_lora_file else None
        return ModelPaths(base=folder(self.model_id, models_dir),
                          checkpoint=weights / self.checkpoint_file if weights else None,
                          checkpoint_lora=lora, tiny_autoencoder=tiny)


class CausalWanControls(BaseModel):
    """Runtime controls (data-channel keys); none of them reloads the models."""

    denoising_step_list: list[int] = Field(default=[1000, 750, 500, 250], min_length=1, max_length=8,
                                           json_schema_extra=ui(20, 'Denoising steps', component='denoising_steps',
                                                                modulatable=True, modulatable_min=100,
                                                                modulatable_max=1000))
    noise_scale: float = Field(default=0.7, ge=0, le=1, json_schema_extra=ui(
        21, 'Noise scale (video input)', component='noise', modes=['video'], modulatable=True,
        modulatable_min=0.0, modulatable_max=1.0))
    manage_cache: bool = Field(default=True, json_schema_extra=ui(22, 'Manage cache', component='cache'))
    prompt_recache: bool = Field(default=True, json_schema_extra=ui(
        23, 'Recompute the cache on a prompt change (immediate, coherent switch)'))
    seed: int = Field(default=42, ge=0, json_schema_extra=ui(24, 'Seed'))

    @field_validator('denoising_step_list')
    @classmethod
    def _steps_in_range(cls, steps: list[int]) -> list[int]:
        if any(not 0 < s <= 1000 for s in steps):
            raise ValueError('denoising steps must be between 1 and 1000')
        return steps


def is_local(model_id: str) -> bool:
    """Whether an id names a local folder or file rather than a Hugging Face repository."""
    return model_id.startswith(('/', '~', '.')) or Path(model_id).expanduser().exists()


def folder(model_id: str, models_dir: Path) -> Path:
    """A local folder as given, or a repo's folder `<models>/<last segment of the repo id>`."""
    return Path(model_id).expanduser() if is_local(model_id) else model_folder(models_dir, model_id)
