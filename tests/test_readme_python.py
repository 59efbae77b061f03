"""The README's Python example runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks
    for block in blocks:
        namespace: dict = {}
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own documentation
        best = namespace["opt"].best()
        assert abs(best["q_a"] - 12.0) < 4.0 and abs(best["T"] - 260.0) < 15.0
    assert "loss" in capsys.readouterr().out
