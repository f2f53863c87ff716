"""Refuse an output that would overwrite an input.

``-o``, ``--poses-out``, ``--telemetry-out`` and ``--trace-out`` are opened for writing, which
truncates them: if one of them is an input file (the same inode, whatever the path or symlink
that names it), the input would be destroyed before it is read. :func:`check_outputs_spare_inputs`
finds that before anything is opened and raises a usage error.
"""

from __future__ import annotations

import os
from typing import Iterable

from ..errors import UsageError


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file ``path`` names (symlinks followed), or None if there is none."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def check_outputs_spare_inputs(outputs: Iterable[tuple[str, str | None]], inputs: Iterable[str],
                               folder_output: str | None = None) -> None:
    """Raise :class:`UsageError` if an output names an input file.

    ``outputs`` are (option, path) pairs (a ``None`` path is skipped); ``inputs`` the input files
    (and the input itself). ``folder_output`` is an ``-o`` folder that will receive one file per
    input under the input's own name: it must not be a folder holding those inputs.
    """
    files = {ident: path for path in inputs if (ident := _identity(path)) is not None}
    for option, path in outputs:
        if not path:
            continue
        ident = _identity(path)
        if ident is not None and ident in files:
            raise UsageError(f"{option} {path} is the input {files[ident]}: it would be overwritten")
    if folder_output:
        target = _identity(folder_output)
        for path in files.values():
            if target is not None and _identity(os.path.dirname(os.path.abspath(path))) == target:
                raise UsageError(f"-o {folder_output} is the folder of the input {path}: "
                                 "its images would be overwritten")


def check_run_outputs(config: object, text: str, source: object, output: str | None) -> None:
    """:func:`check_outputs_spare_inputs` for one source of a run: its ``-o`` path ``output`` and
    the run's other output options against what the source reads (its files, or the input
    path ``text`` itself)."""
    if getattr(source, "kind", "") in ("camera", "stream"):
        return  # a camera id or a URL names no file
    inputs = [text, *getattr(source, "files", ())]
    outputs = [("-o", output), ("--poses-out", getattr(config, "poses_out", None)),
               ("--telemetry-out", getattr(config, "telemetry_out", None)),
               ("--trace-out", getattr(config, "trace_out", None))]
    folder = output if output and not os.path.splitext(output)[1] else None
    check_outputs_spare_inputs(outputs, inputs, folder)


__all__ = ["check_outputs_spare_inputs", "check_run_outputs"]
