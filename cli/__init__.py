"""The ``dyn`` command line (packaged as ``dyn.cli``)."""


def main():
    from dyn.cli.app import main as _main

    return _main()
