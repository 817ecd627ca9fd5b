"""Video-native pipelines on the causal Wan core: LongLive and StreamDiffusionV2."""
