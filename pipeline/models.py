"""Model files on disk: where a repository's files live in the models dir."""
from __future__ import annotations

from pathlib import Path


def model_folder(models_dir: Path, repo_id: str) -> Path:
    """Files of a repository live in `<models>/<last segment of the repo id>/`, as in Scope."""
    return models_dir / repo_id.rstrip('/').split('/')[-1]

