"""Runs on disk: round trip, atomic replacement, clear errors on bad files."""

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


def test_failed_write_leaves_the_old_file(small_run, tmp_path, monkeypatch):
    path = tmp_path / "run.nc"
    path.write_bytes(b"precious")

    def boom(self, *args, **kwargs):
        open(args[0], "wb").write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", boom)
    with pytest.raises(dyn.RunError, match="cannot write"):
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
