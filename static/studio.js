// Dreamstage studio page: starts the stream, draws the stats overlay, takes snapshots and recordings,
// switches the video input (webcam or a video asset) and goes fullscreen. The controls live in Python.
"use strict";

const RECORDING_LIMIT_S = 60;

class DreamstageStudio {
  constructor({ video, stage, overlay, state, join }) {
    this.video = document.getElementById(video);
    this.stage = document.getElementById(stage);
    this.overlay = document.getElementById(overlay);
    this.state = document.getElementById(state);
    this.connection = "connecting";
    this.stats = { fps: 0, width: 0, height: 0, latency: null, kbps: 0 };
    this.presented = 0;
    this.previous = null;
    this.recorder = null;
    this.recordingStarted = 0;
    this.inputVideo = null;
    this.inputKind = "none";
    this.stream = new DreamstageStream(this.video, {
      initialParameters: join,
      onState: (state) => this.showState(state),
    });
    window.dreamstage = this.stream;
    this.stream.start().catch(() => {});
    window.addEventListener("pagehide", () => this.leave());
    this.countFrames();
    this.statsTimer = setInterval(() => this.updateStats(), 1000);
  }

  showState(state) {
    this.connection = state;
    this.state.textContent = state;
    this.state.dataset.state = state.split(" ")[0];
    this.renderOverlay();
  }

  countFrames() {
    if (!("requestVideoFrameCallback" in HTMLVideoElement.prototype)) return;
    const tick = () => { this.presented += 1; this.video.requestVideoFrameCallback(tick); };
    this.video.requestVideoFrameCallback(tick);
  }

  async updateStats() {
    const now = performance.now();
    const pc = this.stream.pc;
    const figures = { presented: this.presented, time: now, bytes: 0, jitterDelay: 0, emitted: 0, decodeTime: 0,
      decoded: 0, rtt: null };
    if (this.stream.socket) figures.bytes = this.stream.socket.bytes;
    if (pc) {
      try {
        (await pc.getStats()).forEach((report) => {
          if (report.type === "inbound-rtp" && report.kind === "video") {
            figures.bytes = report.bytesReceived || 0;
            figures.jitterDelay = report.jitterBufferDelay || 0;
            figures.emitted = report.jitterBufferEmittedCount || 0;
            figures.decodeTime = report.totalDecodeTime || 0;
            figures.decoded = report.framesDecoded || 0;
          } else if (report.type === "candidate-pair" && report.nominated && report.currentRoundTripTime != null) {
            figures.rtt = report.currentRoundTripTime;
          }
        });
      } catch (error) { /* the connection went away meanwhile */ }
    }
    const before = this.previous;
    this.previous = figures;
    this.stats.width = this.video.videoWidth;
    this.stats.height = this.video.videoHeight;
    if (before) {
      const seconds = (figures.time - before.time) / 1000;
      this.stats.fps = (figures.presented - before.presented) / seconds;
      this.stats.kbps = Math.max(0, (figures.bytes - before.bytes) * 8 / 1000 / seconds);
      const emitted = figures.emitted - before.emitted;
      const decoded = figures.decoded - before.decoded;
      if (emitted > 0) {
        const buffer = (figures.jitterDelay - before.jitterDelay) / emitted;
        const decode = decoded > 0 ? (figures.decodeTime - before.decodeTime) / decoded : 0;
        this.stats.latency = 1000 * (buffer + decode + (figures.rtt || 0) / 2);
      }
    }
    this.renderOverlay();
  }

  renderOverlay() {
    const s = this.stats;
    const size = s.width ? `${s.width}×${s.height}` : "—";
    const latency = s.latency == null ? "—" : `≈${Math.round(s.latency)} ms`;
    const recording = this.recorder ? `<span class="ds-rec">● REC ${this.recordingSeconds()} s</span>` : "";
    this.overlay.innerHTML = `<span>${s.fps.toFixed(1)} fps</span><span>${size}</span><span>${latency}</span>` +
      `<span>${Math.round(s.kbps)} kbit/s</span><span class="ds-conn" data-state="${this.connection.split(" ")[0]}">` +
      `${this.connection}</span><span class="ds-path">${this.stream.path}</span>${recording}`;
    this.overlay.dataset.fps = s.fps.toFixed(1);
    this.overlay.dataset.width = s.width;
  }

  // The tab goes away: end this peer at once instead of waiting for the server to notice.
  leave() {
    const stream = this.stream;
    stream.wanted = false;
    if (stream.sessionId) {
      fetch(`/api/v1/webrtc/offer/${stream.sessionId}`, { method: "DELETE", keepalive: true }).catch(() => {});
    }
    if (stream.pc) stream.pc.close();
  }

  toggleOverlay() {
    this.overlay.classList.toggle("ds-hidden");
  }

  fullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else this.stage.requestFullscreen().catch(() => {});
  }

  // A PNG of the current frame, at the video's own size.
  snapshotBlob() {
    const canvas = Object.assign(document.createElement("canvas"),
      { width: this.video.videoWidth || 1, height: this.video.videoHeight || 1 });
    canvas.getContext("2d").drawImage(this.video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  }

  async snapshot() {
    download(await this.snapshotBlob(), `dreamstage-${stamp()}.png`);
  }

  // Start or stop a webm recording of the output (at most a minute); returns whether it records now.
  toggleRecording(onDone = (blob) => download(blob, `dreamstage-${stamp()}.webm`)) {
    if (this.recorder) {
      this.recorder.stop();
      return false;
    }
    const source = this.video.srcObject;
    if (!source) return false;
    const type = ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm"]
      .find((t) => MediaRecorder.isTypeSupported(t));
    const recorder = new MediaRecorder(new MediaStream(source.getVideoTracks()), type ? { mimeType: type } : {});
    const chunks = [];
    recorder.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
    recorder.onstop = () => {
      this.recorder = null;
      clearTimeout(this.recordingLimit);
      this.renderOverlay();
      onDone(new Blob(chunks, { type: "video/webm" }));
    };
    recorder.start(250);
    this.recorder = recorder;
    this.recordingStarted = performance.now();
    this.recordingLimit = setTimeout(() => { if (this.recorder === recorder) recorder.stop(); },
      RECORDING_LIMIT_S * 1000);
    this.renderOverlay();
    return true;
  }

  recordingSeconds() {
    return Math.floor((performance.now() - this.recordingStarted) / 1000);
  }

  // Video-to-video input: "webcam", "video" (an asset URL played in a hidden <video>) or "none".
  async setInput(kind, url = null) {
    try {
      const stream = await this.inputStream(kind, url);
      this.inputKind = stream ? kind : "none";
      await this.stream.setInput(stream);
      return { kind: this.inputKind };
    } catch (error) {
      this.inputKind = "none";
      await this.stream.setInput(null).catch(() => {});
      return { kind: "none", error: error.message || String(error) };
    }
  }

  async inputStream(kind, url) {
    this.stopInput();
    if (kind === "webcam") {
      if (!navigator.mediaDevices) throw new Error("this page has no camera access (it needs https or localhost)");
      return navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    }
    if (kind === "video" && url) {
      const player = (this.inputVideo = Object.assign(document.createElement("video"),
        { src: url, loop: true, muted: true, playsInline: true, crossOrigin: "anonymous" }));
      player.style.cssText = "position:fixed;left:0;top:0;width:2px;height:2px;opacity:0;pointer-events:none";
      document.body.appendChild(player);
      await player.play();
      return player.captureStream();
    }
    return null;
  }

  stopInput() {
    const previous = this.stream.input;
    if (previous) previous.getTracks().forEach((track) => track.stop());
    if (this.inputVideo) {
      this.inputVideo.pause();
      this.inputVideo.remove();
      this.inputVideo = null;
    }
  }
}

function download(blob, name) {
  const link = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: name });
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

function stamp() {
  return new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
}

window.DreamstageStudio = DreamstageStudio;

// Web MIDI: every input's bytes go to the server over the page's own connection (the Control tab listens).
window.dreamstageMidi = async function () {
  if (!navigator.requestMIDIAccess) {
    alert("This browser has no Web MIDI (try Chrome or Edge).");
    return;
  }
  const access = await navigator.requestMIDIAccess({ sysex: false });
  const listen = (input) => {
    input.onmidimessage = (event) =>
      emitEvent("dreamstage-midi", { data: Array.from(event.data), port: input.name || "browser" });
  };
  access.inputs.forEach(listen);
  access.onstatechange = (event) => {
    if (event.port.type === "input" && event.port.state === "connected") listen(event.port);
  };
};

// Copy a text to the clipboard: the Clipboard API where the page may use it (https, localhost), else a selected
// textarea and the copy command (plain http on a LAN); resolves to whether it worked.
window.dreamstageCopy = async function (text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (error) { /* not a secure context, or no permission: try the older way */ }
  const area = Object.assign(document.createElement("textarea"), { value: text, readOnly: true });
  area.style.cssText = "position:fixed;left:-9999px;top:0;opacity:0";
  document.body.appendChild(area);
  area.select();
  let copied = false;
  try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
  area.remove();
  return copied;
};
