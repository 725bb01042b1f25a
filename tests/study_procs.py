"""Helpers of the study tests that run ``dyn study run`` in a subprocess and stop it mid-way."""

import json
import os
import subprocess
import sys
import time

# tasks of about half a second each (two seeds as replicas): the study lasts long enough to be stopped mid-way
SLOW_SPEC = """flow = "relu"
seeds = 2
[fixed]
frames = 10
schedule = "constant"
steps_per_frame = 20000
test_loss = "none"
[sweep]
width = [4, 6, 8, 10]
radius = [0.05, 0.5]
"""
SLOW_CELLS = 16


def start(tmp_path, log, *args, spec="s.toml", text=SLOW_SPEC):
    """``dyn study run SPEC -q ARGS`` in its own session (killable as a group), logging to ``log``."""
    (tmp_path / spec).write_text(text)
    env = dict(os.environ, DYN_STUDY_LOG=str(log))
    return subprocess.Popen([sys.executable, "-m", "dyn.cli", "study", "run", spec, "-q", *args], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def events(log):
    """(event, cell) pairs of the log: one per seed of each region written there."""
    out = []
    for line in log.read_text().splitlines() if log.exists() else []:
        event, region = line.split(" ", 1)
        region = json.loads(region)
        lo, hi = region.pop("seed")
        key = tuple(sorted((k, v[0]) for k, v in region.items()))
        out += [(event, key + (("seed", s),)) for s in range(lo, hi)]
    return out


def wait_for_done(log, n, proc, timeout=90):
    t = time.time()
    while sum(e == "done" for e, _ in events(log)) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t < timeout, "the study did not progress"
        time.sleep(0.05)


def group_ends(pgid, timeout=20):
    """True once no process is left in the group (exited workers may linger a moment as zombies)."""
    t = time.time()
    while time.time() - t < timeout:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def files(folder, skip=("status/dyn.lock",)):
    """{relative path: bytes} of every file under ``folder`` but the lock."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and str(p.relative_to(folder)) not in skip}
