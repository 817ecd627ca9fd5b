"""What this machine can run: whether a CUDA device is there (torch is imported on first use)."""
from __future__ import annotations

import logging
from functools import cache

log = logging.getLogger(__name__)


@cache
def cuda_available() -> bool:
    """Whether torch sees a CUDA device."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        log.debug('no CUDA', exc_info=True)
        return False
