"""Where a command's output goes: results on stdout, everything else (logs, progress, warnings) on stderr.

`reserved_stdout` points stdout at stderr while a command runs: Python's `sys.stdout` and file descriptor 1,
which child processes (a vLLM engine, Ray's local cluster) and native code inherit. So a library's print, a
model server's banner or a Ray worker's line cannot end up among the results. A command hands its results to
`emit`; they are written to the real stdout when it ends, so `bidirag <cmd> --json` prints one JSON document
there and nothing else. Logs go through `logging` (`setup_logging`), to stderr.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

_results: list[str] = []
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _Stderr(logging.StreamHandler):
    """A handler on whatever `sys.stderr` is when a record is logged (a test's capture, the redirected one)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def setup_logging(quiet: bool = False) -> None:
    """bidirag's loggers to stderr (INFO; WARNING with --quiet); other libraries' at WARNING."""
    handler = _Stderr()
    handler.setFormatter(logging.Formatter(FORMAT, "%Y-%m-%dT%H:%M:%S"))
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_bidirag", False):
            root.removeHandler(h)
    handler._bidirag = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("bidirag").setLevel(logging.WARNING if quiet else logging.INFO)
    logging.captureWarnings(True)


def emit(result: Any, as_json: bool = True, indent: int | None = 1) -> None:
    """A command's result for stdout: a JSON document (`as_json`) or text."""
    _results.append(json.dumps(result, indent=indent, default=str) if as_json else str(result))


def take_results() -> list[str]:
    out = list(_results)
    _results.clear()
    return out


@contextlib.contextmanager
def reserved_stdout() -> Iterator[None]:
    """stdout -> stderr inside the block (Python and fd 1); restored after. Results are written by the caller."""
    sys.stdout.flush()
    saved = None
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:            # no fd 1/2 (a detached process): Python-level redirection only
        saved = None
    real = sys.stdout
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        sys.stdout = real
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)
