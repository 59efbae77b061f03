"""qdlab under bluesky-queueserver: one RE manager per reactor (``qdlab serve``), and ``qdlab agent``, the
closed loop outside the RunEngine that queues each experiment (docs/adr/0017-queue-server-and-agent.md)."""
