"""HLS: the shared H.264 packets cut into one-second MPEG-TS segments and a sliding-window playlist on disk."""
from __future__ import annotations

import re
from pathlib import Path

from rtc.encoder import EncodedFrame

from .muxer import H264Muxer
from .sink import Sink

PLAYLIST = 'index.m3u8'
SEGMENT = re.compile(r'^seg_\d{5,9}\.ts$')
SEGMENT_SECONDS = 1.0
WINDOW = 6  # segments in the playlist; older ones are deleted


class HlsOutput(Sink):
    """Writes `index.m3u8` and `seg_NNNNN.ts` into a folder (FFmpeg's HLS muxer, temp files renamed when complete,
    so a player never reads half a segment). A change of frame size continues the playlist after a discontinuity."""

    name = 'hls'
    keyframe_every = SEGMENT_SECONDS

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.muxer: H264Muxer | None = None
        self.segments_started = 0

    @property
    def playlist(self) -> Path:
        return self.folder / PLAYLIST

    def segment(self, name: str) -> Path | None:
        """A segment file by the name the playlist uses (None for any other name)."""
        return self.folder / name if SEGMENT.match(name) else None

    def write(self, frame: EncodedFrame) -> None:
        if self.muxer is not None and not self.muxer.fits(frame):
            self._close_muxer()
        if self.muxer is None:
            if not frame.keyframe:
                return
            self.muxer = H264Muxer(str(self.playlist), 'hls', self._options(continued=self.segments_started > 0))
        self.muxer.write(frame)

    def on_write_error(self) -> None:
        self._close_muxer()

    def finish(self) -> None:
        self._close_muxer()

    def _close_muxer(self) -> None:
        muxer, self.muxer = self.muxer, None
        if muxer is not None:
            self.segments_started += max(1, round(muxer.duration / SEGMENT_SECONDS))
            muxer.close()

    def _options(self, continued: bool) -> dict[str, str]:
        flags = ['delete_segments', 'independent_segments', 'omit_endlist', 'temp_file']
        if continued:
            flags += ['append_list', 'discont_start']
        return {'hls_time': str(SEGMENT_SECONDS), 'hls_list_size': str(WINDOW), 'hls_flags': '+'.join(flags),
                'hls_segment_filename': str(self.folder / 'seg_%05d.ts'), 'hls_allow_cache': '0',
                'start_number': str(self.segments_started)}
