"""Colour tables: brightness x hue → RGB, from cosine palettes and from the colour words a prompt is near."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

LEVELS = 256  # brightness rows, from shadow to highlight
HUES = 64  # hue columns, cyclic

# (words the prompt is compared with, a ramp from shadow to highlight, RGB 0..1)
COLOUR_ANCHORS: list[tuple[str, tuple[tuple[float, float, float], ...]]] = [
    ('red, crimson, scarlet, blood',
     ((0.02, 0.0, 0.01), (0.45, 0.02, 0.06), (0.92, 0.16, 0.14), (1.0, 0.62, 0.45))),
    ('fire, flames, lava, burning embers',
     ((0.02, 0.0, 0.0), (0.55, 0.08, 0.0), (1.0, 0.45, 0.02), (1.0, 0.92, 0.55))),
    ('orange, amber, autumn leaves',
     ((0.02, 0.01, 0.0), (0.48, 0.16, 0.02), (0.96, 0.52, 0.12), (1.0, 0.88, 0.62))),
    ('gold, yellow, sunlight, desert sand',
     ((0.02, 0.01, 0.0), (0.42, 0.26, 0.03), (0.94, 0.74, 0.24), (1.0, 0.97, 0.78))),
    ('green, forest, leaves, jungle, moss',
     ((0.0, 0.02, 0.01), (0.04, 0.30, 0.10), (0.36, 0.76, 0.22), (0.88, 1.0, 0.62))),
    ('teal, turquoise, cyan, lagoon',
     ((0.0, 0.02, 0.03), (0.0, 0.32, 0.36), (0.12, 0.80, 0.76), (0.80, 1.0, 0.95))),
    ('blue, ocean, sea, water, underwater',
     ((0.0, 0.01, 0.05), (0.02, 0.16, 0.50), (0.12, 0.52, 0.96), (0.76, 0.94, 1.0))),
    ('purple, violet, lavender, amethyst',
     ((0.02, 0.0, 0.05), (0.30, 0.06, 0.52), (0.68, 0.32, 0.96), (1.0, 0.82, 1.0))),
    ('pink, rose, magenta, candy',
     ((0.03, 0.0, 0.02), (0.56, 0.08, 0.38), (1.0, 0.42, 0.70), (1.0, 0.86, 0.94))),
    ('night, city lights, midnight, stars',
     ((0.0, 0.0, 0.02), (0.06, 0.04, 0.30), (0.30, 0.30, 0.80), (1.0, 0.80, 0.50))),
    ('sunset, dusk, evening sky',
     ((0.04, 0.0, 0.08), (0.56, 0.08, 0.30), (1.0, 0.46, 0.16), (1.0, 0.90, 0.52))),
    ('ice, snow, winter, frost, glacier',
     ((0.01, 0.03, 0.06), (0.24, 0.44, 0.66), (0.66, 0.86, 1.0), (1.0, 1.0, 1.0))),
    ('neon, cyberpunk, synthwave, laser',
     ((0.02, 0.0, 0.06), (0.70, 0.0, 0.56), (0.0, 0.86, 1.0), (0.94, 0.96, 1.0))),
    ('black and white, gray, monochrome, smoke',
     ((0.0, 0.0, 0.0), (0.26, 0.26, 0.27), (0.66, 0.66, 0.67), (1.0, 1.0, 1.0))),
    ('earth, brown, wood, chocolate, coffee',
     ((0.02, 0.01, 0.0), (0.28, 0.13, 0.05), (0.66, 0.42, 0.22), (0.98, 0.86, 0.66))),
]


class ColourAnchors:
    """How near a prompt embedding is to each colour word: the nearest ones' ramps and a confidence."""

    def __init__(self, encode: Callable[[str], np.ndarray]) -> None:
        self.directions = np.stack([np.asarray(encode(words), np.float32).reshape(-1) for words, _ in COLOUR_ANCHORS])
        self.ramps = np.stack([_ramp(stops) for _, stops in COLOUR_ANCHORS])  # anchors x 3 x LEVELS
        self.chroma = np.linalg.norm(self.ramps - self.ramps.mean(axis=1, keepdims=True), axis=1)

    def table(self, embedding: np.ndarray) -> tuple[np.ndarray, float]:
        """A colour table (3 x LEVELS x HUES) from the nearest colour words, and how strongly the prompt names any."""
        # the nearest words' ramp fills the table, the runners-up's ramp comes in around the middle of the hues
        if embedding.shape[0] != self.directions.shape[1]:
            return np.repeat(self.ramps[0][:, :, None], HUES, axis=2), 0.0
        similarity = self.directions @ embedding
        weights = _softmax(similarity, 0.025)
        runners_up = weights * (1.0 - weights) ** 3
        runners_up /= max(float(runners_up.sum()), 1e-8)
        strength = float(np.clip((similarity.max() - similarity.mean() - 0.06) / 0.14, 0.0, 1.0)) * 0.9
        main, accent = self._mix(weights), self._mix(runners_up)
        return main[:, :, None] + (accent - main)[:, :, None] * _ACROSS, strength

    def _mix(self, weights: np.ndarray) -> np.ndarray:
        """The weighted ramps with their colourfulness kept (red and blue blend to purple, not to grey)."""
        mixed = np.tensordot(weights, self.ramps, axes=1)
        grey = mixed.mean(axis=0, keepdims=True)
        wanted = np.tensordot(weights, self.chroma, axes=1)
        have = np.linalg.norm(mixed - grey, axis=0)
        boost = np.minimum(wanted / np.maximum(have, 1e-4), 3.0)
        return np.clip(grey + (mixed - grey) * boost, 0.0, 1.0).astype(np.float32)


def cosine_table(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, drift: float) -> np.ndarray:
    """Inigo Quilez's palette a + b·cos(2π(c·t + d)) as a table, t around the hues, rising from black to white."""
    t = (_HUE[None, :] + np.float32(drift) * _LEVEL[:, None]) * np.float32(2 * np.pi)
    colour = np.empty((3, LEVELS, HUES), np.float32)
    for k in range(3):
        np.multiply(t, np.float32(c[k]), out=colour[k])
        colour[k] += np.float32(2 * np.pi * d[k])
        np.cos(colour[k], out=colour[k])
        colour[k] *= np.float32(b[k])
        colour[k] += np.float32(a[k])
    np.clip(colour, 0.0, 1.0, out=colour)
    colour *= _RISE
    colour += _WHITE
    return np.clip(colour, 0.0, 1.0, out=colour)


def flat(table: np.ndarray) -> np.ndarray:
    """The table as 3 contiguous float32 rows of LEVELS·HUES entries (index = level·HUES + hue)."""
    return np.ascontiguousarray(table.reshape(3, LEVELS * HUES), dtype=np.float32)


def _ramp(stops: tuple[tuple[float, float, float], ...]) -> np.ndarray:
    """A smooth ramp through the stops from shadow (level 0) to highlight (level 1)."""
    level = np.linspace(0.0, 1.0, LEVELS)
    positions = np.linspace(0.0, 1.0, len(stops)) ** 1.2
    colours = np.asarray(stops, np.float64)
    return np.stack([np.interp(level, positions, colours[:, k]) for k in range(3)])


def _softmax(values: np.ndarray, temperature: float) -> np.ndarray:
    weights = np.exp((values - values.max()) / temperature)
    return weights / weights.sum()


def _triangle(size: int) -> np.ndarray:
    """0 → 1 → 0 over a cycle of `size` steps, so the table wraps around without a seam."""
    u = np.arange(size, dtype=np.float64) / size
    return 1.0 - np.abs(2.0 * u - 1.0)


def _ease(x: np.ndarray) -> np.ndarray:
    return x * x * (3.0 - 2.0 * x)


_LEVEL = np.linspace(0.0, 1.0, LEVELS, dtype=np.float32)
_HUE = _triangle(HUES).astype(np.float32)
_RISE = (0.03 + 1.05 * _LEVEL ** 1.3)[:, None]  # brightness from near black up through the palette
_WHITE = (0.55 * _LEVEL ** 6)[:, None]  # and on to a soft white at the top
_ACROSS = (0.85 * _ease(np.clip((_triangle(HUES) - 0.45) / 0.3, 0.0, 1.0))).astype(np.float32)  # accent share
