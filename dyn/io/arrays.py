"""Numbers from a user's .npy or .csv file, and the (n, D) samples a flow learns, checked in one line each.

One reader for every flow's data, labels and order files: a missing file is a usage error (exit 2), a
file that is not numbers or holds none a runtime error (exit 1); numpy's own message is never quoted
(it may quote the file's contents), only where reading stopped ("row 3, column 2").
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from dyn.errors import RunError, UsageError

def read_numbers(path, ndmin=2, kind=None):
    """The array of a .npy file, or the comma-separated rows of any other (at least ``ndmin`` dims), not
    empty; ``kind`` names them in the error (default: "cannot read x.csv as csv numbers (row 2, column 1)")."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    try:
        with warnings.catch_warnings():  # loadtxt warns on an empty file: it is refused below, in one line
            warnings.simplefilter("ignore")
            if path.suffix.lower() == ".npy":
                a = np.load(path, allow_pickle=False)
            else:
                a = np.loadtxt(path, delimiter=",", ndmin=ndmin)
    except (ValueError, OSError, EOFError) as err:  # numpy's message may quote the file: say only where
        at = re.search(r"at row \d+(, column \d+)?", str(err))
        kind = kind or f"{path.suffix[1:]} numbers"
        raise RunError(f"cannot read {path} as {kind}" + (f" ({at.group(0)[3:]})" if at else "")) from None
    if np.size(a) == 0:
        raise RunError(f"{path} holds no data")
    return np.asarray(a)


def as_samples(x, what="data", column=False):
    """(n, D) float64, finite, n, D >= 1; ``column``: a 1-D array is n samples of one dimension."""
    if np.iscomplexobj(x):
        raise UsageError(f"{what} must be real numbers, got complex ones")
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise UsageError(f"{what} must be numbers, shape (n, D)") from None
    if column and x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise UsageError(f"{what} must have shape (n, D) with n, D >= 1; got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise UsageError(f"{what} contains NaN or inf")
    return np.ascontiguousarray(x)
