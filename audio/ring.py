"""A ring buffer of the latest mono samples, addressed by absolute sample position."""
from __future__ import annotations

import numpy as np


class RingBuffer:
    """The last `capacity` samples of a mono float32 signal; `written` counts every sample ever written."""

    def __init__(self, capacity: int) -> None:
        self.data = np.zeros(capacity, np.float32)
        self.capacity = capacity
        self.written = 0

    def write(self, samples: np.ndarray) -> None:
        """Append samples (older ones fall out)."""
        count = len(samples)
        if count == 0:
            return
        if count >= self.capacity:
            self.data[:] = samples[-self.capacity:]
            self.written += count
            self.data = np.roll(self.data, self.written % self.capacity)
            return
        start = self.written % self.capacity
        first = min(count, self.capacity - start)
        self.data[start:start + first] = samples[:first]
        self.data[:count - first] = samples[first:]
        self.written += count

    def span(self, start: int, stop: int) -> np.ndarray:
        """Samples at absolute positions [start, stop); positions never written or already dropped read as zero."""
        out = np.zeros(stop - start, np.float32)
        low, high = max(start, self.written - self.capacity, 0), min(stop, self.written)
        if high <= low:
            return out
        begin, end = low % self.capacity, (high - 1) % self.capacity + 1
        if begin < end:
            out[low - start:high - start] = self.data[begin:end]
        else:
            split = self.capacity - begin
            out[low - start:low - start + split] = self.data[begin:]
            out[low - start + split:high - start] = self.data[:end]
        return out

    def latest(self, count: int) -> np.ndarray:
        """The last `count` samples (zero-padded at the start of the signal)."""
        return self.span(self.written - count, self.written)
