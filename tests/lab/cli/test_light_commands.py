"""Commands that read a finished campaign, or describe the simulator, start without the heavy stack
(issue 19, deliverable 5): not a wall-clock assertion, which a busy CI machine would flake on, but which
modules the command left in ``sys.modules``."""

import json
import subprocess
import sys

HEAVY = (
    "torch",
    "botorch",
    "gpytorch",
    "bluesky",
    "ophyd",
    "pint",
    "scipy.signal",
    "numba",
    "matplotlib",
    "lab.run.session",
    "campaigns.plans",
)
"""Each of these takes a tenth of a second to seconds to import, and none of them is needed to read a log
back or to say what the simulator takes."""


def loaded_heavy_modules(*argvs: list[str]) -> list[str]:
    """The modules of ``HEAVY`` a fresh interpreter holds after running ``qdlab ARGV`` for each argv
    (each must exit 0)."""
    code = (
        "import sys\nfrom lab.cli import main\n"
        f"for argv in {argvs!r}:\n"
        "    code = main(argv)\n"
        "    assert code == 0, (argv, code)\n"
        "import json\n"
        f"print('loaded:', json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(line for line in proc.stderr.splitlines() if line.startswith("loaded: "))
    return json.loads(line.removeprefix("loaded: "))


def test_export_and_watch_of_a_finished_campaign_do_not_load_the_heavy_stack(small_campaign, tmp_path):
    csv = tmp_path / "experiments.csv"
    loaded = loaded_heavy_modules(
        ["export", str(small_campaign), "--csv", "--out", str(csv)], ["watch", str(small_campaign)]
    )
    assert loaded == []
    assert csv.is_file() and len(csv.read_text().splitlines()) == 1 + 4  # the command did its work


def test_simulate_describe_does_not_load_the_heavy_stack():
    assert loaded_heavy_modules(["simulate", "--describe"]) == []
