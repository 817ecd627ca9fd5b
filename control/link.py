"""Ableton Link as a tempo source (aalink): joins the Link session of the local network, shares tempo and beat."""
from __future__ import annotations

import time
from typing import Any

from .tempo import TempoError, Timeline

LINK_HINT = 'Ableton Link needs the aalink package: pip install aalink'


def link_available() -> tuple[bool, str | None]:
    """Whether aalink can be imported here, and why not."""
    try:
        import aalink  # noqa: F401
    except ImportError as error:
        return False, f'{LINK_HINT} ({error})'
    return True, None


class LinkTempo:
    """A peer of the Link session; create it on the event loop (aalink schedules its callbacks there)."""

    name = 'link'

    def __init__(self, bpm: float = 120.0, beats_per_bar: int = 4) -> None:
        try:
            from aalink import Link
        except ImportError as error:
            raise TempoError(f'{LINK_HINT} ({error})') from None
        self.link = Link(bpm)
        self.link.quantum = beats_per_bar  # peers agree on where bars start
        self.link.enabled = True
        self.peers_seen = 0

    def timeline(self, now: float) -> Timeline:
        """The Link session's beat, sampled now (Link's own clock is not Python's monotonic clock)."""
        beat, bpm, sampled = float(self.link.beat), float(self.link.tempo), time.monotonic()
        return Timeline(sampled, beat, bpm).rebased(now, bpm) if abs(sampled - now) < 1.0 else \
            Timeline(now, beat, bpm)

    def playing(self, now: float) -> bool:
        return True  # Link's tempo runs whether or not anyone plays (start/stop sync is optional in Link)

    @property
    def num_peers(self) -> int:
        peers = int(self.link.num_peers)
        self.peers_seen = max(self.peers_seen, peers)
        return peers

    def set_tempo(self, bpm: float, now: float) -> None:
        """Propose a tempo to the whole Link session (every peer follows)."""
        self.link.tempo = bpm

    def info(self) -> dict[str, Any]:
        return {'num_peers': self.num_peers}

    def close(self) -> None:
        self.link.enabled = False
