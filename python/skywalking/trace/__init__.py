"""Tracing: contexts, spans, carriers and tags. The spans themselves are Rust objects."""
