"""numba's cache keyed to the kernel sources (dyn.engine.kernel_cache): edit a helper in another file,
run again in a new process, see the new result without clearing anything; untouched sources still
load from the cache."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dyn
from dyn.engine import kernel_cache

HELPER = "from numba import njit\n\n\n@njit(cache=True)\ndef helper(x):\n    return x + {}\n"
KERNEL = "from numba import njit\n\nfrom toy.helper import helper\n\n\n@njit(cache=True)\ndef kernel(x):\n    return 2.0 * helper(x)\n"
TOY_INIT = ("import os\n\nif os.environ.get('TOY_WATCH') == '1':\n    from dyn.engine.kernel_cache import watch\n\n"
            "    watch(os.path.dirname(os.path.abspath(__file__)))\n")
TOY_RUN = ("import json, toy.kernel as k\nv = k.kernel(1.0)\ns = k.kernel.stats\n"
           "print(json.dumps(dict(value=v, hits=sum(s.cache_hits.values()), misses=sum(s.cache_misses.values()))))")


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "TOY_WATCH", "PYTHONPATH")}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1", **extra}


def _run(code, **env):
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(**env), timeout=900,
                          cwd=env.get("PYTHONPATH"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _toy(root):
    pkg = root / "toy"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(TOY_INIT)
    (pkg / "helper.py").write_text(HELPER.format("1.0"))
    (pkg / "kernel.py").write_text(KERNEL)
    return pkg


def test_edited_helper_in_another_file_recompiles_the_caller(tmp_path):
    pkg = _toy(tmp_path)
    run = lambda: _run(TOY_RUN, PYTHONPATH=str(tmp_path), TOY_WATCH="1")  # noqa: E731 (numba's in-tree cache)
    assert run() == dict(value=4.0, hits=0, misses=1)
    assert run() == dict(value=4.0, hits=1, misses=0)  # still cached
    (pkg / "helper.py").write_text(HELPER.format("10.0"))
    assert run() == dict(value=22.0, hits=0, misses=1)  # the new helper, nothing cleared
    assert run() == dict(value=22.0, hits=1, misses=0)
    assert list((pkg / "__pycache__").glob("kernel.kernel-*.nbi")), "the cache stays where numba puts it"


def test_without_the_locator_numba_runs_the_stale_helper(tmp_path):
    """The control: plain numba (no watch) keeps the old helper inside the cached caller."""
    pkg = _toy(tmp_path)
    run = lambda: _run(TOY_RUN, PYTHONPATH=str(tmp_path))  # noqa: E731
    assert run() == dict(value=4.0, hits=0, misses=1)
    (pkg / "helper.py").write_text(HELPER.format("10.0"))
    assert run() == dict(value=4.0, hits=1, misses=0), "numba now tracks helpers in other files: drop this control"


SOM = dict(rows=3, cols=3, steps=300, data="uniform", record_every=100)
SOM_RUN = f"""
import json, numba
import dyn
from dyn.flows.som import kernels
ds = dyn.simulate("som", **{SOM!r})
w = ds["w"].values
jitted = [f for f in vars(kernels).values() if isinstance(f, numba.core.registry.CPUDispatcher)]
print(json.dumps(dict(file=dyn.__file__, moved=float(abs(w[-1] - w[0]).max()),
                      hits=sum(sum(f.stats.cache_hits.values()) for f in jitted),
                      misses=sum(sum(f.stats.cache_misses.values()) for f in jitted))))
"""
AXIS_FACTOR = '    """One axis\' factor of a separable neighbourhood (gaussian, bubble, triangle, forum gaussian)."""\n'


def test_real_som_kernel_sees_an_edited_neighbourhood_helper(tmp_path):
    """Issue 11's case: som's online kernel (kernels.py) after a helper in neighbourhood.py changed.

    The copy starts from this process's cache of the same sources (numba's in-tree folder beside the
    copy's files), so its first run loads every kernel from the cache; only the edited run compiles.
    """
    from dyn.flows.som import kernels

    dyn.simulate("som", **SOM)  # compiles or loads som's kernels in this process, so their cache exists
    src = tmp_path / "src"
    shutil.copytree(Path(dyn.__file__).parent, src / "dyn", ignore=shutil.ignore_patterns("__pycache__"))
    som = src / "dyn" / "flows" / "som"
    (som / "__pycache__").mkdir()
    for f in Path(kernels.step.stats.cache_path).glob("*.nb[ic]"):
        shutil.copy2(f, som / "__pycache__")
    first = _run(SOM_RUN, PYTHONPATH=str(src))
    assert first["file"] == str(src / "dyn" / "__init__.py")
    assert first["moved"] > 0.1 and first["hits"] > 0 and first["misses"] == 0, first
    text = (som / "neighbourhood.py").read_text()
    assert AXIS_FACTOR in text, "the test edits axis_factor: update AXIS_FACTOR to its docstring"
    (som / "neighbourhood.py").write_text(text.replace(AXIS_FACTOR, AXIS_FACTOR + "    return 0.0  # edited\n"))
    edited = _run(SOM_RUN, PYTHONPATH=str(src))
    assert edited["moved"] == 0.0 and edited["misses"] > 0 and edited["hits"] == 0, edited


def test_only_watched_trees_are_stamped(tmp_path):
    root = Path(dyn.__file__).parent
    group = kernel_cache.group_of(root / "flows" / "som" / "kernels.py")
    assert group == kernel_cache.group_of(root / "engine" / "counter.py") is not None
    assert kernel_cache.group_of(root / "render" / "animate.py") is None
    assert kernel_cache.group_of(tmp_path / "elsewhere.py") is None
    assert len(kernel_cache.sources_stamp(group)) == 64


def test_import_dyn_imports_no_numba():
    proc = subprocess.run([sys.executable, "-c", "import sys, dyn; print('numba' in sys.modules)"],
                          capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.stdout.strip() == "False", proc.stderr
