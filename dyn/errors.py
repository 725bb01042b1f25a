"""The package's exceptions: each carries the exit status the CLI returns (README's table)."""


class DynError(Exception):
    """A failure the user can act on; ``exit_code`` is what ``dyn`` exits with."""

    exit_code = 1


class UsageError(DynError, ValueError):
    """The request is wrong: a bad option or value, an unknown flow, a missing file, shapes that disagree."""

    exit_code = 2


class RunError(DynError, RuntimeError):
    """The run could not complete: corrupt file content, unwritable output, no CUDA, out of memory."""

    exit_code = 1


class Interrupted(DynError):
    """The user stopped the command (SIGINT, SIGTERM, SIGHUP); the message says what was kept."""

    exit_code = 130
