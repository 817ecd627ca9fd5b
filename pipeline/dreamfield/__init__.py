"""Dreamfield: the built-in CPU pipeline, a procedural generative visual driven by every Scope parameter."""
