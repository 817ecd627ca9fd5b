"""StreamDiffusion: real-time image diffusion per frame (the registry imports only `info`)."""
