"""The shape every output shares: a packet feed on the loop, a queue, and a writer thread for file or network I/O."""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from rtc.encoder import EncodedFrame
from rtc.fanout import SessionEncoders

from .feed import PacketFeed

log = logging.getLogger(__name__)
QUEUE_FRAMES = 150  # about five seconds of video; a writer further behind starts again from a keyframe
STOP_SECONDS = 10.0


class Sink(ABC):
    """An output of a session's H.264 packets. Writing happens in its own thread, so a slow disk or network never
    holds up the event loop; a writer that falls behind drops frames and starts again from the next keyframe."""

    name = 'output'
    keyframe_every: float | None = None  # seconds between keyframes this output needs (None: whatever comes)

    def __init__(self) -> None:
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_FRAMES)
        self.feed: PacketFeed | None = None
        self.task: asyncio.Task | None = None
        self.thread: threading.Thread | None = None
        self.dropped = 0
        self.error: str | None = None
        self.running = False
        self._resync = False

    def start(self, encoders: SessionEncoders) -> None:
        """Start writing the session's packets (on the event loop)."""
        if self.running:
            return
        self.running = True
        self.thread = threading.Thread(target=self._run, name=f'{self.name}-writer', daemon=True)
        self.thread.start()
        self.feed = PacketFeed(encoders, self.keyframe_every)
        self.task = asyncio.ensure_future(self.feed.run(self.put))

    async def stop(self) -> None:
        """Stop reading packets, let the writer finish what it has, and wait for it (idempotent)."""
        if not self.running:
            return
        self.running = False
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await asyncio.to_thread(self._put_blocking, None)
        if self.thread is not None:
            await asyncio.to_thread(self.thread.join, STOP_SECONDS)

    def put(self, frame: EncodedFrame) -> None:
        """Queue a frame for the writer (on the loop); when the queue is full the writer resyncs on a keyframe."""
        if self._resync and not frame.keyframe:
            return
        try:
            self.queue.put_nowait(frame)
            self._resync = False
        except queue.Full:
            self.dropped += 1
            self._resync = True
            if self.feed is not None:
                self.feed.request_keyframe()

    async def call(self, function: Callable[[], Any]) -> Any:
        """Run `function` in the writer thread, between two frames, and return its result."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        await asyncio.to_thread(self._put_blocking, (function, future))
        return await asyncio.wrap_future(future)

    def _put_blocking(self, item: Any) -> None:
        while True:
            try:
                self.queue.put(item, timeout=1.0)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self.queue.get_nowait()  # a stuck writer: make room for the command

    def _run(self) -> None:
        try:
            while True:
                item = self.queue.get()
                if item is None:
                    break
                if isinstance(item, tuple):
                    function, future = item
                    try:
                        future.set_result(function())
                    except Exception as error:
                        future.set_exception(error)
                    continue
                try:
                    self.write(item)
                except Exception as error:
                    self.error = f'{type(error).__name__}: {error}'
                    log.exception('%s failed to write a frame', self.name)
                    self.on_write_error()
        finally:
            try:
                self.finish()
            except Exception:
                log.exception('%s failed to finish', self.name)

    @abstractmethod
    def write(self, frame: EncodedFrame) -> None:
        """Write one access unit (in the writer thread)."""

    def on_write_error(self) -> None:  # noqa: B027 (optional hook)
        """After a failed write (in the writer thread): e.g. close the container so the next keyframe reopens it."""

    @abstractmethod
    def finish(self) -> None:
        """Close what the writer holds (in the writer thread, once it stops)."""
