"""`dreamstage generate` without a server: the same batch service, in this process, on a temporary data folder."""
from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from config import DEFAULT_PIPELINE, Config
from services.batch_request import GenerateRequest
from services.context import ServerContext
from services.errors import ServiceError

from .progress import ProgressBar


def run_in_process(args: argparse.Namespace, request: dict[str, Any],
                   load_params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Load the pipeline here, generate with a progress bar, write the result; the last event."""
    config = Config.from_env()
    config.data_dir = Path(tempfile.mkdtemp(prefix='dreamstage-generate-'))
    context = ServerContext.build(config)
    try:
        return asyncio.run(_generate(context, args, request, load_params))
    except ServiceError as error:
        raise ValueError(error.message) from None
    finally:
        context.manager.unload_all()
        shutil.rmtree(config.data_dir, ignore_errors=True)


async def _generate(context: ServerContext, args: argparse.Namespace, request: dict[str, Any],
                    load_params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    pipeline_id = args.pipeline or DEFAULT_PIPELINE
    await load(context, pipeline_id, load_params)
    batch = context.batch
    if args.input is not None:
        pipeline = context.manager.instance(pipeline_id)
        scaled = pipeline is not None and not pipeline.keeps_input_size
        width, height = (pipeline.width, pipeline.height) if pipeline is not None and scaled else (None, None)
        request['input_path'] = (await batch.import_video(args.input, args.frames, width, height))['input_path']
    generation = batch.start(GenerateRequest.model_validate({**request, 'pipeline_id': pipeline_id}))
    bar = ProgressBar(args.frames)
    name, data = 'error', dict[str, Any](error='no events')
    try:
        async for event in generation.stream():
            if event.name == 'progress':
                bar.update(event.data)
            name, data = event.name, event.data
    except asyncio.CancelledError:  # Ctrl-C: stop after the current chunk, keep what was made
        generation.cancel()
        await asyncio.to_thread(generation.finished.wait)
        last = generation.last
        name, data = (last.name, last.data) if last else (name, data)
    finally:
        bar.close()
    if name != 'error' and data['video_shape'][0] > 0:
        if args.output.suffix.lower() == '.bin':
            raw, _ = batch.output(data['output_path'])
            shutil.copyfile(raw, args.output)
        else:
            shutil.copyfile(await batch.mp4(data['output_path']), args.output)
    return name, data


async def load(context: ServerContext, pipeline_id: str, load_params: dict[str, Any], timeout: float = 600) -> None:
    """Load a pipeline as `POST /api/v1/pipeline/load` does and wait for it."""
    manager = context.manager
    manager.load(manager.validate([(pipeline_id, pipeline_id, load_params)]))  # LoadRequestError is a ValueError
    deadline = time.monotonic() + timeout
    while manager.status()['status'] == 'loading' and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    status = manager.status()
    if status['status'] != 'loaded':
        raise ValueError(f'{pipeline_id} did not load: {status.get("error") or status["status"]}')
