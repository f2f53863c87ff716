"""A stage whose controller dies before handing it its work exits quietly.

multiprocessing's ``spawn`` start method starts each stage as ``python -c "from
multiprocessing.spawn import spawn_main; spawn_main(…)"`` and the new process then reads the
stage's pickled work from a pipe the controller writes right after. A controller killed in
between (SIGKILL, the OOM killer, at the moment it starts a stage) leaves that pipe empty, and
Python prints an ``EOFError`` traceback on the user's terminal from an orphan that has nothing to
do. :func:`install` makes this process start its children with the same command but for that one
case, which ends with exit status 1 and no output. (An ``EOFError`` of the stage's own code is
not affected: multiprocessing reports those itself, inside ``spawn_main``.)
"""

from __future__ import annotations

import os
import sys
from multiprocessing import spawn, util
from typing import Any

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # holds the pipeline package


def command_line(**kwds: Any) -> list[str]:
    """What :func:`multiprocessing.spawn.get_command_line` gives, with :func:`main` as the entry."""
    args = ", ".join(f"{key}={value!r}" for key, value in kwds.items())
    prog = f"import sys; sys.path.insert(0, {_ROOT!r}); from pipeline.lifetime.spawning import main; main({args})"
    return [spawn.get_executable(), *util._args_from_interpreter_flags(), "-c", prog, "--multiprocessing-fork"]


def main(**kwds: Any) -> None:
    try:
        spawn.spawn_main(**kwds)
    except EOFError:  # the controller died before it sent this process its work
        sys.exit(1)


def install() -> None:
    """Start this process's spawned children through :func:`main`."""
    if not getattr(sys, "frozen", False):
        spawn.get_command_line = command_line
