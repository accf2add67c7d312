"""Lifetime of spawned training workers (``models.train.dit --workers N``)."""

import os
import sys


def stop_with_parent():
    """A spawned worker gets SIGTERM when the process that spawned it dies (Linux), so stopping
    the command (Ctrl-C, kill) never leaves workers training on their own."""
    import ctypes
    import signal

    parent = os.getppid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except OSError:
        return
    if os.getppid() != parent:  # the parent died before the signal was armed
        sys.exit(1)
