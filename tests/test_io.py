"""Runs on disk: round trip, atomic replacement, clear errors on bad files."""

import errno

import numpy as np
import pytest
import xarray as xr

import dyn
from dyn.io import netcdf


@pytest.fixture(scope="module")
def small_run():
    return dyn.simulate("relu", frames=5, replicas=2, width=3)


def test_round_trip_is_identical(small_run, tmp_path):
    path = dyn.save(small_run, tmp_path / "run.nc")
    back = dyn.load(path)
    xr.testing.assert_identical(back, small_run)
    assert back.attrs["schema_version"] == 1 and back.attrs["flow"] == "relu"
    for name in back.variables:
        assert back[name].attrs["description"] and "units" in back[name].attrs, name


@pytest.mark.parametrize("in_memory", [True, False])
def test_failed_write_leaves_the_old_file(small_run, tmp_path, monkeypatch, in_memory):
    """A write that fails half way (the file image written to disk, or HDF5 writing directly when the image
    would not fit in memory) leaves the old file and no temporary."""
    path = tmp_path / "run.nc"
    path.write_bytes(b"precious")

    def half_then_full(target, *args, **kwargs):
        open(target, "wb").write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    if in_memory:
        monkeypatch.setattr(netcdf, "write_bytes", half_then_full)
    else:
        monkeypatch.setattr(netcdf, "_memory_allows", lambda nbytes: False)
        monkeypatch.setattr(xr.Dataset, "to_netcdf", lambda self, target, **kw: half_then_full(target))
    with pytest.raises(dyn.RunError, match="cannot write .*No space left on device"):
        dyn.save(small_run, path)
    assert path.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["run.nc"]  # no temporary file left behind


def test_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(dyn.UsageError, match="no such file"):
        dyn.load(tmp_path / "nope.nc")


def test_garbage_file_is_a_run_error(tmp_path):
    path = tmp_path / "bad.nc"
    path.write_bytes(b"not a netcdf file at all")
    with pytest.raises(dyn.RunError, match="not a readable NetCDF"):
        dyn.load(path)


def test_foreign_netcdf_and_other_schema_are_refused(small_run, tmp_path):
    path = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(dyn.RunError, match="not a dyn run"):
        dyn.load(path)
    old = small_run.copy()
    old.attrs["schema_version"] = 99
    netcdf.save(old, tmp_path / "old.nc")
    with pytest.raises(dyn.RunError, match="schema version 99"):
        dyn.load(tmp_path / "old.nc")
