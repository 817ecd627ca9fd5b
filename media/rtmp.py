"""RTMP push: the shared H.264 packets muxed to FLV here and relayed by an FFmpeg process, reconnecting with back-off.

FFmpeg's RTMP client runs in its own process: in-process (PyAV) it would hold the GIL while it connects or while a
stalled server lets the socket fill, freezing the whole server, and it cannot be given a timeout there.
"""
from __future__ import annotations

import collections
import contextlib
import logging
import shutil
import subprocess
import threading
import time
from typing import Any

from rtc.encoder import EncodedFrame

from .muxer import H264Muxer
from .sink import Sink

log = logging.getLogger(__name__)
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 8.0  # seconds before the next attempt, doubling after each failure
IO_TIMEOUT_US = 5_000_000  # the relay gives up on a server that accepts nothing for five seconds
KEYFRAME_SECONDS = 2.0  # streaming services ask for a keyframe at least every 2-4 s


class RtmpPush(Sink):
    """Pushes the output to an `rtmp://` or `rtmps://` URL; `state` is `connecting`, `live`, `reconnecting` (after
    an error, with `error` saying what happened) or `stopped`."""

    name = 'rtmp'
    keyframe_every = KEYFRAME_SECONDS

    def __init__(self, url: str, ffmpeg: str | None = None) -> None:
        super().__init__()
        self.url = url
        self.ffmpeg = ffmpeg or shutil.which('ffmpeg')
        self.state = 'connecting'
        self.attempts = 0
        self.reconnects = 0
        self.live_since: float | None = None
        self.relay: subprocess.Popen[bytes] | None = None
        self.muxer: H264Muxer | None = None
        self.retry_at = 0.0
        self.backoff = BACKOFF_FIRST
        self.log_tail: collections.deque[str] = collections.deque(maxlen=20)
        self._lock = threading.Lock()

    def describe(self) -> dict[str, Any]:
        """The push's state for a status document."""
        return {'url': redact(self.url), 'state': self.state, 'error': self.error, 'attempts': self.attempts,
                'reconnects': self.reconnects, 'live_since': self.live_since, 'dropped_frames': self.dropped}

    def write(self, frame: EncodedFrame) -> None:
        if self.relay is not None and (self.relay.poll() is not None or not self._fits(frame)):
            self._disconnect(self._relay_error() if self.relay.poll() is not None else None)
        if self.relay is None:
            if not frame.keyframe or time.monotonic() < self.retry_at:
                return
            self._connect()
        assert self.muxer is not None
        try:
            self.muxer.write(frame)
        except Exception as error:
            self._disconnect(self._relay_error() or f'{type(error).__name__}: {error}')

    def finish(self) -> None:
        self._disconnect(None, stopping=True)
        self.state = 'stopped'

    def _fits(self, frame: EncodedFrame) -> bool:
        return self.muxer is None or self.muxer.fits(frame)

    def _connect(self) -> None:
        if not self.ffmpeg:
            self.error = 'ffmpeg is not installed: the RTMP push needs its command-line tool (apt install ffmpeg)'
            self.state, self.retry_at = 'reconnecting', time.monotonic() + BACKOFF_MAX
            return
        self.attempts += 1
        self.state = 'connecting' if self.attempts == 1 else 'reconnecting'
        self.log_tail.clear()
        command = [self.ffmpeg, '-hide_banner', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1',
                   '-stats_period', '0.5', '-probesize', '32', '-analyzeduration', '0',
                   '-f', 'flv', '-i', 'pipe:0', '-c', 'copy', '-flush_packets', '1', '-rw_timeout', str(IO_TIMEOUT_US),
                   '-f', 'flv', self.url]
        self.relay = relay = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, bufsize=0)
        threading.Thread(target=self._read_progress, args=(relay,), name='rtmp-progress', daemon=True).start()
        threading.Thread(target=self._read_log, args=(relay,), name='rtmp-log', daemon=True).start()
        self.muxer = H264Muxer(relay.stdin, 'flv', {'flush_packets': '1'})

    def _disconnect(self, error: str | None, stopping: bool = False) -> None:
        muxer, relay, self.muxer, self.relay = self.muxer, self.relay, None, None
        if muxer is not None:
            with contextlib.suppress(Exception):
                muxer.close()
        if relay is not None:
            with contextlib.suppress(Exception):
                relay.stdin.close()  # type: ignore[union-attr]
            try:
                relay.wait(2 if stopping else 0.5)
            except subprocess.TimeoutExpired:
                relay.kill()
                relay.wait()
        self.live_since = None
        if stopping:
            return
        self.error = error or 'the RTMP connection ended'
        self.state = 'reconnecting'
        self.reconnects += 1
        self.retry_at = time.monotonic() + self.backoff
        self.backoff = min(BACKOFF_MAX, self.backoff * 2)
        log.warning('RTMP push to %s: %s (retrying)', redact(self.url), self.error)

    def _relay_error(self) -> str | None:
        time.sleep(0.05)  # the log reader catches up with the relay's last words
        lines = [line for line in self.log_tail if line.strip()]
        return lines[-1] if lines else None

    def _read_progress(self, relay: subprocess.Popen[bytes]) -> None:
        assert relay.stdout is not None
        for raw in relay.stdout:
            if raw.startswith(b'progress=') and self.relay is relay and self.state != 'live':
                self.state, self.live_since, self.error = 'live', time.time(), None
                self.backoff = BACKOFF_FIRST

    def _read_log(self, relay: subprocess.Popen[bytes]) -> None:
        assert relay.stderr is not None
        for raw in relay.stderr:
            self.log_tail.append(raw.decode(errors='replace').strip())


def redact(url: str) -> str:
    """An RTMP URL without its stream key (the last path segment), for status documents and logs."""
    head, _, key = url.rpartition('/')
    return f'{head}/{key[:2]}…' if head and len(key) > 4 else url
