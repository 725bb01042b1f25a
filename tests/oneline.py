"""The check every CLI test makes of a failure (a module of its own: ``from conftest import`` is ambiguous
once tests/cuda/conftest.py is collected, since both register as the module ``conftest``)."""


def one_line_error(err):
    """True when stderr is one ``dyn: error: ...`` line and no traceback."""
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("dyn: error: ") and "Traceback" not in err
