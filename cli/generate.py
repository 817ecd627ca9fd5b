"""`dreamstage generate`: render a clip offline from prompts (and a timeline, and an input video) to an MP4."""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from config import Config
from services.batch_video import decode_to_raw

from .client import ApiError, GenerateClient
from .progress import ProgressBar

EXAMPLES = '''examples:
  dreamstage generate --prompt "a glowing jellyfish" --frames 90 -o jelly.mp4
  dreamstage generate --prompt "ink in water" --input clip.mp4 --server http://gpu-box:8000 -o out.mp4
  dreamstage generate --prompt "dawn" --timeline timeline.json -o story.mp4

A timeline is a JSON list of chunk specs (or {"chunk_specs": [...]}), as the generate API takes them, e.g.
  [{"chunk": 30, "text": "noon"}, {"chunk": 60, "transition_target_prompts": [{"text": "dusk"}],
    "transition_num_steps": 15}]
One chunk is one pipeline call: one frame on dreamfield and streamdiffusion, 12 on video models.'''


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='dreamstage generate', epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description='Render a clip offline, chunk by chunk, deterministic for a seed.')
    parser.add_argument('--prompt', required=True, help='the prompt of the first chunk')
    parser.add_argument('--frames', type=int, default=64, help='frames to render (1-10000, default 64)')
    parser.add_argument('--input', type=Path, help='a video to transform (video-to-video)')
    parser.add_argument('--timeline', type=Path, help='a JSON file of chunk specs: prompt changes, transitions, ...')
    parser.add_argument('--seed', type=int, default=42, help='the seed (default 42): same seed, same video')
    parser.add_argument('--noise-scale', type=float, default=None, help='how far video-to-video may move (0-1)')
    parser.add_argument('--pipeline', help='the pipeline (default: the one the server has loaded, else dreamfield)')
    parser.add_argument('--width', type=int, help='load the pipeline at this width')
    parser.add_argument('--height', type=int, help='load the pipeline at this height')
    parser.add_argument('--server', help='a running Dreamstage (or Scope) server, e.g. http://127.0.0.1:8000; '
                                         'without it the pipeline runs in this process')
    parser.add_argument('--api-key', help="the server's API key (default: DREAMSTAGE_API_KEY)")
    parser.add_argument('-o', '--output', type=Path, required=True, help='where to write the result (.mp4, or '
                                                                         '.bin for the raw THWC format)')
    args = parser.parse_args(argv)
    if not 1 <= args.frames <= 10_000:
        parser.error('--frames must be between 1 and 10000')
    if args.input is not None and not args.input.is_file():
        parser.error(f'--input {args.input}: no such file')
    return args


def main(argv: list[str]) -> int:
    """Run `dreamstage generate`; the exit status."""
    args = parse_args(argv)
    try:
        request = build_request(args)
    except (OSError, ValueError) as error:
        print(f'dreamstage generate: {error}', file=sys.stderr)
        return 2
    load_params = {key: value for key, value in (('width', args.width), ('height', args.height)) if value}
    try:
        if args.server:
            outcome = run_on_server(args, request, load_params)
        else:
            from .local import run_in_process  # loads torch and the pipelines only when needed

            outcome = run_in_process(args, request, load_params)
    except (ApiError, OSError, ValueError) as error:
        print(f'dreamstage generate: {error}', file=sys.stderr)
        return 1
    name, data = outcome
    if name == 'error':
        print(f'dreamstage generate: the generation failed: {data.get("error")}', file=sys.stderr)
        return 1
    frames, height, width, _ = data['video_shape']
    what = 'cancelled, wrote what was done' if name == 'cancelled' else 'wrote'
    print(f'{what}: {args.output} ({frames} frames, {width}x{height})', file=sys.stderr)
    return 130 if name == 'cancelled' else 0


def build_request(args: argparse.Namespace) -> dict[str, Any]:
    """The GenerateRequest body (without pipeline_id and input_path)."""
    request: dict[str, Any] = {'prompt': args.prompt, 'num_frames': args.frames, 'seed': args.seed}
    if args.noise_scale is not None:
        request['noise_scale'] = args.noise_scale
    if args.timeline is not None:
        timeline = json.loads(args.timeline.read_text())
        specs = timeline.get('chunk_specs') if isinstance(timeline, dict) else timeline
        if not isinstance(specs, list):
            raise ValueError(f'{args.timeline}: expected a list of chunk specs or {{"chunk_specs": [...]}}')
        request['chunk_specs'] = specs
    return request


def run_on_server(args: argparse.Namespace, request: dict[str, Any],
                  load_params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Generate on a running server over its API, with a progress bar; download the result."""
    client = GenerateClient(args.server, args.api_key or Config.from_env().api_key)
    try:
        request['pipeline_id'] = client.ensure_pipeline(args.pipeline, load_params)
        if args.input is not None:
            with tempfile.TemporaryDirectory(prefix='dreamstage-input-') as folder:
                raw = Path(folder) / 'input.bin'
                decode_to_raw(args.input, raw, args.frames, args.width, args.height)
                request['input_path'] = client.upload_video(raw)
        bar = ProgressBar(args.frames)
        try:
            name, data = client.generate(request, bar.update)
        finally:
            bar.close()
        if name != 'error' and data['video_shape'][0] > 0:
            client.download(data['output_path'], args.output, mp4=args.output.suffix.lower() != '.bin')
        return name, data
    finally:
        client.close()
