"""Every qdlab command in README.md and docs/*.md runs as written (with small budgets).

Commands in ```console and ```sh blocks are run in order, one document at a time, from a scratch
directory that sees the repository's campaigns/ and lab/ (so relative paths work as in a checkout).
Budgets are capped at 2 experiments, ``run`` gets ``--force`` and ``watch`` gets ``--once``. Commands
that need a service or another engineer's feature (a Tiled server, a Dask cluster, ``make``) are
listed in SKIP with where they are tested instead.
"""

import re
import shlex
from pathlib import Path

import pytest

from lab.cli import main

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = {
    "--tiled": "needs a Tiled server: tests/lab/store/test_tiled.py runs the same commands against a local one",
    "bench": "a Dask cluster / long benchmark: tests of qdlab bench",
    "emulate": "serves until Ctrl-C: tests/lab/run/test_emulated_lab.py",
    "reactor-2.toml": "an example file name for a real rig",
    "make": "make demo / make test are what CI runs",
    "serve": "runs a queue server until stopped: tests/lab/queue/ starts them (with Redis) on loopback",
    "agent": "needs running queue servers: tests/lab/queue/test_agent.py runs it against real ones",
}


def commands_of(path: Path) -> list[str]:
    """The shell commands of a document's ```console / ```sh blocks (continuations joined, comments cut)."""
    out = []
    for block in re.findall(r"```(?:console|sh)\n(.*?)```", path.read_text(), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def adapt(argv: list[str]) -> list[str]:
    argv = list(argv)
    if argv[0] == "run":
        if "--budget" in argv:
            i = argv.index("--budget") + 1
            argv[i] = str(min(int(argv[i]), 2))
        else:
            argv += ["--budget", "2"]
        argv.append("--force")
    if argv[0] == "watch" and "--once" not in argv:
        argv.append("--once")
    return argv


def _skip_reason(line: str) -> str | None:
    words = line.split()
    for key, reason in SKIP.items():
        if key in words[:2] or (key.startswith("-") or "." in key) and key in line:
            return reason
    return None


def test_readme_starts_with_the_two_commands_for_a_fresh_machine():
    text = (ROOT / "README.md").read_text()
    assert text.startswith("```sh\nmake demo\nmake test\n```\n")


def test_docs_link_to_the_simulator_and_every_doc():
    readme = (ROOT / "README.md").read_text()
    for name in (
        "writing-a-campaign",
        "hardware",
        "adding-a-driver",
        "data-format",
        "scaling-out",
        "simulator",
    ):
        assert f"docs/{name}.md" in readme


@pytest.mark.parametrize(
    "doc",
    [pytest.param(d, id=d.name, marks=[pytest.mark.slow] if d.name == "hardware.md" else []) for d in DOCS],
)
def test_every_qdlab_command_runs(doc, tmp_path, monkeypatch, capsys):
    lines = [
        c for c in commands_of(doc) if c.startswith("qdlab ") or c.split()[0] in ("make", "tiled", "dask")
    ]
    runnable = [c for c in lines if c.startswith("qdlab ") and _skip_reason(c) is None]
    if not runnable:
        pytest.skip(f"{doc.name}: no runnable qdlab command")
    for name in ("campaigns", "lab"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    for line in runnable:
        argv = adapt(shlex.split(line)[1:])
        code = main(argv)
        assert code == 0, f"{doc.name}: `{line}` exited {code}: {capsys.readouterr().err[-2000:]}"


def test_data_format_python_example_runs(small_campaign, tmp_path, monkeypatch):
    code = re.search(
        r"```python\n(.*?)```", (ROOT / "docs" / "data-format.md").read_text(), flags=re.S
    ).group(1)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "demo").symlink_to(small_campaign)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "data-format.md", "exec"), {})
