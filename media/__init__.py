"""Media outputs fed by a session's shared H.264 encoder: HLS, RTMP push and MP4 recording (encode once, mux many)."""
