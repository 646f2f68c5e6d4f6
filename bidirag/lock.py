"""One writer per store: an advisory lock file held for the whole epoch / distillation / operator action.

A second job on the same store fails at once with a message naming the holder. (Object-storage URIs
cannot be locked this way; there the unenforced primary key still prevents duplicate rows.)
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".bidirag-writer.lock"
_HELD: dict[str, int] = {}      # resolved store path -> depth, for the locks this process holds


def holds_writer_lock(uri: str) -> bool:
    """True while this process holds the writer lock of the local store at `uri` (so no other bidirag
    writer can commit to it: write-back may append instead of merging)."""
    return "://" not in str(uri) and _HELD.get(str(Path(uri).resolve()), 0) > 0


class StoreBusy(RuntimeError):
    pass


@contextmanager
def writer_lock(uri: str, enabled: bool = True, what: str = "job"):
    if not enabled or "://" in uri:
        yield
        return
    path = Path(uri) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "unknown"
        fh.close()
        raise StoreBusy(f"another bidirag writer holds {path} ({holder}); wait for it to finish, or use another "
                        "store.uri. Two writers on one store are refused so that epochs never interleave.") from None
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "what": what, "since": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                     time.gmtime())}))
        fh.flush()
        key = str(Path(uri).resolve())
        _HELD[key] = _HELD.get(key, 0) + 1
        try:
            yield
        finally:
            _HELD[key] -= 1
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()
