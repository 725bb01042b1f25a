import os

import pytest

# Tests start from an empty numba cache only when CI asks for it; locally the cache makes reruns fast.
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def seed_run():
    """The default relu run (seed 002's experiment), computed once per test session."""
    import dyn

    return dyn.simulate("relu")
