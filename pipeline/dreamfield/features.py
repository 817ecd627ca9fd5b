"""The feature vector between an embedding and a style: named slots, each about standard normal."""
from __future__ import annotations

import math
from enum import IntEnum

FEATURES = 56
SEGMENT_RANGE = (2.6, 8.4)


class Feature(IntEnum):
    """Where each look-deciding number sits in the feature vector (the wave angles take four slots each)."""

    ZOOM = 0
    Q_ANGLE = 1
    Q_FREQUENCY = 5
    Q_SPEED = 6
    R_ANGLE = 7
    R_FREQUENCY = 11
    R_SPEED = 12
    DETAIL_ANGLE = 13
    DETAIL_FREQUENCY = 14
    LACUNARITY = 15
    FOLD_X = 16
    FOLD_Y = 17
    SWIRL = 18
    SWIRL_ON = 19
    WARP_Q = 20
    WARP_R = 21
    RIDGE = 22
    GAIN = 23
    COLOUR_F = 24
    COLOUR_R = 25
    COLOUR_Q = 26
    COLOUR_OFFSET = 27
    COLOUR_SPEED = 28
    GLOW = 29
    GLOW_WIDTH = 30
    CONTRAST = 31
    DARKNESS = 32
    FEEDBACK = 33
    ZOOM_RATE = 34
    SPIN_RATE = 35
    ADVECT = 36
    CAMERA_SPIN = 37
    SEGMENTS = 38
    KALEIDO = 39
    PALETTE_A = 40
    PALETTE_B = 43
    PALETTE_C = 46
    PALETTE_C_SPREAD = 47
    PALETTE_D = 50
    PALETTE_DRIFT = 53
    BLOOM = 54


FORM = range(Feature.ZOOM, Feature.COLOUR_F)  # the shape-deciding slots (plus SEGMENTS and KALEIDO)


def unit(x: float) -> float:
    """A smooth step from 0 to 1 (0.5 at x=0)."""
    return 0.5 + 0.5 * math.tanh(x)


def span(x: float, low: float, high: float) -> float:
    """A feature mapped smoothly into [low, high]."""
    return low + (high - low) * unit(0.8 * x)


def segments_feature(count: int) -> float:
    """The feature value whose `span` over SEGMENT_RANGE is exactly `count` kaleidoscope segments."""
    low, high = SEGMENT_RANGE
    return math.atanh(2 * (count - low) / (high - low) - 1) / 0.8
