// Dreamstage browser client: the Scope WebRTC flow (trickle ICE, `parameters` data channel) for a <video>,
// with automatic reconnects after a drop and an optional input track for video-to-video.
"use strict";

const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 8000];
const DISCONNECTED_GRACE_MS = 3000;
const FALLBACK_AFTER_MS = 8000;  // no WebRTC media by then: switch to JPEG frames over a WebSocket

class DreamstageStream {
  constructor(video, { baseUrl = "", initialParameters = {}, onMessage = null, onState = null,
    reconnect = true } = {}) {
    this.video = video;
    this.baseUrl = baseUrl;
    this.initialParameters = initialParameters;
    this.onMessage = onMessage;
    this.onState = onState;
    this.reconnect = reconnect;
    this.pc = null;
    this.channel = null;
    this.sessionId = null;
    this.input = null;          // a MediaStream whose video track is sent for video-to-video, or null
    this.inputParameters = {};  // what the next connection announces about that input (`input_mode`)
    this.wanted = false;        // true between start() and stop(): drops are repaired
    this.attempts = 0;
    this.retryTimer = null;
    this.graceTimer = null;
    this.fallbackTimer = null;
    this.path = "WebRTC";       // or "WebSocket" once WebRTC could not connect (UDP blocked, no TURN)
    this.socket = null;
  }

  async start() {
    this.wanted = true;
    if (this.canFallBack()) {
      if (typeof RTCPeerConnection === "undefined") return this.fallBack("this browser has no WebRTC");
      this.fallbackTimer = setTimeout(() => this.fallBack("WebRTC did not connect"), FALLBACK_AFTER_MS);
    }
    try {
      return await this.connect();
    } catch (error) {
      this.scheduleReconnect(error.message);
      throw error;
    }
  }

  send(parameters) {
    if (this.socket) return this.socket.send(parameters);
    if (this.channel && this.channel.readyState === "open") this.channel.send(JSON.stringify(parameters));
  }

  async stop() {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.graceTimer);
    clearTimeout(this.fallbackTimer);
    if (this.socket) this.socket.stop();
    this.socket = null;
    await this.hangUp();
    this.setState("stopped");
  }

  // Send `stream`'s video track to the session (null: stop sending and go back to text mode); reconnects.
  async setInput(stream) {
    this.input = stream;
    this.inputParameters = { input_mode: stream ? "video" : "text" };
    if (!this.wanted) return null;
    await this.hangUp();
    return this.connect();
  }

  async connect() {
    clearTimeout(this.retryTimer);
    this.setState("connecting");
    const ice = await this.request("GET", "/api/v1/webrtc/ice-servers");
    const pc = (this.pc = new RTCPeerConnection({ iceServers: ice.iceServers || [] }));
    const channel = (this.channel = pc.createDataChannel("parameters", { ordered: true }));
    channel.onmessage = (event) => this.handleMessage(event.data, pc);
    const track = this.input && this.input.getVideoTracks()[0];
    if (track) pc.addTransceiver(track, { direction: "sendrecv", streams: [this.input] });
    else pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });  // music from the audio engine, in sync with the picture
    const media = new MediaStream();
    pc.ontrack = (event) => {
      media.addTrack(event.track);
      if (this.video.srcObject !== media) this.video.srcObject = media;
    };
    const queued = [];
    pc.onicecandidate = (event) => {
      if (!event.candidate || pc !== this.pc) return;
      const candidate = { candidate: event.candidate.candidate, sdpMid: event.candidate.sdpMid,
        sdpMLineIndex: event.candidate.sdpMLineIndex };
      if (this.sessionId) this.trickle([candidate]);
      else queued.push(candidate);
    };
    pc.onconnectionstatechange = () => this.connectionChanged(pc);
    await pc.setLocalDescription(await pc.createOffer());
    const answer = await this.request("POST", "/api/v1/webrtc/offer", {
      sdp: pc.localDescription.sdp, type: pc.localDescription.type,
      initialParameters: { ...this.initialParameters, ...this.inputParameters },
    });
    if (pc !== this.pc) return null;  // hung up meanwhile
    this.sessionId = answer.sessionId;
    await pc.setRemoteDescription({ type: answer.type, sdp: answer.sdp });
    if (queued.length) await this.trickle(queued);
    return answer.sessionId;
  }

  connectionChanged(pc) {
    if (pc !== this.pc) return;
    const state = pc.connectionState;
    this.setState(state);
    clearTimeout(this.graceTimer);
    if (state === "connected") {
      this.attempts = 0;
      clearTimeout(this.fallbackTimer);
    }
    else if (state === "failed" || state === "closed") this.drop(`connection ${state}`);
    else if (state === "disconnected") {
      this.graceTimer = setTimeout(() => { if (pc === this.pc) this.drop("connection lost"); }, DISCONNECTED_GRACE_MS);
    }
  }

  async drop(reason) {
    if (!this.wanted) return;
    await this.hangUp();
    this.scheduleReconnect(reason);
  }

  // Show the session through the WebSocket video path: JPEG frames drawn on a canvas whose stream the <video> plays.
  async fallBack(reason) {
    if (!this.wanted || this.socket || !this.canFallBack()) return null;
    clearTimeout(this.retryTimer);
    clearTimeout(this.fallbackTimer);
    this.path = "WebSocket";
    await this.hangUp();
    const canvas = document.createElement("canvas");
    canvas.width = 2;
    canvas.height = 2;
    this.socket = new DreamstageSocketVideo(canvas, {
      baseUrl: this.baseUrl, sessionId: this.initialParameters.session_id, token: this.initialParameters.session_token,
      onMessage: this.onMessage, onState: (state) => this.setState(state),
    });
    this.socket.start();
    this.video.srcObject = canvas.captureStream(30);
    this.setState(`connecting (WebSocket: ${reason})`);
    return null;
  }

  canFallBack() {
    return typeof DreamstageSocketVideo !== "undefined" && Boolean(this.initialParameters.session_token);
  }

  scheduleReconnect(reason) {
    if (!this.wanted || this.socket) return;
    clearTimeout(this.retryTimer);
    const delay = RECONNECT_DELAYS_MS[Math.min(this.attempts, RECONNECT_DELAYS_MS.length - 1)];
    this.attempts += 1;
    this.setState(`reconnecting in ${(delay / 1000).toFixed(1)} s (${reason})`);
    this.retryTimer = setTimeout(() => {
      this.connect().catch((error) => this.scheduleReconnect(error.message));
    }, delay);
  }

  async hangUp() {
    const pc = this.pc;
    const sessionId = this.sessionId;
    this.pc = null;
    this.channel = null;
    this.sessionId = null;
    if (pc) pc.close();
    if (sessionId) await this.request("DELETE", `/api/v1/webrtc/offer/${sessionId}`).catch(() => {});
  }

  handleMessage(data, pc) {
    let message = null;
    try { message = JSON.parse(data); } catch (error) { return; }
    if (this.onMessage) this.onMessage(message);
    if (message.type === "stream_stopped" && pc === this.pc) {
      this.drop(message.error_message ? `stream stopped: ${message.error_message}` : "stream stopped");
    }
  }

  setState(state) {
    if (this.onState) this.onState(state);
  }

  trickle(candidates) {
    return this.request("PATCH", `/api/v1/webrtc/offer/${this.sessionId}`, { candidates }).catch(() => {});
  }

  async request(method, path, body) {
    const response = await fetch(this.baseUrl + path, {
      method, headers: body ? { "Content-Type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? null : response.json();
  }
}

window.DreamstageStream = DreamstageStream;
