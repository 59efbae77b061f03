"""Measured vs true figures of a simulated campaign (docs/adr/0008): how many experiments measured a
PL peak, |measured - true| of the PL and first-exciton peaks, and how many readings are nonsense.

    PYTHONPATH=. python scripts/measure_pbs.py [CAMPAIGN.toml] [LAB.toml] [--budget N] [--seed S]

A reading is *nonsense* when it reports a number that cannot be the sample's: an absorption band
edge red of the emission peak (band-edge PL is always Stokes-shifted to the red), or a PL or
absorption peak more than 100 nm from the truth of that world.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from campaigns.spec import CampaignSpec  # noqa: F401 - validated through lab.config.files
from lab.bench.campaign import _sim_campaign, _true_outcomes
from lab.config.files import load_campaign, load_lab

HERE = Path(__file__).resolve().parent.parent
_FAR_NM = 100.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("campaign", nargs="?", default=str(HERE / "campaigns/examples/pbs-swir.toml"))
    ap.add_argument("lab", nargs="?", default=str(HERE / "lab/examples/sim-pbs.toml"))
    ap.add_argument("--budget", type=int, default=12)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    spec = load_campaign(Path(args.campaign))
    spec = spec.model_copy(
        update={"budget": args.budget, **({"seed": args.seed} if args.seed is not None else {})}
    )
    lab = load_lab(Path(args.lab))
    rows, world = _sim_campaign(spec, lab)
    truth = _true_outcomes(spec.material, lab, [r["setpoints"] for r in rows], world)
    table, pl_err, abs_err, nonsense, found = [], [], [], 0, 0
    for i, (r, t) in enumerate(zip(rows, truth)):
        m = r["measured"]
        pl, ab = m.get("pl_peak_nm"), m.get("abs_peak_nm")
        bad = []
        if pl is not None:
            found += 1
            if t.get("pl_peak_nm") is not None:
                pl_err.append(abs(pl - t["pl_peak_nm"]))
                if pl_err[-1] > _FAR_NM:
                    bad.append("pl_far")
        if ab is not None and t.get("abs_peak_nm") is not None:
            abs_err.append(abs(ab - t["abs_peak_nm"]))
            if abs_err[-1] > _FAR_NM:
                bad.append("abs_far")
        if pl is not None and ab is not None and ab > pl:
            bad.append("abs_red_of_pl")
        nonsense += bool(bad)
        table.append(
            {
                "i": i + 1,
                "T": round(r["setpoints"]["temperature_c"], 1),
                "pl": _r(pl),
                "pl_true": _r(t.get("pl_peak_nm")),
                "abs": _r(ab),
                "abs_true": _r(t.get("abs_peak_nm")),
                "plqy": _r(m.get("plqy"), 3),
                "plqy_true": _r(t.get("plqy"), 3),
                "failure": m.get("failure"),
                "quality": m.get("quality"),
                "ms_abs": _r(m.get("abs_integration_ms")),
                "ms_pl": _r(m.get("pl_integration_ms")),
                "pl_snr": _r(m.get("pl_snr")),
                "nonsense": bad,
            }
        )
    summary = {
        "experiments": len(rows),
        "pl_peak_found": found,
        "pl_peak_true_exists": sum(t.get("pl_peak_nm") is not None for t in truth),
        "pl_abs_err_nm": sorted(round(e, 1) for e in pl_err),
        "abs_abs_err_nm": sorted(round(e, 1) for e in abs_err),
        "nonsense": nonsense,
    }
    if args.json:
        print(json.dumps({"rows": table, "summary": summary}, indent=1))
        return
    for row in table:
        print(" ".join(f"{k}={v}" for k, v in row.items()))
    print(json.dumps(summary))


def _r(v, nd=1):
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else round(float(v), nd)


if __name__ == "__main__":
    main()
