"""Model files on disk: where a pipeline's files live and which are missing."""
from __future__ import annotations

from pathlib import Path

from .protocol import PipelineInfo


def model_folder(models_dir: Path, repo_id: str) -> Path:
    """Files of a repository live in `<models>/<last segment of the repo id>/`, as in Scope."""
    return models_dir / repo_id.rstrip('/').split('/')[-1]


def missing_files(info: PipelineInfo, models_dir: Path) -> list[str]:
    """Required files (or non-empty folders) that are not on disk yet, as paths relative to the models dir."""
    missing: list[str] = []
    for model in info.model_files:
        folder = model_folder(models_dir, model.repo_id)
        for name in model.files:
            path = folder / name
            present = path.is_file() or (path.is_dir() and any(path.iterdir()))
            if not present:
                missing.append(str(path.relative_to(models_dir)))
    return missing
