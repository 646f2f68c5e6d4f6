"""Failure injection for the crash-safety tests: `BIDIRAG_FAULT=<point>[:<n>]` kills the process with
SIGKILL (no clean-up, like kill -9) the n-th time (default first) the named point is reached.

Points: generate, validate (inside those stages), before_commit, after_commit (after the corpus version
is written, before its tag, critiques and manifest). Unset in normal runs: a dictionary lookup per call.
"""

from __future__ import annotations

import os
import signal

ENV = "BIDIRAG_FAULT"
_hits: dict[str, int] = {}


def point(name: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    target, _, nth = spec.partition(":")
    if target != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
