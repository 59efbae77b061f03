"""``qdlab simulate`` looks up the chemistry without the device and optimiser stack.

torch, BoTorch, bluesky and ophyd take seconds to import; listing the settable conditions or asking
for a true steady state must not pay for them (issue 13). Each case runs the real command in a fresh
interpreter and reads which modules it loaded.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("torch", "botorch", "bluesky", "ophyd")

_PROBE = (
    "import json, sys; from lab.cli import main; code = main(['simulate', *sys.argv[1:]]); "
    "sys.stderr.write('\\nLOADED ' + json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)) + '\\n'); "
    "sys.exit(code)"
)


def _simulate(args: list[str], heavy: tuple[str, ...]) -> tuple[dict, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=heavy), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    loaded = json.loads(proc.stderr.rsplit("LOADED ", 1)[1])
    return json.loads(proc.stdout), loaded


def test_describe_loads_neither_the_device_stack_nor_the_optimisers_nor_pint():
    # pint (with the dask it probes for on import) is most of what --describe used to load; it parses
    # --set values, which --describe has none of
    result, loaded = _simulate(
        ["--material", "CdSe", "--describe", "--json"], (*HEAVY, "pint", "simulators.rig")
    )
    assert loaded == []
    names = [c["name"] for c in result["conditions"]]
    assert result["material"] == "CdSe" and names[0] == "temperature" and "flow_cd" in names
    assert all(c["low"] < c["high"] for c in result["conditions"])


def test_a_true_steady_state_loads_neither_the_device_stack_nor_the_optimisers():
    result, loaded = _simulate(
        ["--set", "temperature=270 degC", "--set", "flow_cd=40 uL/min", "--json"], HEAVY
    )
    assert loaded == []
    assert 400.0 < result["pl_peak_nm"] < 700.0 and result["residence_time_s"] > 0
