"""The audio-reactive engine: sources, features, mappings to parameters, and its 30 Hz loop."""
