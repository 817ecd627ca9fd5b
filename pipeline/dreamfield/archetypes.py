"""Scene archetypes: the kinds of picture a prompt is near (ocean, fire, city, ...), each with its own form."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .features import FEATURES, Feature, segments_feature

# Each archetype has a fixed random feature vector (seeded) with a few slots set by hand (flowers and crystals
# are kaleidoscopes, faces and cities are mirrored, fire is ridged). A prompt's features are the archetypes'
# vectors weighted by a sharp softmax of its similarity to each: similar prompts get nearly the same form while
# unrelated prompts land on different archetypes, and the weights move continuously with the embedding.
ARCHETYPE_SEED = 0xA7C4E7
TEMPERATURE = 0.05

F = Feature
ON, OFF = 1.6, -1.2
ARCHETYPES: list[tuple[str, dict[Feature, float]]] = [
    ('ocean, sea, waves, water, underwater', {F.SWIRL_ON: ON, F.KALEIDO: OFF, F.RIDGE: 1.0, F.FOLD_X: OFF, F.GAIN: 1.0,
                                             F.CONTRAST: 1.5, F.DARKNESS: 0.8, F.ZOOM: 1.0, F.GLOW: 1.8,
                                             F.GLOW_WIDTH: -1.5}),
    ('fire, flames, lava, explosion', {F.RIDGE: 1.5, F.WARP_Q: 1.2, F.KALEIDO: OFF, F.FOLD_X: OFF, F.DARKNESS: 0.8}),
    ('forest, trees, jungle, plants, nature', {F.KALEIDO: OFF, F.GAIN: 1.0, F.FOLD_X: OFF, F.SWIRL_ON: OFF}),
    ('city, street, buildings, skyline', {F.FOLD_X: ON, F.RIDGE: 1.2, F.KALEIDO: OFF, F.SWIRL_ON: OFF}),
    ('outer space, stars, galaxy, planets, astronaut', {F.SWIRL_ON: ON, F.SWIRL: 1.5, F.DARKNESS: 1.5,
                                                       F.GLOW: 1.5, F.KALEIDO: OFF, F.FOLD_X: OFF}),
    ('animals, cat, dog, bird, creature', {F.FOLD_X: ON, F.KALEIDO: OFF, F.SWIRL_ON: OFF, F.RIDGE: -0.5,
                                           F.CONTRAST: 0.8, F.ZOOM: 0.8, F.DARKNESS: 0.5}),
    ('person, face, portrait, people, human', {F.FOLD_X: ON, F.KALEIDO: OFF, F.SWIRL_ON: OFF}),
    ('flowers, garden, petals, bloom', {F.KALEIDO: ON, F.SEGMENTS: segments_feature(5), F.RIDGE: -0.5,
                                        F.ZOOM: 1.2, F.WARP_R: -0.5}),
    ('mountains, landscape, valley, hills', {F.KALEIDO: OFF, F.FOLD_X: OFF, F.RIDGE: 1.5, F.SWIRL_ON: OFF}),
    ('robots, machines, technology, computer', {F.FOLD_X: ON, F.FOLD_Y: ON, F.RIDGE: 1.5, F.KALEIDO: OFF}),
    ('food, fruit, kitchen, meal', {F.KALEIDO: ON, F.SEGMENTS: segments_feature(4), F.RIDGE: -1.0}),
    ('geometry, abstract pattern, fractal, mandala', {F.KALEIDO: ON, F.SEGMENTS: segments_feature(8)}),
    ('clouds, sky, wind, air', {F.RIDGE: -1.5, F.WARP_Q: -0.5, F.DARKNESS: -1.5, F.KALEIDO: OFF, F.FOLD_X: OFF}),
    ('ice, snow, winter, frozen', {F.KALEIDO: ON, F.SEGMENTS: segments_feature(6), F.RIDGE: 1.2}),
    ('desert, sand, dunes, sun', {F.RIDGE: -0.5, F.KALEIDO: OFF, F.SWIRL_ON: OFF, F.FOLD_X: OFF}),
    ('music, dance, party, rhythm', {F.KALEIDO: ON, F.SEGMENTS: segments_feature(7), F.CAMERA_SPIN: 1.5}),
    ('night, darkness, shadows, moon', {F.DARKNESS: 1.5, F.GLOW: 1.2, F.KALEIDO: OFF}),
    ('love, heart, romance', {F.FOLD_X: ON, F.KALEIDO: OFF, F.RIDGE: -1.0}),
    ('magic, fantasy, dream, spirits', {F.KALEIDO: ON, F.SEGMENTS: segments_feature(6), F.GLOW: 1.5,
                                        F.SWIRL_ON: ON}),
    ('storm, lightning, thunder, rain', {F.RIDGE: 2.0, F.WARP_R: 1.5, F.DARKNESS: 1.0, F.KALEIDO: OFF}),
    ('cars, vehicles, trains, roads', {F.KALEIDO: OFF, F.FOLD_X: OFF, F.CAMERA_SPIN: 1.5, F.SWIRL_ON: OFF}),
    ('temple, church, castle, architecture', {F.KALEIDO: ON, F.SEGMENTS: segments_feature(4), F.FOLD_X: ON}),
    ('crystal, gems, jewels, glass', {F.KALEIDO: ON, F.SEGMENTS: segments_feature(6), F.RIDGE: 1.5}),
    ('books, library, paper, writing', {F.FOLD_X: ON, F.KALEIDO: OFF, F.RIDGE: -0.5, F.SWIRL_ON: OFF}),
]


class Archetypes:
    """The archetype mix of an embedding, as a feature vector (about standard normal per slot)."""

    def __init__(self, encode: Callable[[str], np.ndarray]) -> None:
        self.directions = np.stack([np.asarray(encode(words), np.float32).reshape(-1) for words, _ in ARCHETYPES])
        self.features = np.random.default_rng(ARCHETYPE_SEED).standard_normal((len(ARCHETYPES), FEATURES))
        for row, (_, chosen) in enumerate(ARCHETYPES):
            for slot, value in chosen.items():
                self.features[row, slot] = value

    def __call__(self, embedding: np.ndarray) -> np.ndarray:
        if embedding.shape[0] != self.directions.shape[1]:
            return np.zeros(FEATURES)
        similarity = self.directions @ embedding
        weights = np.exp((similarity - similarity.max()) / TEMPERATURE)
        weights /= weights.sum()
        return (weights @ self.features) / float(np.sqrt((weights * weights).sum()))
