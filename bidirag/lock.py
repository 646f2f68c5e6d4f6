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
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()
