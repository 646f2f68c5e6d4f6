"""Streaming query-log reader (JSONL, gzipped JSONL or Parquet) with a dead-letter file.

A record is {query_id, text, timestamp}. Lines that are not valid UTF-8, not JSON objects, lack a
non-empty string `text`, or exceed the size limits are written to the dead-letter file with their line
number and reason; reading goes on. A missing `query_id` is derived from the text (content-addressed).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import IO, Any

from bidirag.text import content_id
from bidirag.uri import LocationError, RemotePath, location


class QueryLogError(RuntimeError):
    pass


class DeadLetter:
    def __init__(self, path: Path | RemotePath | None) -> None:
        self.path = path
        self.count = 0
        self._fh: IO[str] | None = None

    def add(self, source: str, line: int, reason: str, raw: Any = "", record: dict | None = None) -> None:
        """One dead letter. `record` (a readable record that could not be processed: a failed model call, a
        timestamp outside any window) is kept whole, so the dead-letter file is itself a query log that
        `read_log` replays; `raw` (an unreadable line) is kept as its first 500 characters, for reading."""
        self.count += 1
        if self.path is None:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        if isinstance(raw, bytes):
            raw = raw[:500].decode("utf-8", errors="backslashreplace")
        entry = {"source": source, "line": line, "reason": reason}
        entry.update({"record": record} if record is not None else {"raw": str(raw)[:500]})
        self._fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh:
            self._fh.close()
            self._fh = None


def _is_dead_letter(obj: dict) -> bool:
    return "reason" in obj and "source" in obj and not any(k in obj for k in ("text", "query", "question"))


def _check(obj: Any, max_chars: int) -> tuple[dict | None, str | None]:
    if not isinstance(obj, dict):
        return None, f"not a JSON object ({type(obj).__name__})"
    if _is_dead_letter(obj):       # a line of a dead-letter file: its record is replayed, an unreadable line is not
        if not isinstance(obj.get("record"), dict):
            return None, (f"dead letter of an unreadable line ({obj['source']}:{obj.get('line')}: {obj['reason']}); "
                          "only failed records can be replayed, fix the line in the original log")
        obj = obj["record"]
    text = obj.get("text", obj.get("query", obj.get("question")))
    if text is None:
        return None, "missing field 'text'"
    if not isinstance(text, str):
        return None, f"field 'text' must be a string, got {type(text).__name__}"
    text = text.strip()
    if not text:
        return None, "empty query"
    if len(text) > max_chars:
        return None, f"query longer than {max_chars} characters ({len(text)})"
    if "\x00" in text:
        return None, "query contains NUL bytes"
    qid = obj.get("query_id", obj.get("id"))
    if qid is not None and not isinstance(qid, str | int):
        return None, f"field 'query_id' must be a string, got {type(qid).__name__}"
    ts = obj.get("timestamp")
    if ts is not None and not isinstance(ts, str | int | float):
        return None, f"field 'timestamp' must be a string or number, got {type(ts).__name__}"
    rec = {"query_id": str(qid) if qid is not None else "q-" + content_id(text)[:16], "text": text,
           "timestamp": ts}
    if "answers" in obj:   # labeled examples (WriteBack-RAG); never passed to a generator prompt
        ans = obj["answers"]
        ans = [ans] if isinstance(ans, str) else ans
        if not isinstance(ans, list) or not ans or not all(isinstance(a, str) and a.strip() for a in ans):
            return None, "field 'answers' must be a non-empty string or list of non-empty strings"
        rec["answers"] = [a.strip() for a in ans]
    return rec, None


# what a whole file that is not text looks like from its first bytes: refused with a message, instead of
# every "line" of it going to the dead-letter file and the epoch running on nothing
_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd", b"BZh": "bzip2", b"\xfd7zXZ": "xz",
          b"PK\x03\x04": "zip", b"PAR1": "Parquet", b"\x89PNG": "PNG", b"%PDF": "PDF", b"\x7fELF": "ELF"}
_GZ_SUFFIXES = (".jsonl.gz", ".json.gz", ".ndjson.gz")


def _binary_kind(path: Path) -> str | None:
    with path.open("rb") as fh:
        head = fh.read(8)
    return next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), None)


def _jsonl(path: Path, dead: DeadLetter, max_chars: int, max_line: int, lines: bool) -> Iterator[dict]:
    gz = path.name.endswith(_GZ_SUFFIXES)
    with path.open("rb") as raw, (gzip.open(raw, "rb") if gz else nullcontext(raw)) as fh:
        lineno = 0
        while True:
            try:
                raw = fh.readline(max_line + 1)
            except (OSError, EOFError) as e:   # a truncated or corrupt gzip stream: nothing after it is readable
                dead.add(str(path), lineno + 1, f"unreadable gzip stream from here on ({type(e).__name__}: {e})", b"")
                break
            if not raw:
                break
            lineno += 1
            if len(raw) > max_line and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # skip the rest without holding it
                    raw = fh.readline(1 << 20)
                dead.add(str(path), lineno, f"line longer than {max_line} bytes", b"")
                continue
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                dead.add(str(path), lineno, f"invalid UTF-8 at byte {e.start}", raw)
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                dead.add(str(path), lineno, f"malformed JSON: {e.msg}", line)
                continue
            rec, why = _check(obj, max_chars)
            if why:
                dead.add(str(path), lineno, why, line)
                continue
            if lines:
                rec["_line"] = lineno
            yield rec


def _parquet(path: Path, dead: DeadLetter, max_chars: int, lines: bool) -> Iterator[dict]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path.open("rb") if isinstance(path, RemotePath) else path)
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for unreadable files
        raise QueryLogError(f"{path}: not a readable Parquet file ({e})") from e
    row = 0
    for batch in pf.iter_batches(batch_size=4096):
        for obj in batch.to_pylist():
            row += 1
            rec, why = _check(obj, max_chars)
            if why:
                dead.add(str(path), row, why, json.dumps(obj, default=str))
                continue
            if lines:
                rec["_line"] = row
            yield rec


def is_log_file(path: Path | RemotePath) -> bool:
    """A name `read_log` reads: .jsonl/.ndjson/.json (optionally .gz) or .parquet."""
    return path.suffix in {".jsonl", ".ndjson", ".json", ".parquet"} or path.name.endswith(_GZ_SUFFIXES)


def check_log(path: str | Path | RemotePath) -> Path | RemotePath:
    """The log's path, if `read_log` can read it; else QueryLogError naming the problem and the fix (missing, a
    folder, an unknown or a binary format). Cheap: callers run it before loading any model. An object-store
    URI (s3://...) is read through `bidirag.uri`."""
    try:
        p = location(path)
        missing = not p.exists()
    except LocationError as e:
        raise QueryLogError(f"query log {e}") from None
    if missing:
        raise QueryLogError(f"query log not found: {p}. Pass a JSONL or Parquet file with --queries.")
    if p.is_dir():
        raise QueryLogError(f"{p} is a directory; pass one JSONL or Parquet file.")
    if not (is_log_file(p) or p.suffix == ""):
        raise QueryLogError(f"{p}: unknown log format {p.suffix!r}; use .jsonl, .jsonl.gz or .parquet")
    kind = None if p.suffix == ".parquet" or p.name.endswith(_GZ_SUFFIXES) else _binary_kind(p)
    if kind:
        fix = {"gzip": f"name it {p.stem}.jsonl.gz (read as gzip) or decompress it",
               "Parquet": f"name it {p.stem}.parquet"}.get(kind, "pass a JSONL or Parquet query log")
        raise QueryLogError(f"{p}: this is a {kind} file, not JSON lines; {fix}.")
    return p


def read_log(path: str | Path, dead: DeadLetter, max_chars: int = 2000,
             max_line_bytes: int = 1_000_000, lines: bool = False) -> Iterator[dict]:
    """Stream valid records of one log file; bad records go to `dead`. A file that cannot be a query log
    raises QueryLogError here (`check_log`), before any record is read. `lines`: each record carries its line
    (row) number as `_line`. A dead-letter file is a log too: its failed records are read back."""
    p = check_log(path)
    if p.suffix == ".parquet":
        return _parquet(p, dead, max_chars, lines)
    return _jsonl(p, dead, max_chars, max_line_bytes, lines)


def batched(it: Iterator[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for rec in it:
        batch.append(rec)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
