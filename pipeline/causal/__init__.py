"""A causal video diffusion core: Wan2.1 run block-causally over latent chunks with a KV cache (LongLive, SDv2)."""
