"""From a prompt embedding and a seed to the look of the field: continuous everywhere, deterministic."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .archetypes import Archetypes
from .features import FEATURES, FORM, SEGMENT_RANGE, Feature, span, unit
from .palette import ColourAnchors, cosine_table, flat

MAX_OCTAVES = 8
PROJECTION_SEED = 0x0D5EA3F1E1D
LOOKS_REMEMBERED = 32
TURN = 0.45  # radians of wave direction per unit of a feature: lower keeps similar prompts alike


@dataclass(slots=True)
class Style:
    """Everything a prompt and a seed decide; waves are rows of (kx, ky, speed, phase)."""

    zoom: float
    segments: int
    kaleido: float
    fold_x: float
    fold_y: float
    swirl: float
    q_waves: np.ndarray
    r_waves: np.ndarray
    detail_waves: np.ndarray
    warp_q: float
    warp_r: float
    ridge: float
    gain: float
    colour_weights: tuple[float, float, float]
    colour_offset: float
    colour_speed: float
    table: np.ndarray
    glow: float
    glow_width: float
    bloom: float
    contrast: float
    darkness: float
    feedback: float
    zoom_rate: float
    spin_rate: float
    advect: float
    camera_spin: float


@dataclass(slots=True)
class Look:
    """What a conditioning asks for, before the seed: the feature vector and the colour table."""

    features: np.ndarray
    table: np.ndarray

    def toward(self, target: Look, share: float) -> Look:
        """A step of `share` of the way to `target`; the target itself once the rest is too small to see."""
        if target is self:
            return self
        rest = max(float(np.abs(target.features - self.features).max()), float(np.abs(target.table - self.table).max()))
        if rest < 2e-3:
            return target
        return Look(self.features + share * (target.features - self.features),
                    self.table + np.float32(share) * (target.table - self.table))


class StyleMapper:
    """Maps an embedding (any length, usually 384) to a `Look`, and a look plus a seed to a `Style`."""

    # features = the scene archetypes' mix (form and look) + a fixed random projection of the embedding (mostly
    # look, a little form): every prompt has its own colours while similar prompts keep nearly the same form

    def __init__(self, size: int, archetypes: Archetypes | None = None, anchors: ColourAnchors | None = None) -> None:
        rng = np.random.default_rng(PROJECTION_SEED)
        self.projection = rng.standard_normal((FEATURES, size)).astype(np.float32)
        self.projection_weight = np.full(FEATURES, 0.65)
        self.projection_weight[[*FORM, Feature.KALEIDO]] = 0.2
        self.projection_weight[Feature.SEGMENTS] = 0.0
        self.archetypes = archetypes
        self.anchors = anchors
        self.looks: dict[bytes, Look] = {}

    def look(self, embedding: np.ndarray) -> Look:
        """The look of an embedding (the last few are remembered)."""
        key = embedding.tobytes()
        if key not in self.looks:
            if len(self.looks) >= LOOKS_REMEMBERED:
                self.looks.pop(next(iter(self.looks)))
            e = _fit(embedding, self.projection.shape[1])
            length = float(np.linalg.norm(e))
            e = e / length if length > 1e-8 else e
            z = self.projection_weight * (self.projection @ e).astype(np.float64)
            if self.archetypes is not None:
                z += self.archetypes(e)
            self.looks[key] = Look(z, self._palette(embedding, z))
        return self.looks[key]

    def style(self, look: Look, seed: int) -> Style:
        """The style of a look under a seed (the seed turns the waves and shifts their phases)."""
        z = look.features
        variation = np.random.default_rng([seed & 0xFFFFFFFF, 0xD5])
        turns = variation.uniform(0.0, 2 * np.pi, 16)
        phases = variation.uniform(0.0, 2 * np.pi, 16)
        signs = variation.choice([-1.0, 1.0], 16)
        q, r = Feature.Q_ANGLE, Feature.R_ANGLE
        segments = span(z[Feature.SEGMENTS], *SEGMENT_RANGE)
        nearest = round(segments)
        return Style(
            zoom=span(z[Feature.ZOOM], 1.4, 2.8),
            segments=nearest,
            kaleido=unit(3.0 * z[Feature.KALEIDO] - 2.0) * (1.0 - (2.0 * abs(segments - nearest)) ** 8),
            fold_x=unit(3.0 * z[Feature.FOLD_X] - 1.5),
            fold_y=unit(3.0 * z[Feature.FOLD_Y] - 2.5),
            swirl=span(z[Feature.SWIRL], -2.4, 2.4) * unit(3.0 * z[Feature.SWIRL_ON] - 1.0),
            q_waves=_waves(z[q:q + 4], z[Feature.Q_FREQUENCY], 0.6, 1.4, turns[0:4], phases[0:4], signs[0:4],
                           span(z[Feature.Q_SPEED], 0.08, 0.30)),
            r_waves=_waves(z[r:r + 4], z[Feature.R_FREQUENCY], 0.9, 2.0, turns[4:8], phases[4:8], signs[4:8],
                           span(z[Feature.R_SPEED], 0.10, 0.36)),
            detail_waves=_octaves(z[Feature.DETAIL_ANGLE], z[Feature.DETAIL_FREQUENCY],
                                  span(z[Feature.LACUNARITY], 1.7, 2.2), turns[8], phases, signs),
            warp_q=span(z[Feature.WARP_Q], 0.5, 2.2),
            warp_r=span(z[Feature.WARP_R], 0.6, 2.6),
            ridge=unit(2.0 * z[Feature.RIDGE]),
            gain=span(z[Feature.GAIN], 0.42, 0.6),
            colour_weights=(span(z[Feature.COLOUR_F], 0.35, 0.9), span(z[Feature.COLOUR_R], -0.5, 0.5),
                            span(z[Feature.COLOUR_Q], -0.4, 0.4)),
            colour_offset=float(z[Feature.COLOUR_OFFSET]) * 0.3,
            colour_speed=span(z[Feature.COLOUR_SPEED], -0.05, 0.05),
            table=look.table,
            glow=span(z[Feature.GLOW], 0.15, 0.9),
            glow_width=span(z[Feature.GLOW_WIDTH], 0.008, 0.04),
            bloom=span(z[Feature.BLOOM], 0.3, 1.2),
            contrast=span(z[Feature.CONTRAST], 0.9, 1.8),
            darkness=span(z[Feature.DARKNESS], 0.1, 0.8),
            feedback=span(z[Feature.FEEDBACK], 0.25, 0.55),
            zoom_rate=span(z[Feature.ZOOM_RATE], -0.006, 0.012),
            spin_rate=span(z[Feature.SPIN_RATE], -0.004, 0.004),
            advect=span(z[Feature.ADVECT], 0.3, 1.6),
            camera_spin=span(z[Feature.CAMERA_SPIN], -0.06, 0.06),
        )

    def _palette(self, embedding: np.ndarray, z: np.ndarray) -> np.ndarray:
        """A cosine palette from the features, pulled towards the colour words the prompt is near."""
        a, b, c, d = Feature.PALETTE_A, Feature.PALETTE_B, Feature.PALETTE_C_SPREAD, Feature.PALETTE_D
        table = cosine_table(np.array([span(z[a + k], 0.42, 0.58) for k in range(3)]),
                             np.array([span(z[b + k], 0.42, 0.55) for k in range(3)]),
                             span(z[Feature.PALETTE_C], 0.45, 1.0) + np.array([span(z[c + k], -0.12, 0.12)
                                                                              for k in range(3)]),
                             np.array([z[d + k] * 0.3 for k in range(3)]),
                             span(z[Feature.PALETTE_DRIFT], -0.45, 0.45))
        if self.anchors is not None:
            e = _fit(embedding, self.anchors.directions.shape[1])
            named, strength = self.anchors.table(e / max(float(np.linalg.norm(e)), 1e-8))
            table += np.float32(strength) * (named - table)
        return flat(table)


def _waves(angles: np.ndarray, frequency: float, low: float, high: float, turns: np.ndarray, phases: np.ndarray,
           signs: np.ndarray, speed: float) -> np.ndarray:
    """Four plane waves: directions from the embedding turned by the seed, frequencies in [low, high]."""
    rows = []
    for i, angle in enumerate(angles):
        theta = TURN * angle + turns[i]
        k = span(0.7 * frequency + 0.3 * angle, low, high)
        rows.append((k * np.cos(theta), k * np.sin(theta), signs[i] * speed * (0.7 + 0.15 * i), phases[i]))
    return np.asarray(rows, np.float32)


def _octaves(angle: float, frequency: float, lacunarity: float, turn: float, phases: np.ndarray,
             signs: np.ndarray) -> np.ndarray:
    """Detail octaves: each one finer by `lacunarity` and turned by the golden angle."""
    base = span(frequency, 1.2, 2.2)
    rows = []
    for o in range(MAX_OCTAVES):
        theta = TURN * angle + turn + 2.39996 * o
        k = base * lacunarity ** o
        rows.append((k * np.cos(theta), k * np.sin(theta), signs[8 + o] * (0.25 + 0.12 * o), phases[8 + o]))
    return np.asarray(rows, np.float32)


def _fit(embedding: np.ndarray, size: int) -> np.ndarray:
    """The embedding as a float32 vector of `size` (tiled or cut when another encoder made it)."""
    e = np.asarray(embedding, np.float32).reshape(-1)
    if e.shape[0] == size:
        return e
    if e.shape[0] == 0:
        return np.zeros(size, np.float32)
    return np.resize(e, size)
