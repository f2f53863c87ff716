"""Process limits the run depends on, checked before anything starts.

Every stage process holds a ZeroMQ context (an epoll descriptor, a signaller pipe and its
sockets), OpenVINO or FFmpeg handles and the rings' mappings; libzmq aborts the whole process
(SIGABRT, no message) when it cannot get a descriptor. So the launcher makes sure each process
may open enough files: it raises its soft limit up to the hard limit if needed (children inherit
it), and otherwise stops with one line.
"""

from __future__ import annotations

import resource

from ..errors import ResourceError

# Measured: a run with the default stages needs between 32 and 64 descriptors in its busiest
# process; 64 is enough, and the soft limit is raised to this much when the hard limit allows.
MIN_OPEN_FILES = 64
WANT_OPEN_FILES = 1024


def ensure_open_files(minimum: int = MIN_OPEN_FILES, want: int = WANT_OPEN_FILES) -> int:
    """Raise the soft limit on open files towards ``want`` (never past the hard limit); return
    it. :class:`ResourceError` if even ``minimum`` is not allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    infinite = resource.RLIM_INFINITY
    target = want if hard == infinite else min(want, hard)
    if soft != infinite and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft != infinite and soft < minimum:
        raise ResourceError(f"too few open files allowed ({soft}, ulimit -n): the pipeline needs at least {minimum}")
    return soft


__all__ = ["MIN_OPEN_FILES", "ensure_open_files"]
