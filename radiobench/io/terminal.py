"""Text from files and plugins, made safe to print on a terminal.

A result's backbone name, a device name recorded by another machine, a plugin's
description or a path inside a shared folder can hold escape sequences: OSC 52 writes the
user's clipboard, others clear the screen or retitle the window, bidi overrides reorder
what is read. Every such string passes through :func:`printable` before it is printed;
control characters become visible ``\\x1b``-style escapes, so nothing is silently lost.
:func:`markup_safe` also escapes Rich markup, so ``[red]`` in a description is text.
:func:`console` is the Rich console every command prints through.
"""

from __future__ import annotations

import re
import sys
from typing import Any

# C0 and C1 control characters, DEL, and the Unicode bidi embedding/override/isolate controls
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_KEEP_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as an escape (newlines kept when asked)."""
    pattern = _CONTROL_KEEP_LINES if keep_newlines else _CONTROL
    return pattern.sub(_visible, str(text))


def markup_safe(text: object) -> str:
    """:func:`printable`, then escaped for Rich markup: for any file- or plugin-derived string in a Rich table."""
    from rich.markup import escape

    return escape(printable(text))


def console(stderr: bool = False) -> Any:
    """A Rich console for radiobench's output; piped or logged, tables are not squeezed into 80 columns."""
    from rich.console import Console

    out = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not out.is_terminal:
        out.width = max(out.width, 160)
    return out


def print_traceback(exc: BaseException) -> None:
    """The full traceback on standard error (``--verbose``)."""
    import traceback

    sys.stderr.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
