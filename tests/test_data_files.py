"""One reader for the data files of every flow: the same bad file is the same line and exit code in som, center
and linear, and no line quotes the file's contents."""

import numpy as np
import pytest

from conftest import one_line_error

# what each flow needs beside --data to reach the data file (center reads labels from a file of their own)
FLOWS = {"som": ["--steps", "5", "--no-gif", "-q"], "center": ["--labels", "y.npy"], "linear": []}


def write_files(folder):
    (folder / "bad.npy").write_bytes(b"not numpy")
    (folder / "bad.csv").write_text("0,1,1\nTOPSECRET,2,-1\n")
    (folder / "empty.csv").write_text("")
    np.save(folder / "empty.npy", np.zeros((0, 3)))
    np.save(folder / "y.npy", np.arange(2) % 2)


@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("name, code, line", [
    ("missing.csv", 2, "dyn: error: no such file: missing.csv"),
    ("bad.npy", 1, "dyn: error: cannot read bad.npy as npy numbers"),
    ("bad.csv", 1, "dyn: error: cannot read bad.csv as csv numbers (row 1, column 1)"),  # numpy's: row from 0
    ("empty.csv", 1, "dyn: error: empty.csv holds no data"),
    ("empty.npy", 1, "dyn: error: empty.npy holds no data"),
])
def test_a_bad_data_file_is_the_same_line_in_every_flow(run_cli, tmp_path, flow, name, code, line):
    write_files(tmp_path)
    (tmp_path / f"{flow}.nc").write_bytes(b"precious")
    got, out, err = run_cli("simulate", flow, "--data", name, *FLOWS[flow])
    assert got == code and one_line_error(err), err
    assert err.strip() == line, err  # numpy's message (the file's contents, its advice to unpickle) stays out
    assert (tmp_path / f"{flow}.nc").read_bytes() == b"precious"


@pytest.mark.parametrize("option, flow, extra", [("--labels", "center", ["--data", "x.npy"]),
                                                 ("--order", "linear", [])])
def test_labels_and_order_files_are_read_by_the_same_reader(run_cli, tmp_path, option, flow, extra):
    np.save(tmp_path / "x.npy", np.zeros((2, 3)))
    (tmp_path / "bad.csv").write_text("1\nTOPSECRET\n")
    (tmp_path / "empty.csv").write_text("")
    kind = "csv numbers" if option == "--labels" else "sample indices"
    got, out, err = run_cli("simulate", flow, *extra, option, "bad.csv")
    assert got == 1 and err.strip() == f"dyn: error: cannot read bad.csv as {kind} (row 1, column 1)", err
    got, out, err = run_cli("simulate", flow, *extra, option, "empty.csv")
    assert got == 1 and err.strip() == "dyn: error: empty.csv holds no data", err
    assert "Warning" not in err


def test_read_numbers_keeps_shapes_and_refuses_in_one_line(tmp_path):
    from dyn.errors import RunError, UsageError
    from dyn.io.arrays import as_samples, read_numbers

    (tmp_path / "x.csv").write_text("1,2\n3,4\n5,6\n")
    (tmp_path / "col.csv").write_text("1\n2\n")
    np.save(tmp_path / "x.npy", np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(read_numbers(tmp_path / "x.csv"), np.arange(1.0, 7.0).reshape(3, 2))
    np.testing.assert_array_equal(read_numbers(tmp_path / "x.npy"), np.arange(6.0).reshape(3, 2))
    assert read_numbers(tmp_path / "col.csv").shape == (2, 1)
    assert read_numbers(tmp_path / "col.csv", ndmin=1).shape == (2,)
    with pytest.raises(UsageError, match="no such file"):
        read_numbers(tmp_path / "nope.npy")
    (tmp_path / "bad.csv").write_text("1,2\n3,x\n")
    with pytest.raises(RunError) as err:
        read_numbers(tmp_path / "bad.csv")
    assert str(err.value).endswith("bad.csv as csv numbers (row 1, column 2)")  # numpy counts rows from 0
    assert as_samples(np.arange(3.0), column=True).shape == (3, 1)
    for bad, words in ((np.arange(3.0), "must have shape (n, D)"), (np.array([[1j]]), "real numbers"),
                       (np.array([[np.inf]]), "contains NaN or inf"), ([["a"]], "must be numbers")):
        with pytest.raises(UsageError) as err:
            as_samples(bad, "probe")
        assert str(err.value).startswith("probe ") and words in str(err.value)
