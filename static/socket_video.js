// Dreamstage WebSocket video: JPEG frames drawn on a canvas, for networks where WebRTC cannot connect.
"use strict";

class DreamstageSocketVideo {
  constructor(canvas, { baseUrl = "", sessionId, token, onMessage = null, onState = null } = {}) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.baseUrl = baseUrl || window.location.origin;
    this.sessionId = sessionId;
    this.token = token;
    this.onMessage = onMessage;
    this.onState = onState;
    this.socket = null;
    this.frames = 0;
    this.bytes = 0;
    this.drawing = false;
  }

  start() {
    const url = new URL("/api/v1/ws/video", this.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("session", this.sessionId);
    url.searchParams.set("token", this.token);
    this.socket = new WebSocket(url);
    this.socket.binaryType = "blob";
    this.socket.onopen = () => this.onState && this.onState("connected (WebSocket)");
    this.socket.onclose = (event) => this.onState && this.onState(`closed (WebSocket ${event.code})`);
    this.socket.onmessage = (event) => {
      if (typeof event.data === "string") {
        if (this.onMessage) this.onMessage(JSON.parse(event.data));
      } else {
        this.bytes += event.data.size;
        this.draw(event.data);
      }
    };
  }

  async draw(blob) {
    if (this.drawing) return; // latest-frame semantics: skip frames while one is being decoded
    this.drawing = true;
    try {
      const bitmap = await createImageBitmap(blob);
      if (this.canvas.width !== bitmap.width) this.canvas.width = bitmap.width;
      if (this.canvas.height !== bitmap.height) this.canvas.height = bitmap.height;
      this.context.drawImage(bitmap, 0, 0);
      bitmap.close();
      this.frames += 1;
    } finally {
      this.drawing = false;
    }
  }

  send(parameters) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(parameters));
  }

  stop() {
    if (this.socket) this.socket.close();
  }
}

window.DreamstageSocketVideo = DreamstageSocketVideo;
