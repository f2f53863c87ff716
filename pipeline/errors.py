"""Exceptions that reach the user as one line, with the exit code they deserve."""

from __future__ import annotations

import unicodedata

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class PipelineError(Exception):
    """An error the user can act on; printed as a single line, never as a traceback."""

    exit_code = EXIT_FAILURE


class UsageError(PipelineError):
    """Bad command line: exit code 2, as argparse uses."""

    exit_code = EXIT_USAGE


class InputError(PipelineError):
    """The input cannot be opened or is not of a readable kind."""


class ModelError(PipelineError):
    """The model file is missing, unreadable, or does not fit the chosen architecture."""


class ResourceError(PipelineError):
    """The machine lacks something the run needs (for example shared memory for the rings)."""


class Interrupted(PipelineError):
    """Ctrl-C, SIGTERM or SIGHUP while the run was still being planned: nothing to drain."""

    exit_code = 130


def printable(text: str) -> str:
    """``text`` with every control character (C0 and C1, DEL, line breaks) escaped as ``\\xNN``
    or ``\\uNNNN``: a name from a file or a command line (an ESC or BEL in a ``.streams`` entry,
    a new line in a file name) can neither drive the terminal nor break a one-line message."""
    if text.isprintable():
        return text
    return "".join(c if c == "\t" or unicodedata.category(c) != "Cc" else
                   (f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}") for c in text)
