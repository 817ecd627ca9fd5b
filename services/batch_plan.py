"""Planning a batch generation: which pipelines run, how many chunks, and each chunk's checked message and inputs.

Everything a request can get wrong is found here, before the first chunk runs: unknown pipelines and ids, modes,
sizes, blob regions past the end, and every chunk's parameters through the one parameter gate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.manager import PipelineManager
from pipeline.protocol import Pipeline
from pipeline.validation import InvalidParameters, check_parameters

from .batch_blob import BlobArray, blob_array
from .batch_files import BatchFiles
from .batch_loras import LoraScales, load_time_scales
from .batch_request import ChunkSpec, GenerateRequest, PlanError
from .errors import ServiceError
from .raw_video import HEADER_SIZE, read_shape

DEFAULT_TRANSITION_STEPS = 4
CHUNK_ONLY_FIELDS = ('seed', 'noise_scale', 'kv_cache_attention_bias', 'noise_controller', 'manage_cache',
                     'vace_context_scale', 'prompt_interpolation_method')


@dataclass(slots=True)
class ChunkPlan:
    """What one chunk with its own values sends, and the blob regions it reads."""

    message: dict[str, Any]
    input_video: BlobArray | None = None
    vace_frames: BlobArray | None = None
    vace_masks: BlobArray | None = None


@dataclass(slots=True)
class GenerationPlan:
    """A checked generation: pipelines, chunking, messages (base + the chunks with their own values) and inputs."""

    pipeline: Pipeline
    pipeline_id: str
    pre: Pipeline | None
    post: Pipeline | None
    num_frames: int
    chunk_size: int
    total_chunks: int
    base: dict[str, Any]
    special: dict[int, ChunkPlan]
    input_video: Path | None = None
    blob: Path | None = None
    held: list[str] = field(default_factory=list)

    def chunk(self, index: int) -> ChunkPlan:
        """The message and inputs of chunk `index`."""
        return self.special.get(index) or ChunkPlan(self.base)

    @property
    def fps(self) -> float:
        return self.pipeline.info.fps


def plan_generation(request: GenerateRequest, manager: PipelineManager, files: BatchFiles) -> GenerationPlan:
    """Check a request against the loaded pipelines and the uploaded files; PlanError says what is wrong."""
    pipeline = find_pipeline(manager, request.pipeline_id, 'pipeline_id')
    pre = find_pipeline(manager, request.pre_processor_id, 'pre_processor_id') if request.pre_processor_id else None
    post = find_pipeline(manager, request.post_processor_id, 'post_processor_id') if request.post_processor_id else None
    info = pipeline.info
    for name, value, actual in (('height', request.height, pipeline.height), ('width', request.width, pipeline.width)):
        if value is not None and value != actual and not pipeline.keeps_input_size:
            raise PlanError(f'{name} {value} differs from the loaded {request.pipeline_id} ({pipeline.width}x'
                            f'{pipeline.height}): load the pipeline at that size, or leave {name} out')
    chunk_size = max(1, info.chunk_size)
    total = math.ceil(request.num_frames / chunk_size)
    specs = merged_specs(request.chunk_specs or [], total)
    plan = GenerationPlan(pipeline=pipeline, pipeline_id=request.pipeline_id, pre=pre, post=post,
                          num_frames=request.num_frames, chunk_size=chunk_size, total_chunks=total,
                          base=base_message(request, pipeline), special={})
    try:
        if request.input_path is not None:
            plan.input_video = files.path(request.input_path, 'input')
            check_stored_video(plan.input_video)
            plan.held.append(request.input_path)
        if request.data_blob_path is not None:
            plan.blob = files.path(request.data_blob_path, 'data')
            plan.held.append(request.data_blob_path)
    except ServiceError as error:
        raise PlanError(error.message) from None
    blob_size = plan.blob.stat().st_size if plan.blob else None
    special = sorted({0, *specs, *(i + 1 for i, s in specs.items() if s.lora_scales is not None and i + 1 < total)})
    lora = LoraScales(load_time_scales(pipeline.params), request.lora_scales)
    for index in special:
        spec = specs.get(index)
        message = chunk_message(request, plan.base, spec, first=index == 0)
        lora.add(message, spec)
        chunk = ChunkPlan(message)
        if spec is not None:
            chunk.input_video = blob_array(spec, 'input_video', blob_size)
            chunk.vace_frames = blob_array(spec, 'vace_frames', blob_size)
            chunk.vace_masks = blob_array(spec, 'vace_masks', blob_size)
            if chunk.vace_masks is not None and chunk.vace_frames is None:
                raise PlanError(f'chunk {index}: vace_masks need vace_frames (vace_frames_offset and shape)')
            if chunk.vace_frames is not None:
                message['vace_temporally_locked'] = spec.vace_temporally_locked
        plan.special[index] = chunk
    check_modes(plan, specs)
    for chunk in [ChunkPlan(plan.base), *plan.special.values()]:
        for target in filter(None, (pipeline, pre, post)):
            gate(chunk.message, target, index_of(plan, chunk))
    return plan


def find_pipeline(manager: PipelineManager, pipeline_id: str | None, field_name: str) -> Pipeline:
    """A loaded pipeline by id, node id or alias (PlanError naming what is loaded)."""
    if pipeline_id:
        instance = manager.instance(pipeline_id)
        if instance is None:
            spec = manager.registry.resolve(pipeline_id)
            instance = manager.instance(spec.info.id) if spec is not None else None
        if instance is not None:
            return instance
    loaded = ', '.join(manager.loaded_chain()) or 'none'
    raise PlanError(f"{field_name} '{pipeline_id}' is not a loaded pipeline (loaded: {loaded}). "
                    'Load it first: POST /api/v1/pipeline/load')


def merged_specs(specs: list[ChunkSpec], total: int) -> dict[int, ChunkSpec]:
    """The chunk specs by chunk index; two specs for one chunk merge (the later one's fields win)."""
    merged: dict[int, ChunkSpec] = {}
    for spec in specs:
        if spec.chunk >= total:
            raise PlanError(f'chunk_specs: chunk {spec.chunk} is past the last chunk ({total - 1}) of this generation')
        if spec.chunk in merged:
            earlier = merged[spec.chunk].model_dump(exclude_unset=True)
            spec = ChunkSpec.model_validate({**earlier, **spec.model_dump(exclude_unset=True)})
        merged[spec.chunk] = spec
    return merged


def base_message(request: GenerateRequest, pipeline: Pipeline) -> dict[str, Any]:
    """The values every chunk sends (request-level defaults)."""
    message: dict[str, Any] = {
        'seed': request.seed, 'noise_scale': request.noise_scale, 'manage_cache': request.manage_cache,
        'prompt_interpolation_method': request.prompt_interpolation_method,
        'vace_context_scale': request.vace_context_scale,
        'noise_controller': request.noise_controller, 'kv_cache_attention_bias': request.kv_cache_attention_bias,
        'vace_use_input_video': request.vace_use_input_video,
        'denoising_step_list': request.denoising_steps or pipeline.info.default_denoising_steps,
    }
    return {key: value for key, value in message.items() if value is not None}


def chunk_message(request: GenerateRequest, base: dict[str, Any], spec: ChunkSpec | None,
                  first: bool) -> dict[str, Any]:
    """The message of a chunk with its own values: the base, its prompt change, overrides and one-shot keys."""
    message = dict(base)
    if first:
        message['prompts'] = request.prompt_items()
    if spec is None:
        return message
    if spec.prompts is not None:
        message['prompts'] = [item.model_dump() for item in spec.prompts]
    elif spec.text is not None:
        message['prompts'] = [{'text': spec.text, 'weight': 1.0}]
    for name in CHUNK_ONLY_FIELDS:
        value = getattr(spec, name)
        if value is not None:
            message[name] = value
    if spec.transition_target_prompts is not None:
        steps = DEFAULT_TRANSITION_STEPS if spec.transition_num_steps is None else spec.transition_num_steps
        targets = [item.model_dump() for item in spec.transition_target_prompts]
        message['transition'] = {'target_prompts': targets, 'num_steps': steps,
                                 'temporal_interpolation_method': spec.transition_method or 'linear'}
    if spec.reset_cache:
        message['reset_cache'] = True
    if spec.vace_ref_images is not None:
        message['vace_ref_images'] = list(spec.vace_ref_images)
    if spec.first_frame_image is not None:
        message['first_frame_image'] = spec.first_frame_image
    if spec.last_frame_image is not None:
        message['last_frame_image'] = spec.last_frame_image
    ends = (spec.first_frame_image is not None, spec.last_frame_image is not None)
    if any(ends):
        message['extension_mode'] = {(True, False): 'firstframe', (False, True): 'lastframe'}.get(ends,
                                                                                                 'firstlastframe')
    return message


def check_modes(plan: GenerationPlan, specs: dict[int, ChunkSpec]) -> None:
    """Each chunk's mode (video when it has input frames) must be one its pipelines support."""
    modes = plan.pipeline.info.supported_modes
    every_chunk_has_video = plan.input_video is not None or all(
        (spec := specs.get(i)) is not None and spec.input_video_offset is not None for i in range(plan.total_chunks))
    some_video = plan.input_video is not None or any(s.input_video_offset is not None for s in specs.values())
    name = plan.pipeline.info.id
    if some_video and 'video' not in modes:
        raise PlanError(f'{name} takes no input video (it generates from text only): leave out input_path and '
                        'input_video_offset')
    if not every_chunk_has_video and 'text' not in modes:
        raise PlanError(f'{name} needs an input video for every chunk: upload one (input_path) or give every chunk '
                        'an input_video_offset')
    for role, processor in (('pre_processor_id', plan.pre), ('post_processor_id', plan.post)):
        if processor is not None and 'video' not in processor.info.supported_modes:
            raise PlanError(f'{role} {processor.info.id} takes no video, so it cannot process frames')
    if plan.pre is not None and not every_chunk_has_video:
        raise PlanError('pre_processor_id needs an input video for every chunk (it processes the input frames)')


def check_stored_video(path: Path) -> None:
    """An uploaded video's header and size agree (PlanError otherwise)."""
    try:
        frames, height, width, channels = read_shape(path)
    except ValueError as error:
        raise PlanError(f'input_path: {error}') from None
    if path.stat().st_size != HEADER_SIZE + frames * height * width * channels or frames == 0:
        raise PlanError('input_path: the stored video is damaged; upload it again')


def gate(message: dict[str, Any], pipeline: Pipeline, index: int | None) -> None:
    """The one parameter gate, with the chunk named in the error."""
    try:
        check_parameters(message, pipeline.info)
    except InvalidParameters as error:
        where = 'request' if index is None else f'chunk {index}'
        raise PlanError(f'{where}: invalid parameters for {pipeline.info.id}: {error}') from None


def index_of(plan: GenerationPlan, chunk: ChunkPlan) -> int | None:
    return next((index for index, special in plan.special.items() if special is chunk), None)
