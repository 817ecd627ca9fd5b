"""Server-side MP4 recordings of sessions (Scope's recording endpoints), from each session's one H.264 encode."""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from media.recorder import Recording
from pipeline.session import Session
from rtc.peers import PeerRegistry

from .errors import InvalidRequest, NotFound
from .sessions import SessionService

log = logging.getLogger(__name__)
HEADLESS = 'headless'


class RecordingService:
    """At most one recording per session; while it runs the session renders (the recording is in its audience).
    A download hands over what was recorded since the previous one and recording goes on; stopping discards."""

    def __init__(self, sessions: SessionService, peers: PeerRegistry) -> None:
        self.sessions = sessions
        self.peers = peers
        self.recordings: dict[str, Recording] = {}

    def session_for(self, session_id: str, node_id: str | None = None) -> Session:
        """The session a Scope client names: a session id, or the id its offer answered with (a peer's)."""
        if node_id is not None:
            raise InvalidRequest('This session has no graph record nodes; omit node_id.')
        session = self.sessions.get(session_id)
        if session is None and (peer := self.peers.get(session_id)) is not None and not peer.session.closed:
            session = peer.session
        if session is None:
            detail = 'There is no headless session' if session_id == HEADLESS else f'Session {session_id} not found'
            raise NotFound(detail)
        return session

    def is_recording(self, session: Session) -> bool:
        return session.id in self.recordings

    async def start(self, session: Session) -> Literal['started', 'already_recording']:
        """Start recording a session (it renders from now on, whoever watches)."""
        if session.id in self.recordings:
            return 'already_recording'
        folder = Path(tempfile.mkdtemp(prefix='dreamstage-recording-'))
        recording = self.recordings[session.id] = Recording(folder)
        audience = self.peers.attachment(session)
        audience.add_member(self._member(session), 'recording')
        recording.start(audience.encoders)
        session.stop_listeners.append(lambda _error: self._session_ended(session))
        log.info('session %s: recording', session.id[:8])
        return 'started'

    async def download(self, session: Session) -> tuple[Path, float]:
        """Finish what was recorded since the last download (path, seconds); recording goes on in a new part."""
        recording = self.recordings.get(session.id)
        if recording is None:
            raise NotFound(f'Session {session.id} is not recording')
        parts = await recording.cut()
        if not parts:
            raise NotFound('Nothing recorded yet: the first frames are still on their way')
        *older, (path, seconds) = parts
        for older_path, _ in older:  # a change of frame size split the recording: the latest part is handed over
            older_path.unlink(missing_ok=True)
        handle, name = tempfile.mkstemp(prefix='dreamstage-recording-', suffix='.mp4')
        os.close(handle)
        await asyncio.to_thread(shutil.move, path, name)  # the caller deletes it once sent
        return Path(name), seconds

    async def stop(self, session: Session) -> Literal['stopped', 'not_recording']:
        """Stop recording and discard what was not downloaded."""
        recording = self.recordings.pop(session.id, None)
        if recording is None:
            return 'not_recording'
        await self._finish(session, recording)
        return 'stopped'

    async def close_all(self) -> None:
        for session_id, recording in list(self.recordings.items()):
            self.recordings.pop(session_id, None)
            await recording.stop()
            await asyncio.to_thread(shutil.rmtree, recording.folder, True)

    async def _finish(self, session: Session, recording: Recording) -> None:
        if (audience := self.peers.attachments.get(session.id)) is not None:
            audience.remove_member(self._member(session))
        await recording.stop()
        await asyncio.to_thread(shutil.rmtree, recording.folder, True)
        log.info('session %s: recording stopped', session.id[:8])

    def _session_ended(self, session: Session) -> None:
        recording = self.recordings.pop(session.id, None)
        if recording is not None:
            self.peers.track_closing(self._finish(session, recording))

    @staticmethod
    def _member(session: Session) -> str:
        return f'recording-{session.id}'
