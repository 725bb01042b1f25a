"""The ``dyn`` command line (packaged as ``dyn.cli``)."""


def main(argv=None):
    """Run ``dyn`` with ``argv`` (default: the process's arguments); return the exit status.

    Called without ``argv`` (the ``dyn`` script, ``python -m dyn.cli``) the process ends here once the
    command is done: output flushed and ``atexit`` handlers run as at a normal exit, but without the
    interpreter's teardown of every imported module (numba, xarray, matplotlib...), which costs 0.3 s
    of CPU after a ``dyn simulate``. Where another thread is still running, the exit is the normal one.
    """
    from dyn.cli.app import main as _main

    code = _main(argv)
    if argv is None:
        _exit_now(code)
    return code


def _exit_now(code):
    import atexit
    import os
    import sys
    import threading

    if threading.active_count() > 1:
        return
    status = 0 if code is None else code if isinstance(code, int) else 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # a closed pipe: the normal exit reports it
        return
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(status)
