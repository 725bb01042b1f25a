"""What the headline command loads: `import dyn` and `dyn --help` stay light, a run's Dataset and NetCDF
file never import dask or distributed, and the file written that way is byte for byte xarray's."""

import json
import subprocess
import sys

import numpy as np
import pytest

import dyn
from dyn.io.netcdf import encoding
from dyn.io.xarray_lazy import netcdf_bytes, xarray

HEAVY = ("matplotlib", "dask", "distributed", "xarray", "pandas", "numba", "scipy", "h5py")


def loaded_after(code, cwd):
    """The top-level modules of HEAVY (and dask.array) that a fresh interpreter has imported after ``code``."""
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted({m for m in sys.modules if m.split('.')[0] in " \
        f"{HEAVY!r} and m.count('.') <= 1}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, timeout=300)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_dyn_and_help_load_nothing_heavy(tmp_path):
    assert not {m.split(".")[0] for m in loaded_after("import dyn", tmp_path)} & set(HEAVY)
    code = "from dyn.cli import main\ntry:\n    main(['simulate', 'relu', '--help'])\nexcept SystemExit:\n    pass"
    assert not {m.split(".")[0] for m in loaded_after(code, tmp_path)} & set(HEAVY)
    # a bad option is refused before anything heavy is imported
    code = "from dyn.cli import main\nassert main(['simulate', 'relu', '-o', 'run.txt']) == 2"
    assert not {m.split(".")[0] for m in loaded_after(code, tmp_path)} & set(HEAVY)


def test_a_run_and_its_file_do_not_import_dask_or_distributed(tmp_path):
    code = "from dyn.cli import main\nassert main(['simulate', 'relu', '--frames', '5', '--width', '3', '-q', " \
           "'--no-gif']) == 0"
    loaded = loaded_after(code, tmp_path)
    assert "xarray" in loaded and "h5py" in loaded  # the probe sees what the run imported
    assert not {"dask", "distributed", "matplotlib"} & {m.split(".")[0] for m in loaded}, loaded
    back = dyn.load(tmp_path / "relu.nc")
    assert back.sizes["time"] == 6 and back.attrs["status"] == "completed"


@pytest.mark.parametrize("flow, options", [("relu", {"frames": 6, "width": 4, "replicas": 2}),
                                           ("sphere", {"steps": 30}), ("som", {"steps": 200})])
def test_the_file_is_byte_for_byte_xarrays(flow, options, tmp_path):
    """dyn.save writes (encoded as dyn encodes) the bytes xarray's own to_netcdf writes."""
    ds = dyn.simulate(flow, **options)
    enc = encoding(ds)
    ours = bytes(netcdf_bytes(ds, encoding=enc))
    theirs = bytes(ds.to_netcdf(engine="h5netcdf", invalid_netcdf=False, encoding=enc))
    assert ours[:8] == b"\x89HDF\r\n\x1a\n" and ours == theirs
    path = dyn.save(ds, tmp_path / "run.nc")  # what dyn.save writes
    assert path.read_bytes() == theirs


def test_dask_arrays_are_still_recognised_once_dask_is_imported():
    """The lazy answers ("no dask type", "not a dask collection") hold only while dask is not imported."""
    xr = xarray()
    import dask.array as da

    ds = xr.Dataset({"v": ("x", da.from_array(np.arange(6.0), chunks=3))})
    assert ds["v"].chunks == ((3, 3),)
    assert float(ds["v"].sum().compute()) == 15.0
    from xarray.namedarray.pycompat import array_type

    assert da.Array in array_type("dask")
    from xarray.namedarray.utils import is_duck_dask_array

    assert is_duck_dask_array(ds["v"].data) and not is_duck_dask_array(np.arange(3.0))
