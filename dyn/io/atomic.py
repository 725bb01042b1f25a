"""Atomic file replacement: write to a temporary file beside the target, rename on success.

A temporary is named ``.NAME.HOST-PID.RANDOM.tmp.SUFFIX`` (hidden, beside its target). It is removed
on every exit path of the process that made it (an exception, Ctrl-C, and SIGTERM/SIGHUP, which
the ``dyn`` command turns into an interrupt); a process killed outright (SIGKILL, a power cut)
leaves it behind, and the next atomic write into the same folder removes it: a temporary whose
process is gone (no such pid on this host, or a pid started after the file was last written,
i.e. reused) is stale.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import socket
import tempfile
from pathlib import Path

from dyn.errors import RunError

_TEMPORARY = re.compile(r"^\..+\.(?P<host>[A-Za-z0-9-]+)-(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp(\.[A-Za-z0-9]+)?$")


def _host():
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"


def _started_after(pid, when):
    """True when process ``pid`` started after time ``when`` (so it is not the one that wrote then)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            ticks = int(fh.read().rsplit(")", 1)[1].split()[19])  # field 22: start time, clock ticks after boot
        with open("/proc/stat") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith("btime"))
    except (OSError, ValueError, IndexError, StopIteration):
        return False  # no /proc: assume the process is the writer (never remove a live writer's file)
    return boot + ticks / os.sysconf("SC_CLK_TCK") > when + 1.0


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def stale_temporaries(folder):
    """The temporaries in ``folder`` left by dead processes of this host (see the module docstring)."""
    host, out = _host(), []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return out
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if not match or match["host"] != host or not entry.is_file(follow_symlinks=False):
            continue
        pid = int(match["pid"])
        if pid == os.getpid():
            continue
        try:
            written = entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if not _alive(pid) or _started_after(pid, written):
            out.append(Path(entry.path))
    return out


def remove_stale_temporaries(folder):
    """Remove the stale temporaries of ``folder``; return their paths."""
    removed = []
    for path in stale_temporaries(folder):
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


def _reason(err, path):
    if getattr(err, "errno", None) in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"{err.strerror or err} (the old {path.name}, if any, is unchanged)"
    return err.strerror or str(err)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path in the target's folder; on success it replaces ``path``, else it is removed.

    The target is untouched unless the whole write succeeded. Stale temporaries of dead processes in
    the same folder are removed first.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise RunError(f"cannot write {path}: folder {folder} does not exist")
    remove_stale_temporaries(folder)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_host()}-{os.getpid()}.", suffix=".tmp" + path.suffix,
                                   dir=folder)
    except OSError as err:
        raise RunError(f"cannot write {path}: {_reason(err, path)}") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except OSError as err:
        raise RunError(f"cannot write {path}: {_reason(err, path)}") from None
    finally:
        with contextlib.suppress(OSError):
            if os.path.lexists(tmp):
                os.unlink(tmp)


def write_bytes(path, data, block=1 << 24):
    """Write ``data`` (bytes-like) to ``path`` and flush it to the disk (fsync), so that a rename after it
    never exposes a file whose blocks are not yet written."""
    view = memoryview(data).cast("B")
    with open(path, "wb") as fh:
        for start in range(0, len(view), block):
            fh.write(view[start:start + block])
        fh.flush()
        os.fsync(fh.fileno())
