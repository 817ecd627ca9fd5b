"""`python -m pipeline.download --pipeline ID`: download a pipeline's model files, like Scope's download_models."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from config import Config

from .model_store import DownloadError, DownloadInProgress, DownloadManager, DownloadProgress, missing, required_models
from .registry import default_registry


def main(argv: list[str] | None = None) -> int:
    """Download the files of one pipeline into the models dir, printing a progress line; returns the exit code."""
    parser = argparse.ArgumentParser(prog='download_models', description='Download the model files of a pipeline.')
    parser.add_argument('--pipeline', required=True, help='pipeline id, e.g. streamdiffusion')
    parser.add_argument('--model-id', default=None, help='a model other than the default (a Hugging Face repo id)')
    parser.add_argument('--models-dir', type=Path, default=None, help='models folder (default: DREAMSTAGE_MODELS_DIR)')
    args = parser.parse_args(argv)
    config = Config.from_env()
    models_dir = (args.models_dir or config.models_dir).expanduser()
    registry = default_registry()
    registry.register_plugins(config.pipeline_plugins)
    spec = registry.resolve(args.pipeline)
    if spec is None:
        print(f"Unknown pipeline '{args.pipeline}'. Available: {', '.join(sorted(registry.specs))}", file=sys.stderr)
        return 2
    try:
        models = required_models(spec.info, {'model_id': args.model_id} if args.model_id else None)
    except ValueError as error:
        print(f'Invalid model id: {error}', file=sys.stderr)
        return 2
    if not missing(models, models_dir):
        print(f'{spec.info.id}: every model file is in {models_dir}')
        return 0
    try:
        DownloadManager(models_dir, endpoint=config.hf_endpoint).download(spec.info.id, models, token=config.hf_token,
                                                                          listener=_print_progress)
    except (DownloadError, DownloadInProgress) as error:
        print(f'\n{error}', file=sys.stderr)
        return 1
    print(f'\n{spec.info.id}: downloaded into {models_dir}')
    return 0


def _print_progress(progress: DownloadProgress) -> None:
    if progress.error:
        return
    line = (f'\r{progress.current_artifact}: {progress.percentage:5.1f}% '
            f'({progress.downloaded_bytes / 1e6:,.1f} of {progress.total_bytes / 1e6:,.1f} MB) {progress.current_file}')
    sys.stdout.write(line[:150].ljust(150))
    sys.stdout.flush()


def cli() -> None:
    """The `download_models` console script."""
    sys.exit(main())


if __name__ == '__main__':
    cli()
