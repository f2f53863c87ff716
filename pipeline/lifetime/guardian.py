"""The run's guardian: a process that removes the run's shared memory and directory if the
controller dies without doing so.

The controller starts it (:meth:`Guardian.start`) before it makes the run directory or the first
segment, and holds the write end of a pipe to it; the guardian only reads. The controller writes
the pid of every stage it starts, and ``done`` once it has removed everything itself. End of file
without ``done`` means the controller is gone however it died (the kernel closes the pipe even on
SIGKILL): the guardian then waits for the stages it was told of to exit (they clean up after a
dead controller too, :func:`pipeline.stage._orphan_cleanup`), at most ``GRACE_S``, and removes
what is left: every segment in /dev/shm named with the run's prefix and the controller's run
directories (``posepipe-<controller pid>-*`` in the run directory's folder).

It costs the controller one ``posix_spawn`` (it does not wait for the guardian to start: the
pipe keeps what it writes meanwhile). Run as a script with ``python -I -S``: standard library
only, no import of the pipeline, so it starts in a few milliseconds. It is in a process group
of its own, so that Ctrl-C or a SIGTERM to the terminal's group never reaches it, and it ignores
SIGINT, SIGTERM and SIGHUP besides (blocked from its first instruction, ignored once it runs):
it goes when the controller goes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

GRACE_S = 5.0  # the stages that outlived the controller get this long to leave (and clean up) first
POLL_S = 0.05
IGNORED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # the terminal's and the group's: the controller's to act on


class Guardian:
    """The controller's handle on its guardian."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc

    @classmethod
    def start(cls, segment_prefix: str, run_dir_base: str, run_dir_prefix: str) -> Guardian:
        """Start the guardian of a run whose segments are named ``segment_prefix…`` in /dev/shm
        and whose directories are ``run_dir_base/run_dir_prefix…``. Raises OSError if the
        process cannot be started."""
        # started with those signals blocked (a mask survives exec), so that none kills it before
        # it has set them to be ignored; this process gets any that came meanwhile when unblocked
        old = signal.pthread_sigmask(signal.SIG_BLOCK, IGNORED)
        try:
            proc = subprocess.Popen([sys.executable, "-I", "-S", os.path.abspath(__file__), segment_prefix,
                                     run_dir_base, run_dir_prefix],
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    cwd="/", close_fds=True, process_group=0)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return cls(proc)

    def _send(self, line: str) -> None:
        stdin = self.proc.stdin
        if stdin is None:
            return
        try:
            os.write(stdin.fileno(), f"{line}\n".encode())
        except OSError:  # the guardian is gone (killed by hand): nothing to tell
            pass

    def watch(self, pid: int) -> None:
        """A stage started: if the controller dies, give it its chance to clean up first."""
        self._send(str(pid))

    def release(self, timeout_s: float = 2.0) -> None:
        """The controller has removed everything itself: the guardian exits without touching
        anything. Waits for it (briefly), so that no process of the run outlives the controller."""
        self._send("done")
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- the guardian process ---------------------------------------------------------------------
def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for init to reap it does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    state = stat[stat.rfind(b")") + 2:][:1]
    return state not in (b"Z", b"X", b"")


def remove_leftovers(segment_prefix: str, base: str, dir_prefix: str) -> None:
    """Unlink the run's segments and remove the controller's run directories (ours only: no
    symlinks, no other user's)."""
    if segment_prefix:
        try:
            names = os.listdir("/dev/shm")
        except OSError:
            names = []
        for name in names:
            if name.startswith(segment_prefix):
                try:
                    os.unlink(os.path.join("/dev/shm", name))
                except OSError:
                    pass
    if dir_prefix.startswith("posepipe-"):
        try:
            names = os.listdir(base)
        except OSError:
            names = []
        for name in names:
            if not name.startswith(dir_prefix):
                continue
            path = os.path.join(base, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if info.st_uid == os.getuid() and not os.path.islink(path) and os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)


def guard(segment_prefix: str, base: str, dir_prefix: str, grace_s: float = GRACE_S) -> int:
    """Read the controller's pipe (standard input) to its end; clean up unless told ``done``."""
    pids: list[int] = []
    pending = b""
    while True:
        try:
            chunk = os.read(0, 4096)
        except InterruptedError:
            continue
        except OSError:
            chunk = b""
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line == b"done":
                return 0
            if line.isdigit():
                pids.append(int(line))
    deadline = time.monotonic() + grace_s
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(POLL_S)
    remove_leftovers(segment_prefix, base, dir_prefix)
    return 0


def main(argv: list[str]) -> int:
    for sig in IGNORED:
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, IGNORED)  # blocked since the start (Guardian.start)
    if len(argv) != 3:
        return 2
    return guard(*argv)


if __name__ == "__main__":
    os._exit(main(sys.argv[1:]))  # nothing to finalise (no output, no buffers): leave at once
