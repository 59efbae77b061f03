"""Single-purpose commands: ``qdlab simulate`` (with measure) and ``qdlab replay``."""
