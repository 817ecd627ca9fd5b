"""The field: domain-warped plane waves (q warps r, r warps the detail octaves), coloured through a palette table."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .glow import bloom
from .palette import HUES, LEVELS
from .style import MAX_OCTAVES, Style

SELF_WARP = 0.9  # how far an octave pushes the finer ones, in radians of its own phase


@dataclass(slots=True)
class Motion:
    """How far every animated phase has travelled (integrated, so speed changes never make the picture jump)."""

    q: np.ndarray
    r: np.ndarray
    detail: np.ndarray
    camera: float = 0.0
    colour: float = 0.0

    @classmethod
    def start(cls) -> Motion:
        """Every phase at its beginning."""
        return cls(np.zeros(4, np.float32), np.zeros(4, np.float32), np.zeros(MAX_OCTAVES, np.float32))

    def advance(self, style: Style, dt: float) -> None:
        """Move every phase on by its speed times the elapsed seconds."""
        self.q += style.q_waves[:, 2] * dt
        self.r += style.r_waves[:, 2] * dt
        self.detail += style.detail_waves[:, 2] * dt
        self.camera += style.camera_spin * dt
        self.colour += style.colour_speed * dt


@dataclass(slots=True)
class Controls:
    """The per-chunk knobs: detail octaves and strength (denoising steps), turbulence (noise scale)."""

    octaves: int
    strength: float
    noise: float


@dataclass(slots=True)
class Fields:
    """The intermediate fields of one frame (the stream reuses q for the feedback flow)."""

    colour: np.ndarray  # 3 x h x w float32, 0..1
    qx: np.ndarray
    qy: np.ndarray


class FieldRenderer:
    """Renders the field at the internal resolution; coordinate grids and the vignette are built once."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        unit = 2.0 / min(width, height)
        self.pixel = unit
        xs = ((np.arange(width, dtype=np.float32) + 0.5) - width / 2) * unit
        ys = ((np.arange(height, dtype=np.float32) + 0.5) - height / 2) * unit
        self.x = np.ascontiguousarray(np.broadcast_to(xs[None, :], (height, width)))
        self.y = np.ascontiguousarray(np.broadcast_to(ys[:, None], (height, width)))
        self.radius2 = self.x * self.x + self.y * self.y
        self.angle = np.arctan2(self.y, self.x).astype(np.float32)
        self.radius = np.sqrt(self.radius2).astype(np.float32)
        self.swirl_falloff = np.exp(-1.2 * self.radius2).astype(np.float32)
        self.vignette = (1.0 - 0.32 * np.clip(self.radius2 / 2.2, 0.0, 1.0) ** 1.5).astype(np.float32)
        shape = (height, width)
        self.a, self.b, self.c = (np.empty(shape, np.float32) for _ in range(3))

    def render(self, style: Style, motion: Motion, controls: Controls,
               image: tuple[np.ndarray, np.ndarray] | None = None) -> Fields:
        """One frame of the field; `image` (luminance, edges) restyles an input video frame."""
        px, py = self._domain(style, motion, image, controls)
        turbulence = 0.35 + 1.3 * controls.noise
        qx = _wave_sum(px, py, style.q_waves[0:2], motion.q[0:2], self.a)
        qy = _wave_sum(px, py, style.q_waves[2:4], motion.q[2:4], self.a)
        warp = style.warp_q * turbulence
        ux, uy = px + warp * qx, py + warp * qy
        rx = _wave_sum(ux, uy, style.r_waves[0:2], motion.r[0:2], self.a)
        ry = _wave_sum(ux, uy, style.r_waves[2:4], motion.r[2:4], self.a)
        warp = style.warp_r * turbulence
        np.multiply(rx, warp, out=ux)
        ux += px
        np.multiply(ry, warp, out=uy)
        uy += py
        f = self._detail(ux, uy, style, motion, controls)
        return self._colour(style, motion, controls, f, qx, qy, rx, ry, image)

    def _domain(self, style: Style, motion: Motion, image: tuple[np.ndarray, np.ndarray] | None,
                controls: Controls) -> tuple[np.ndarray, np.ndarray]:
        """Screen coordinates folded (kaleidoscope, mirrors), swirled, turned by the camera and scaled."""
        x, y = self.x, self.y
        if style.kaleido > 1e-3:
            x, y = self._kaleidoscope(style.segments, style.kaleido, 0.5 * motion.camera)
        if style.fold_x > 1e-3:
            x = x + style.fold_x * (np.abs(x) - x)
        if style.fold_y > 1e-3:
            y = y + style.fold_y * (np.abs(y) - y)
        angle = motion.camera
        if abs(style.swirl) > 1e-3:
            turn = self.swirl_falloff * style.swirl
            turn += angle
            cos, sin = np.cos(turn), np.sin(turn)
            px, py = (x * cos - y * sin) * style.zoom, (x * sin + y * cos) * style.zoom
        else:
            cos_a, sin_a = math.cos(angle) * style.zoom, math.sin(angle) * style.zoom
            px, py = x * cos_a - y * sin_a, x * sin_a + y * cos_a
        if image is not None:
            bend = 1.2 * (1.0 - 0.5 * controls.noise)
            px += bend * image[0]
            py -= bend * image[0]
        return px, py

    def _kaleidoscope(self, segments: int, amount: float, turn: float) -> tuple[np.ndarray, np.ndarray]:
        """The screen folded into `segments` mirrored wedges, blended with the unfolded screen by `amount`."""
        wedge = 2 * math.pi / segments
        angle = self.angle + turn
        folded = angle * (1.0 / wedge)
        np.floor(folded, out=folded)
        folded *= -wedge
        folded += angle
        folded -= 0.5 * wedge
        np.abs(folded, out=folded)
        x = np.cos(folded)
        x *= self.radius
        x -= self.x
        x *= amount
        x += self.x
        y = np.sin(folded, out=folded)
        y *= self.radius
        y -= self.y
        y *= amount
        y += self.y
        return x, y

    def _detail(self, ux: np.ndarray, uy: np.ndarray, style: Style, motion: Motion, controls: Controls) -> np.ndarray:
        """The detail octaves over the warped domain, sine or ridged, normalised to about -1..1."""
        gain = style.gain + 0.12 * (controls.noise - 0.5)
        turbulence = 0.4 + 1.2 * controls.noise
        total = np.zeros_like(ux)
        norm = 0.0
        amplitude = 1.0
        ridge = style.ridge
        for o in range(controls.octaves):
            kx, ky, _, phase = style.detail_waves[o]
            moved = phase + motion.detail[o]
            wave = self.b
            np.multiply(ux, kx, out=wave)
            wave += ky * uy
            wave += moved
            np.sin(wave, out=wave)
            if ridge > 1e-3:  # ridged: bright thin crests where the wave peaks
                np.abs(wave, out=self.c)
                self.c *= -2.0
                self.c += 1.0
                self.c -= wave
                self.c *= ridge
                wave += self.c
            if o + 1 < controls.octaves:  # each octave pushes the finer ones along its crests: turbulence
                push = SELF_WARP * turbulence / float(kx * kx + ky * ky)
                np.multiply(wave, -ky * push, out=self.c)
                ux += self.c
                np.multiply(wave, kx * push, out=self.c)
                uy += self.c
            norm += amplitude
            wave *= amplitude * self._resolvable(float(kx * kx + ky * ky) ** 0.5, style)
            total += wave
            amplitude *= gain
        total *= 1.0 / norm
        return total

    def _resolvable(self, frequency: float, style: Style) -> float:
        """1 for octaves the grid resolves, fading to 0 for finer ones (they would only alias into grain)."""
        radians_per_pixel = frequency * style.zoom * (1.0 + 0.3 * abs(style.swirl)) * self.pixel
        return min(max((0.45 - radians_per_pixel) / 0.25, 0.0), 1.0)

    def _colour(self, style: Style, motion: Motion, controls: Controls, f: np.ndarray, qx: np.ndarray,
                qy: np.ndarray, rx: np.ndarray, ry: np.ndarray,
                image: tuple[np.ndarray, np.ndarray] | None) -> Fields:
        """Brightness from f plus glowing ribbons where r crosses zero, hue from the warp fields; then the table."""
        level = f * (0.55 * style.contrast * (0.55 + 0.45 * controls.strength))
        level += 0.5
        np.clip(level, 0.0, 1.0, out=level)
        smooth = level * level
        level *= -2.0
        level += 3.0
        level *= smooth  # smoothstep
        if style.darkness > 1e-3:
            level *= 1.0 - style.darkness * (1.0 - level)
        ribbon = ry + 0.35 * f
        ribbon *= ribbon
        width = style.glow_width * (0.6 + 0.8 * controls.noise)
        ribbon += width
        np.divide(width, ribbon, out=ribbon)
        ribbon *= ribbon  # a thin bright core with a soft halo
        ribbon *= style.glow * (0.5 + 0.5 * controls.strength)
        level += ribbon
        wf, wr, wq = style.colour_weights
        hue = wf * f + wr * rx
        hue += wq * qy
        hue += style.colour_offset + motion.colour
        if image is not None:
            luminance, edges = image
            keep = 1.0 - 0.8 * controls.noise
            level *= 1.0 - keep
            level += keep * (0.05 + 1.1 * luminance)
            level += keep * 0.8 * edges
            hue += keep * 0.5 * luminance
        bloom(level, 0.55, max(1, round(min(self.width, self.height) / 40)), style.bloom)
        level *= -1.5
        np.exp(level, out=level)
        np.subtract(1.0, level, out=level)  # highlights saturate softly instead of clipping
        level *= self.vignette
        return Fields(self._lookup(style.table, level, hue), qx, qy)

    def _lookup(self, table: np.ndarray, level: np.ndarray, hue: np.ndarray) -> np.ndarray:
        """RGB planes from the colour table at (brightness level 0..1, cyclic hue)."""
        np.multiply(level, LEVELS - 1, out=level)
        level += 0.5
        np.clip(level, 0.0, LEVELS - 1, out=level)
        index = level.astype(np.intp)
        index *= HUES
        hue *= HUES
        slot = hue.astype(np.intp)
        slot &= HUES - 1
        index += slot
        colour = np.empty((3, self.height, self.width), np.float32)
        for k in range(3):
            np.take(table[k], index, out=colour[k])
        return colour


def _wave_sum(x: np.ndarray, y: np.ndarray, waves: np.ndarray, travelled: np.ndarray,
              scratch: np.ndarray) -> np.ndarray:
    """The mean of plane waves sin(kx·x + ky·y + phase) over the grid."""
    total = np.zeros_like(x)
    for (kx, ky, _, phase), moved in zip(waves, travelled, strict=True):
        np.multiply(x, kx, out=scratch)
        scratch += ky * y
        scratch += phase + moved
        np.sin(scratch, out=scratch)
        total += scratch
    total *= 1.0 / len(waves)
    return total
