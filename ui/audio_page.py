"""The `/audio` page: pick a running session, drive it with sound, and watch and hear it."""
from __future__ import annotations

import json

from nicegui import ui

from audio.output import ensure_audio_output
from pipeline.session import Session
from services.context import ServerContext

from .audio_panel import audio_panel

SESSIONS_REFRESH = 2.0
# Joins a session as a viewer with video and sound (recvonly both), the Scope offer flow without trickle.
PREVIEW_JS = '''
async function dreamstageAudioPreview(video, sessionId, token) {
  if (window.dreamstageAudioPc) window.dreamstageAudioPc.close();
  const pc = window.dreamstageAudioPc = new RTCPeerConnection({iceServers: []});
  pc.addTransceiver("video", {direction: "recvonly"});
  pc.addTransceiver("audio", {direction: "recvonly"});
  const stream = new MediaStream();
  pc.ontrack = (event) => { stream.addTrack(event.track); video.srcObject = stream; video.play().catch(() => {}); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") return done();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && done();
    setTimeout(done, 2000);
  });
  const response = await fetch("/api/v1/webrtc/offer", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({sdp: pc.localDescription.sdp, type: "offer",
                          initialParameters: {session_id: sessionId, session_token: token, client_label: "audio"}})});
  if (!response.ok) throw new Error(await response.text());
  await pc.setRemoteDescription(await response.json());
}
'''


def register(context: ServerContext) -> None:
    """Add the `/audio` page to the app."""

    @ui.page('/audio', title='Dreamstage audio')
    def audio_page() -> None:
        """A session picker, the audio panel, and a preview with sound."""
        ui.add_head_html(f'<script>{PREVIEW_JS}</script>')
        with ui.column().classes('w-full max-w-5xl mx-auto gap-4 p-4'):
            with ui.row().classes('w-full items-center gap-4'):
                ui.label('Audio-reactive').classes('text-2xl font-bold')
                ui.space()
                picker = ui.select(session_options(context), label='Session', value=default_session(context)) \
                    .props('dense').classes('w-96').mark('audio-session')
            audio_panel(context, lambda: picker.value)
            with ui.row().classes('w-full items-center gap-2'):
                ui.button('Watch and listen', icon='headphones', on_click=lambda: preview(picker.value)) \
                    .props('outline no-caps').mark('audio-preview')
                ui.label('Viewers hear the song or test beat in time with the picture.').classes('text-xs opacity-70')
            video = ui.element('video').props('playsinline controls').classes('w-full max-w-3xl rounded-lg bg-black')

        def refresh_sessions() -> None:
            options = session_options(context)
            if options != picker.options:
                value = picker.value if picker.value in options else default_session(context)
                picker.set_options(options, value=value)

        def preview(session_id: str | None) -> None:
            session = context.sessions.get(session_id) if session_id else None
            if session is None:
                ui.notify('Pick a running session first', type='warning')
                return
            ensure_audio_output(session)  # the answer then carries an audio track, silent until music plays
            token = session.tokens.get('view') or session.tokens.get('control', '')
            ui.run_javascript(f'dreamstageAudioPreview(document.getElementById("{video.html_id}"), '
                              f'{json.dumps(session.id)}, {json.dumps(token)})')

        ui.timer(SESSIONS_REFRESH, refresh_sessions)


def session_options(context: ServerContext) -> dict[str, str]:
    """Running sessions by id, labelled by name (or pipeline) and short id."""
    return {session.id: label(session) for session in context.sessions.running()}


def default_session(context: ServerContext) -> str | None:
    """The studio's session if there is one, else the newest."""
    sessions = context.sessions.running()
    studio = [s for s in sessions if s.kind == 'studio']
    return (studio or sorted(sessions, key=lambda s: s.created))[-1].id if sessions else None


def label(session: Session) -> str:
    return f'{session.name or session.pipeline_id} · {session.id[:8]}'
