"""Parameters and their meaning, sessions and the worker thread, the pipeline protocol, registry and pipelines."""
