"""Errors a user can act on. Each message is one line that says what to do next.

The CLI prints these without a traceback, as ``error: <message>``, and exits with the error's
``exit_code``; anything else is a bug. Exit codes follow argparse's: 2 when the command line must
change (a :class:`UsageError`: a malformed or out-of-range value, an unknown name, options that
contradict or lack a partner, a path that cannot be what its option needs, such as a folder
given as an output file or a results folder that cannot be written); 1 when the command was
right and running it failed (data or weights missing or corrupt, a failed download, results
that cannot be read, a pair that failed), so that the same command works once that is fixed.
A usage error's message names the option and echoes the value given.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RadiobenchError(Exception):
    """Base class: the message is meant for the user, the CLI prints it verbatim."""

    exit_code = 1


class UsageError(RadiobenchError):
    """A value or combination on the command line that cannot work: change the command (exit code 2)."""

    exit_code = 2


class UnknownNameError(UsageError, KeyError):
    def __init__(self, kind: str, name: str, available: Iterable[str]):
        available = sorted(available)
        hint = f" {did_you_mean(name, available)}".rstrip()
        listing = ", ".join(available) if available else "(none registered)"
        super().__init__(f"Unknown {kind} {name!r}.{hint} Available: {listing}.")
        self.kind, self.name = kind, name

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]

    @classmethod
    def many(cls, errors: list[UnknownNameError]) -> UnknownNameError:
        """Every unknown name of one command in one message, so a user fixes them all in one go."""
        combined = cls(errors[0].kind, errors[0].name, [])
        combined.args = (" ".join(str(e) for e in errors),)
        return combined


class PluginError(RadiobenchError):
    """A plugin failed to import, register, or behave (the message names the distribution)."""


class DatasetNotFoundError(RadiobenchError):
    """The data is not where we looked; the message says where to put it or how to download it."""


class ChecksumError(RadiobenchError):
    """A file's content is not the published one (corrupt, truncated or tampered)."""


class UnsafeDataError(RadiobenchError):
    """A data file tries something a data file must not (code in a pickle, paths leaving an archive)."""


class BackboneOutputError(RadiobenchError):
    """A backbone returned embeddings that break the interface (shape, dtype, NaN)."""


class ResultsError(RadiobenchError):
    """Result files that cannot be read or cannot be merged into one leaderboard."""


MAX_SUGGESTIONS = 6


def did_you_mean(name: str, available: Iterable[str]) -> str:
    """``"Did you mean 'x', 'y'? "`` for the nearest names, nearest first; empty when none is near.

    Spelling distance alone misses what people type: a part of a name (``lite0``, ``dino``) or a
    shortening (``imagenet_effnet`` for ``imagenet_efficientnet_lite0``). Names that contain what
    was typed, or abbreviate to it word by word, come first, then the close misspellings.
    """
    names = sorted(available)
    typed = name.lower()
    spelled = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    ratio = {n: difflib.SequenceMatcher(None, typed, n.lower()).ratio() for n in names}
    shaped = sorted((n for n in names if len(typed) >= 3 and (typed in n.lower() or _abbreviates(typed, n.lower()))),
                    key=lambda n: -ratio[n])
    close = list(dict.fromkeys([*shaped, *spelled]))[:MAX_SUGGESTIONS]
    return f"Did you mean {', '.join(repr(c) for c in close)}? " if close else ""


def _abbreviates(typed: str, name: str) -> bool:
    """Each ``_``/``-`` separated word of ``typed`` shortens a later word of ``name`` (same first letter, then
    its letters in order): ``imagenet_effnet`` -> ``imagenet_efficientnet_lite0``."""
    words = name.replace("-", "_").split("_")
    at = 0
    for part in (p for p in typed.replace("-", "_").split("_") if p):
        while at < len(words) and not _shortens(part, words[at]):
            at += 1
        if at == len(words):
            return False
        at += 1
    return True


def _shortens(part: str, word: str) -> bool:
    if not word or part[0] != word[0]:
        return False
    letters = iter(word)
    return all(c in letters for c in part)  # a subsequence: each letter found after the previous one
