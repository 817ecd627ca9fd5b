"""Memory for frames: large buffers stay with the process instead of going back to the system after every frame."""
from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
KEEP_BYTES = 256 * 1024 * 1024


def keep_frame_memory() -> bool:
    """Tell glibc's allocator to serve frame-sized buffers from its heap and keep freed memory for reuse.

    Every frame allocates and frees arrays of hundreds of kilobytes (numpy temporaries, decoded and converted video
    frames). glibc hands buffers that size out as fresh mappings and returns them on free, so each frame paid for
    mapping, zeroed page faults and unmapping again: on a busy machine that was the largest single cost of
    Dreamfield's video-to-video (its feedback step took 4 ms instead of 1). Returns whether the allocator took it
    (False on systems without glibc, where nothing changes).
    """
    name = ctypes.util.find_library('c')
    try:
        libc = ctypes.CDLL(name) if name else ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    done = bool(mallopt(M_MMAP_THRESHOLD, KEEP_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))
    log.debug('frame memory kept by the allocator: %s', done)
    return done
