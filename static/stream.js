// Dreamstage browser client: the Scope WebRTC flow (trickle ICE, `parameters` data channel) for a <video>.
"use strict";

class DreamstageStream {
  constructor(video, { baseUrl = "", initialParameters = {}, onMessage = null, onState = null } = {}) {
    this.video = video;
    this.baseUrl = baseUrl;
    this.initialParameters = initialParameters;
    this.onMessage = onMessage;
    this.onState = onState;
    this.pc = null;
    this.channel = null;
    this.sessionId = null;
  }

  async start() {
    const ice = await this.request("GET", "/api/v1/webrtc/ice-servers");
    const pc = (this.pc = new RTCPeerConnection({ iceServers: ice.iceServers || [] }));
    this.channel = pc.createDataChannel("parameters", { ordered: true });
    this.channel.onmessage = (event) => this.handleMessage(event.data);
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (event) => {
      this.video.srcObject = event.streams[0] || new MediaStream([event.track]);
    };
    const queued = [];
    pc.onicecandidate = (event) => {
      if (!event.candidate) return;
      const candidate = { candidate: event.candidate.candidate, sdpMid: event.candidate.sdpMid,
        sdpMLineIndex: event.candidate.sdpMLineIndex };
      if (this.sessionId) this.trickle([candidate]);
      else queued.push(candidate);
    };
    pc.onconnectionstatechange = () => this.onState && this.onState(pc.connectionState);
    await pc.setLocalDescription(await pc.createOffer());
    const answer = await this.request("POST", "/api/v1/webrtc/offer", {
      sdp: pc.localDescription.sdp, type: pc.localDescription.type, initialParameters: this.initialParameters,
    });
    this.sessionId = answer.sessionId;
    await pc.setRemoteDescription({ type: answer.type, sdp: answer.sdp });
    if (queued.length) await this.trickle(queued);
    return answer.sessionId;
  }

  send(parameters) {
    if (this.channel && this.channel.readyState === "open") this.channel.send(JSON.stringify(parameters));
  }

  async stop() {
    if (this.sessionId) await this.request("DELETE", `/api/v1/webrtc/offer/${this.sessionId}`).catch(() => {});
    if (this.pc) this.pc.close();
    this.pc = null;
    this.sessionId = null;
  }

  handleMessage(data) {
    let message = null;
    try { message = JSON.parse(data); } catch (error) { return; }
    if (this.onMessage) this.onMessage(message);
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
