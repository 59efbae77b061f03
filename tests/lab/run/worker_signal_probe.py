"""Run ``qdlab run CAMPAIGN --sim --out DIR`` in the main thread while a worker thread receives the one
SIGINT, as kill(2) may deliver a signal to any thread (tests/lab/run/test_stop.py)."""

import signal
import sys
import threading
import time
from pathlib import Path
from lab.cli import main

out = Path(sys.argv[2])


def fire():
    log = out / "documents.jsonl"
    while not (log.exists() and '"experiment_index"' in log.read_text()):
        time.sleep(0.05)
    signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # to this worker, not the main thread


threading.Thread(target=fire, daemon=True).start()
sys.exit(main(["run", sys.argv[1], "--sim", "--out", str(out), "--budget", "12", "--seed", "1"]))
