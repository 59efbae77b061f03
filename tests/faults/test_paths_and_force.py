"""``qdlab run --out DIR [--force]``: never delete what qdlab did not write; one line, exit 2, nothing moved.

``--force`` replaces only a qdlab campaign, moved aside to ``DIR.replaced-<time>`` (never deleted), under
its lock, once the whole command has been checked; every path problem is refused in one line before
anything is written or moved (docs/reliability.md, "Paths and --force").
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab.cli import main

from tests.lab.conftest import finished_campaign, write_fast_campaign

ROOT = Path(__file__).resolve().parents[2]


def _cli(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.err.strip()


def _sim_run(capsys, campaign: Path, out: Path, *extra):
    """``qdlab run CAMPAIGN --sim --out OUT --budget 2 [EXTRA...]``: its exit status and stderr."""
    return _cli(capsys, "run", campaign, "--sim", "--out", out, "--budget", "2", *extra)


def _one_line(err: str) -> None:
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err


def _refused_in_one_line(command: list) -> str:
    """Run ``command`` (a qdlab command line, or one that execs it) with this checkout's code: it must exit
    2 with one line on stderr, no traceback; returns that line."""
    proc = subprocess.run(
        [str(a) for a in command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    err = proc.stderr.strip()
    _one_line(err)
    return err


def _tree(path: Path) -> dict:
    """Every file under ``path`` with its bytes (what must survive a refusal untouched)."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory, campaign_file) -> Path:
    """A finished 2-experiment campaign (copy it, do not modify it)."""
    return finished_campaign(tmp_path_factory, "finished", campaign_file, 2)


@pytest.fixture
def old_campaign(finished, tmp_path) -> Path:
    out = tmp_path / "runs" / "cdse"
    shutil.copytree(finished, out)
    return out


def _asides(directory: Path) -> list[Path]:
    return sorted(directory.parent.glob(directory.name + ".replaced-*"))


# ----- --force replaces only a qdlab campaign, and moves it aside -----


@pytest.mark.parametrize("force", [False, True])
def test_a_directory_that_is_not_a_campaign_is_never_replaced(tmp_path, capsys, campaign_file, force):
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("\\chapter{Introduction}\n")
    code, err = _sim_run(capsys, campaign_file, thesis, *(["--force"] if force else []))
    assert code == 2
    _one_line(err)
    assert f"{thesis} holds 1 file that is not a qdlab campaign (chapter1.tex); choose another --out" in err
    assert "already holds a campaign" not in err
    assert _tree(thesis) == {"chapter1.tex": b"\\chapter{Introduction}\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]


def test_a_campaign_without_force_is_named_as_one(old_campaign, capsys, campaign_file):
    before = _tree(old_campaign)
    code, err = _sim_run(capsys, campaign_file, old_campaign)
    assert code == 2
    _one_line(err)
    assert f"{old_campaign} holds a campaign; continue it with qdlab resume {old_campaign}" in err
    assert _tree(old_campaign) == before and not _asides(old_campaign)


def test_force_moves_the_old_campaign_aside_whole(old_campaign, capsys, campaign_file):
    (old_campaign / "notes.txt").write_text("sample 3 looked cloudy\n")  # the user's, inside the campaign
    before = _tree(old_campaign)
    code, err = _sim_run(capsys, campaign_file, old_campaign, "--seed", "5", "--force")
    assert code == 0, err
    (aside,) = _asides(old_campaign)
    assert f"moved the campaign that was in {old_campaign} aside to {aside}" in err.splitlines()
    assert _tree(aside) == before  # nothing deleted, nothing changed
    assert (old_campaign / "documents.jsonl").read_bytes() != before["documents.jsonl"]
    assert not (old_campaign / "notes.txt").exists()


def test_force_never_replaces_a_running_campaign(old_campaign, capsys, campaign_file):
    # the other process holds the campaign's log open, as a running qdlab does
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom lab.store.storage import DocumentLog\nlog = DocumentLog(sys.argv[1]).open()\n"
            "print('locked', flush=True)\nsys.stdin.read()\n",
            str(old_campaign),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        before = _tree(old_campaign)
        code, err = _sim_run(capsys, campaign_file, old_campaign, "--force")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert code == 2
    _one_line(err)
    assert "another qdlab process is running" in err and "never replaces a running campaign" in err
    assert _tree(old_campaign) == before and not _asides(old_campaign)


@pytest.mark.parametrize("case", ["pre-flight", "tiled", "reactor model"])
def test_force_moves_nothing_before_the_whole_command_is_checked(
    old_campaign, tmp_path, capsys, campaign_file, case
):
    campaign, extra = campaign_file, []
    if case == "pre-flight":  # beyond the simulated heater's limits
        campaign = write_fast_campaign(tmp_path / "hot.toml", 'high = "310 degC"', 'high = "400 degC"')
    elif case == "tiled":  # nothing listens on port 9 (discard) of this machine
        extra = ["--tiled", "http://127.0.0.1:9"]
    else:  # a model that the simulated lab cannot use: a hardware lab
        model = tmp_path / "m.py"
        model.write_text("def f(c):\n    return {}\n")
        extra = ["--reactor-model", f"{model}:f", "--lab", str(ROOT / "lab" / "examples" / "emulated.toml")]
    before = _tree(old_campaign)
    sim = [] if case == "reactor model" else ["--sim"]
    code, err = _cli(capsys, "run", campaign, *sim, "--out", old_campaign, "--budget", "2", "--force", *extra)
    assert code == 2
    _one_line(err)
    assert _tree(old_campaign) == before and not _asides(old_campaign)


# ----- campaign names are one directory name -----


@pytest.mark.parametrize("name", [".", "..", "a" * 256])
def test_a_campaign_name_must_be_one_directory_name(tmp_path, monkeypatch, capsys, name):
    work = tmp_path / "work"
    other = work / "runs" / "other"
    other.mkdir(parents=True)
    (other / "documents.jsonl").write_text("")
    (other / "campaign.toml").write_text("")
    campaign = write_fast_campaign(tmp_path / "c.toml", 'name = "cdse-green"', f'name = "{name}"')
    monkeypatch.chdir(work)
    code, err = _cli(capsys, "run", campaign, "--sim", "--budget", "2", "--force")
    assert code == 2
    _one_line(err)
    assert f"{campaign}: name:" in err
    assert "directory name" in err
    assert sorted(p.name for p in work.rglob("*")) == ["campaign.toml", "documents.jsonl", "other", "runs"]


# ----- one line, exit 2, nothing moved, for every path problem -----


def test_out_naming_a_file_is_refused(tmp_path, capsys, campaign_file):
    paper = tmp_path / "paper.pdf"
    paper.write_bytes(b"%PDF-1.7")
    for out in (paper, paper / "campaign"):
        for force in ([], ["--force"]):
            code, err = _sim_run(capsys, campaign_file, out, *force)
            assert code == 2
            _one_line(err)
            assert f"{paper} is a file, not a directory; choose another --out" in err
    assert paper.read_bytes() == b"%PDF-1.7" and sorted(tmp_path.iterdir()) == [paper]


@pytest.mark.parametrize("target", ["campaign", "empty directory"])
def test_a_symlinked_out_directory_is_refused_not_followed(
    old_campaign, tmp_path, capsys, campaign_file, target
):
    real = old_campaign if target == "campaign" else tmp_path / "empty"
    real.mkdir(exist_ok=True)
    before = _tree(real)
    link = tmp_path / "link"
    link.symlink_to(real)
    code, err = _sim_run(capsys, campaign_file, link, "--force")
    assert code == 2
    _one_line(err)
    assert f"{link} is a symbolic link (to {real}); qdlab does not follow it" in err
    assert link.is_symlink() and _tree(real) == before and not _asides(real) and not _asides(link)


def test_a_name_too_long_for_the_file_system_is_refused(tmp_path, capsys, campaign_file):
    out = tmp_path / ("x" * 300)
    code, err = _sim_run(capsys, campaign_file, out)
    assert code == 2
    _one_line(err)
    assert "is 300 bytes; this file system takes at most 255 in one name" in err
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_file_system_is_refused(tmp_path, campaign_file):
    mount = tmp_path / "ro"
    mount.mkdir()
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o ro tmpfs {mount}"], capture_output=True
    )
    if probe.returncode != 0:
        pytest.skip(
            f"cannot mount a read-only file system here (unshare -m: {probe.stderr.decode().strip()})"
        )
    command = (
        f"mount -t tmpfs -o ro tmpfs {mount} && exec {sys.executable} -m lab.cli run {campaign_file} --sim "
        f"--budget 2 --out {mount / 'runs' / 'c'}"
    )
    err = _refused_in_one_line(["unshare", "-m", "sh", "-c", command])
    assert f"cannot write {mount / 'runs' / 'c'}: {mount} is on a read-only file system" in err


def _without_root_powers() -> list[str]:
    """A prefix that runs a command with file permissions enforced: chmod cannot deny root, so as root
    the command runs without the capabilities that override them (setpriv), else as it is."""
    if os.geteuid() != 0:
        return []
    prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True)
    except OSError as exc:
        pytest.skip(f"as root, and setpriv cannot drop the capabilities that override chmod: {exc}")
    if probe.returncode != 0:
        pytest.skip(
            f"as root, and setpriv cannot drop the capabilities that override chmod: {probe.stderr!r}"
        )
    return prefix


def test_a_directory_that_is_not_writable_is_refused(tmp_path, campaign_file):
    prefix = _without_root_powers()
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        for out in (parent / "c", parent):
            err = _refused_in_one_line(
                [
                    *prefix,
                    sys.executable,
                    "-m",
                    "lab.cli",
                    "run",
                    campaign_file,
                    "--sim",
                    "--budget",
                    2,
                    "--out",
                    out,
                ]
            )
            where = "it" if out == parent else str(parent)
            assert f"cannot write {out}: {where} is not writable (permission denied)" in err
        assert list(parent.iterdir()) == []
    finally:
        parent.chmod(0o755)


# ----- the emulated lab never unlinks a port path it did not make -----


def _emulated_lab(tmp_path: Path) -> Path:
    text = (ROOT / "lab" / "examples" / "emulated.toml").read_text()
    text = text.replace("/tmp/qdlab-ne1000", str(tmp_path / "ne1000")).replace(
        "/tmp/qdlab-tc", str(tmp_path / "tc")
    )
    path = tmp_path / "lab.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("what", ["symlink", "file"])
def test_the_emulated_lab_never_unlinks_a_port_it_did_not_make(tmp_path, capsys, campaign_file, what):
    lab = _emulated_lab(tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("precious\n")
    port = tmp_path / "ne1000"
    if what == "symlink":
        port.symlink_to(notes)
    else:
        port.write_text("mine\n")
    code, err = _cli(capsys, "run", campaign_file, "--lab", lab, "--out", tmp_path / "out", "--budget", "1")
    assert code == 2
    _one_line(err)
    assert f"{lab}: pumps.cd.port: cannot start the emulators: {port} exists" in err
    assert notes.read_text() == "precious\n" and (port.is_symlink() if what == "symlink" else port.is_file())
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("target", ["file", "serial port"])
def test_the_pty_server_replaces_only_a_link_to_a_pseudo_terminal(tmp_path, target):
    from simulators.emulators import PtyServer

    class Silent:
        def receive(self, data):
            return []

        def tick(self):
            pass

    other = tmp_path / "other-target"
    other.write_text("x")
    link = tmp_path / "port"
    link.symlink_to(other if target == "file" else "/dev/ttyUSB7")  # a real port's link: never removed
    with pytest.raises(FileExistsError, match="a symbolic link to"):
        PtyServer(Silent(), link=link).start()
    assert link.is_symlink() and os.readlink(link) == (str(other) if target == "file" else "/dev/ttyUSB7")
    link.unlink()
    link.symlink_to("/dev/pts/999999")  # what an emulator killed by kill -9 leaves behind
    server = PtyServer(Silent(), link=link).start()
    try:
        assert os.readlink(link) == server.path
    finally:
        server.stop()
    assert not os.path.lexists(link)
