"""Every Python code block of the README runs as written: each as a plain script (no main guard), in a
fresh folder where ``studies/`` is the repository's, as a reader would paste it into a file.

A block may be skipped only for what this machine cannot give: a GPU or a cluster. It says so on the
line before it: ``<!-- not run: needs a GPU -->`` (or ``a cluster``).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
NOT_RUN = re.compile(r"<!--\s*not run:\s*(.*?)\s*-->")


def python_blocks(text):
    """[(line number of the opening fence, code, reason it is not run or None)]."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start, body = i + 1, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            before = next((lines[k] for k in range(start - 2, -1, -1) if lines[k].strip()), "")
            marker = NOT_RUN.search(before)
            blocks.append((start, "\n".join(body) + "\n", marker.group(1) if marker else None))
        i += 1
    return blocks


BLOCKS = python_blocks(README.read_text())


def test_the_readme_has_python_blocks_and_skips_only_for_a_gpu_or_a_cluster():
    assert len(BLOCKS) >= 4
    for line, _, reason in BLOCKS:
        if reason is not None:
            assert re.search(r"\b(GPU|cluster)\b", reason), f"README line {line}: not run for {reason!r}"


def test_the_block_finder_sees_fences_and_markers():
    text = "a\n```python\nx = 1\n```\n<!-- not run: needs a GPU -->\n\n```python\ny = 2\n```\n```\nz\n```\n"
    assert python_blocks(text) == [(2, "x = 1\n", None), (7, "y = 2\n", "needs a GPU")]


@pytest.mark.parametrize("line, code, reason", BLOCKS, ids=[f"README-line-{b[0]}" for b in BLOCKS])
def test_readme_block_runs_as_written(line, code, reason, tmp_path):
    if reason is not None:
        pytest.skip(f"README line {line}: {reason}")
    (tmp_path / "studies").symlink_to(ROOT / "studies")
    script = tmp_path / f"readme_{line}.py"
    script.write_text(code)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, script.name], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, f"README block at line {line} failed:\n{proc.stderr[-3000:]}"
