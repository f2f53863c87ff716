"""``python -m pipeline.cluster.nodejob ARGS``: the pipeline as a node actor runs it.

The same as ``python -m pipeline ARGS``, except that it stops when its standard input closes:
the actor holds the other end, so when the actor goes (its node's raylet killed, the driver
gone) the pipeline drains and exits instead of running on unseen. A second SIGTERM three seconds
later stops it at once, and it exits for good eight seconds after the input closed.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

DRAIN_S = 3.0
GIVE_UP_S = 8.0


def _watch_actor() -> int:
    """Take the pipe from the actor off standard input (which becomes /dev/null): a process
    forked while a thread blocks in ``sys.stdin`` would hang on its lock (multiprocessing closes
    ``sys.stdin`` in every forked child, and OpenVINO's telemetry forks one)."""
    pipe = os.dup(0)  # not inherited by the pipeline's own processes
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return pipe


def _stop_when_orphaned(pipe: int) -> None:
    try:
        while os.read(pipe, 4096):
            pass
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGTERM)  # finish the frames in flight, finalise outputs
    time.sleep(DRAIN_S)
    os.kill(os.getpid(), signal.SIGTERM)  # a second one stops at once
    time.sleep(GIVE_UP_S - DRAIN_S)
    os._exit(137)  # the stages notice their controller is gone and exit; segments are unlinked


def main() -> int:
    pipe = _watch_actor()
    threading.Thread(target=_stop_when_orphaned, args=(pipe,), name="orphan-guard", daemon=True).start()
    from pipeline.cli import main as pipeline_main
    return pipeline_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
