"""The lock of a study store: one ``dyn study run`` (or marking ``dyn study status``) writes it at a time.

The lock is the file ``status/dyn.lock`` inside the store (in the status array's folder: zarr lists
the root's entries when it opens a store, never an array's, so the file is invisible to zarr and
xarray). It holds the holder's pid, host and start time, and the holder keeps an exclusive
``flock`` on it: the kernel drops that lock when the process ends, however it ends (kill -9
included), so a lock file left by a dead process is taken over by the next run. On filesystems
without ``flock`` the pid and host decide: a lock of a dead process on this host is taken over.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from dyn.errors import RunError

NAME = "status/dyn.lock"


class Busy(RunError):
    """Another process holds the store's lock."""


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder(store):
    """The holder's record (dict: pid, host, since, command) read from the lock file, or None."""
    try:
        text = (Path(store) / NAME).read_text()
        info = json.loads(text)
        return info if isinstance(info, dict) else None
    except (OSError, ValueError):
        return None


def describe(info):
    if not info:
        return "another process"
    since = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.get("since", 0)))
    return f"pid {info.get('pid')} on {info.get('host')}, since {since}"


class StoreLock:
    """An exclusive lock on ``store`` (``acquire`` raises :class:`Busy`); follows the store when it is renamed."""

    def __init__(self, store):
        self.store = Path(store)
        self.fd = None

    @property
    def path(self):
        return self.store / NAME

    def acquire(self):
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise Busy(f"{self.store} is in use by another dyn study run ({describe(holder(self.store))}): "
                           f"wait for it to end or stop it") from None
            except OSError as err:
                if err.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                    os.close(fd)
                    raise
                self._by_pid(fd)  # no flock here: the recorded pid decides
            try:  # a previous holder may have removed the file between our open and our lock: lock the new one
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(),
                "command": " ".join(["dyn"] + sys.argv[1:])}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self.fd = fd
        return self

    def _by_pid(self, fd):
        info = holder(self.store)
        if not info or info.get("pid") == os.getpid():
            return
        if info.get("host") != socket.gethostname() or _alive(int(info.get("pid", 0))):
            os.close(fd)
            raise Busy(f"{self.store} is in use by another dyn study run ({describe(info)}); if that process is "
                       f"gone, delete {self.path}")

    def moved(self, store):
        """The store was renamed to ``store`` (the lock's file and flock went with it)."""
        self.store = Path(store)

    def release(self):
        if self.fd is None:
            return
        try:
            if os.fstat(self.fd).st_ino == os.stat(self.path).st_ino:
                os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
