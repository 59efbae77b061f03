"""lab.bench.tune: candidate defaults judged on the tuning problems only, each run stopped at its target."""

import json
import subprocess
import sys

import pytest

from lab.bench.suite import function_task
from lab.bench.tune import main, tune


def test_a_run_stopped_at_the_target_is_the_full_run_cut_there():
    full = function_task("branin", "random", 0, 400)
    cut = function_task("branin", "random", 0, 400, stop_at_target=True)
    first = full["experiments_to_target"]
    assert first is not None and cut["experiments_to_target"] == first
    assert cut["n_experiments"] == first and full["n_experiments"] == 400
    assert cut["best_true_trace"] == full["best_true_trace"][:first]


def test_candidates_meet_the_same_seeds_and_the_unreached_count_budget_plus_one():
    # budget 3 is below the initial design: every candidate proposes the same Sobol points, and
    # misses the target (branin's best 1 % of the box) unless a Sobol point lands in it
    result = tune(
        {"default": {}, "light": {"num_restarts": 1}}, problems="branin", repeats=1, budget=3, workers=1
    )
    d, light = result["candidates"]["default"], result["candidates"]["light"]
    assert d["results"] == light["results"]
    assert all(1 <= n <= 4 for n in d["results"]["branin"])
    reference = [function_task("branin", "botorch", 0, 3)["experiments_to_target"]]
    assert d["results"]["branin"] == [4 if n is None else n for n in reference]
    assert result["problems"] == {"branin": 3}


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--problems", "ackley5"], ["ackley5", "tuning split", "branin"]),
        (["--candidate", "x={not json"], ["x", "not JSON"]),
        (["--candidate", "x"], ["expected NAME="]),
        (["--candidate", 'x={"no_such_option": 1}'], ["--candidate x", "no_such_option"]),
        (["--repeats", "0"], ["--repeats", "at least 1"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and all(w in err for w in words), err


def test_the_command_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "tune.json"
    cmd = [
        sys.executable,
        "-m",
        "lab.bench.tune",
        "--problems",
        "branin",
        "--repeats",
        "1",
        "--budget",
        "2",
        "--strategy",
        "sobol",
    ]
    proc = subprocess.run(
        [*cmd, "--workers", "1", "--out", str(out)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "| default | `{}` |" in proc.stdout
    assert json.loads(out.read_text())["candidates"]["default"]["results"]["branin"][0] in (1, 2, 3)
