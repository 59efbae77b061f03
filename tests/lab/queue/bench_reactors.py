"""One reactor against two, one optimiser: ``make bench-reactors`` (``python -m tests.lab.queue.bench_reactors``).

For each repeat (campaign seed s), a BoTorch cdse-green campaign is driven by ``qdlab agent`` through one
queue server, then through two, every reactor a simulated world of seed s (the same lots: identical rigs),
Redis and the servers started here on loopback and stopped by PID. Reported per run: experiments the log
had completed when the (measured) target was first met, the target experiment's reactor clock (simulated
seconds since its server started: with two reactors running side by side, the campaign's time to
target), the longest reactor clock at the end, and the agent's wall seconds. Writes ``OUT.json`` and
``OUT.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from lab.config.files import EXAMPLES
from tests.lab.conftest import main_json
from tests.lab.queue.servers import QueueServer, Redis


def _one(root: Path, redis: Redis, campaign: Path, *, reactors: int, seed: int, budget: int) -> dict:
    servers = [
        QueueServer(root / f"r{reactors}-{k}", redis, name=f"r{k}", seed=seed).start()
        for k in range(reactors)
    ]
    try:
        started = time.perf_counter()
        code, summary = main_json(
            ["agent", str(campaign), "--sim", "--budget", str(budget), "--seed", str(seed), "--json",
             "--out", str(root / f"campaign-{reactors}-{seed}"), *[a for s in servers for a in ("--queue", s.address)]]
        )  # fmt: skip
        if code != 0:
            raise SystemExit(f"agent exited {code}: {servers[0].log_text()}")
        return {
            "reactors": reactors,
            "seed": seed,
            "wall_s": round(time.perf_counter() - started, 1),
            "experiments_to_target": summary["experiments_to_target"],
            "reactor_h_to_target": None
            if summary["reactor_s_to_target"] is None
            else round(summary["reactor_s_to_target"] / 3600, 3),
            "reactor_h_total": round(max(summary["reactor_s"].values()) / 3600, 3),
            "experiments_on": summary["experiments_on"],
        }
    finally:
        for server in servers:
            server.stop()


def _counted(run: dict, budget: int) -> tuple[int, float]:
    """(experiments, reactor hours) to target, an unreached run counted as its whole campaign (budget + 1
    experiments, its longest reactor clock), as ``qdlab bench`` counts one."""
    if run["experiments_to_target"] is None:
        return budget + 1, run["reactor_h_total"]
    return run["experiments_to_target"], run["reactor_h_to_target"]


def _table(runs: list[dict], budget: int) -> str:
    lines = [
        f"| reactors | exp. to target (median; unreached = {budget + 1}) | reached | reactor h to target "
        f"(median; unreached = its campaign) | reactor h, {budget} exp. (median) | agent wall s (median) |",
        "|---|---|---|---|---|---|",
    ]
    for n in sorted({r["reactors"] for r in runs}):
        mine = [r for r in runs if r["reactors"] == n]
        counted = [_counted(r, budget) for r in mine]
        reached = sum(r["experiments_to_target"] is not None for r in mine)
        lines.append(
            f"| {n} | {statistics.median(c[0] for c in counted)} | {reached}/{len(mine)} | "
            f"{statistics.median(c[1] for c in counted):.2f} | "
            f"{statistics.median(r['reactor_h_total'] for r in mine):.2f} | "
            f"{statistics.median(r['wall_s'] for r in mine):.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=int, default=12)
    parser.add_argument("--out", type=Path, default=Path("bench-out/reactors.json"))
    args = parser.parse_args()
    campaign = EXAMPLES["campaigns"] / "cdse-green.toml"
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        redis = Redis(root).start()
        try:
            for seed in range(args.repeats):
                for reactors in (1, 2):
                    runs.append(_one(root, redis, campaign, reactors=reactors, seed=seed, budget=args.budget))
                    print(json.dumps(runs[-1]), flush=True)
        finally:
            redis.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"budget": args.budget, "runs": runs}, indent=1))
    args.out.with_suffix(".md").write_text(_table(runs, args.budget))
    print(_table(runs, args.budget))


if __name__ == "__main__":
    main()
