"""Refuse an output that would overwrite an input.

``-o``, ``--poses-out``, ``--telemetry-out`` and ``--trace-out`` are opened for writing, which
truncates them: if one of them is an input file (the same inode, whatever the path, symlink or
hard link that names it), the input would be destroyed before it is read. With several sources
every output of the run is checked against every input of the run (another source's ``-o``
included, and the ``.streams`` list): :func:`check_run_outputs` before anything is opened, and
again for a source added at run time. A usage error either way.
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


def run_inputs(sources: Iterable[tuple[str, object]], lists: Iterable[str] = ()) -> list[str]:
    """Every file the run reads: each file source (its path and, for images, its files) and the
    ``.streams`` lists that named sources. Cameras and URLs name no file."""
    found = list(lists)
    for text, info in sources:
        if getattr(info, "kind", "") in ("camera", "stream"):
            continue
        found += [text, *getattr(info, "files", ())]
    return found


def run_outputs(config: object, per_source: Iterable[str | None]) -> list[tuple[str, str | None]]:
    """Every file the run writes, as (option, path): each source's ``-o`` (``{source}`` filled in,
    or its file in an ``-o`` folder), ``--poses-out``, ``--telemetry-out`` and ``--trace-out``."""
    outputs: list[tuple[str, str | None]] = [("-o", path) for path in per_source]
    outputs += [("--poses-out", getattr(config, "poses_out", None)),
                ("--telemetry-out", getattr(config, "telemetry_out", None)),
                ("--trace-out", getattr(config, "trace_out", None))]
    return outputs


def check_run_outputs(config: object, sources: Iterable[tuple[str, object, str | None]],
                      lists: Iterable[str] = ()) -> None:
    """No output of the run may be any input of the run: every source's ``-o`` path and the other
    output options against every source's files and the ``.streams`` lists (``sources`` are
    (input text, probe info, ``-o`` path) triples). An ``-o`` folder (no extension) must not be
    the folder of any input file, since files are written there under their own names."""
    sources = list(sources)
    inputs = run_inputs([(text, info) for text, info, _ in sources], lists)
    outputs = run_outputs(config, [out for _, _, out in sources])
    check_outputs_spare_inputs(outputs, inputs)
    for _, _, out in sources:
        if out and not os.path.splitext(out)[1]:
            check_outputs_spare_inputs([], inputs, out)


__all__ = ["check_outputs_spare_inputs", "check_run_outputs", "run_inputs", "run_outputs"]
