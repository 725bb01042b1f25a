"""The ``dyn`` command line (packaged as ``dyn.cli``)."""


def main(argv=None):
    """Run ``dyn`` with ``argv`` (default: the process's arguments); return the exit status."""
    from dyn.cli.app import main as _main

    return _main(argv)
