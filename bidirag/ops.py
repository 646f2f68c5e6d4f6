"""Operator actions on a store: diff snapshots, promote, rollback, garbage-collect.

diff is by key: only the `doc_id` column of each version is read, compared with Arrow compute (no Python
sets of the whole table), and just the added/removed rows are fetched by position, without vectors.
(Lance deltas were not used: they silently return nothing across a `restore`.)
"""

from __future__ import annotations

import getpass
import json
import time
from pathlib import Path

import pyarrow.compute as pc

from bidirag.store import CORPUS, Store

PRODUCTION = "production"
PROVENANCE = ("doc_id", "text", "origin", "epoch", "query_id", "query", "source", "source_doc_ids",
              "grounding", "attribution", "novelty", "model_ids", "config_hash", "created_at")
HISTORY = "promotions.jsonl"


class OpsError(RuntimeError):
    pass


def resolve(tbl, ref: str | int) -> int:
    """A version number or a tag name -> version number, with a clear error."""
    versions = {v["version"] for v in tbl.list_versions()}
    if isinstance(ref, int) or str(ref).isdigit():
        v = int(ref)
        if v not in versions:
            raise OpsError(f"unknown version {v} of table {tbl.name!r}; `bidirag snapshots` lists them "
                           "(it may have been garbage-collected)")
        return v
    tags = tbl.tags.list()
    if ref not in tags:
        raise OpsError(f"unknown tag {ref!r}; known tags: {', '.join(sorted(tags)) or 'none'}")
    return int(tags[ref]["version"])


def _dataset(tbl, version: int):
    import lance

    return lance.dataset(tbl.uri, version=version)


def diff(store: Store, ref_from: str | int, ref_to: str | int, table: str = CORPUS, limit: int | None = None) -> dict:
    tbl = store.table(table)
    a, b = resolve(tbl, ref_from), resolve(tbl, ref_to)
    da, db = _dataset(tbl, a), _dataset(tbl, b)
    # one Array each: pyarrow's indices_nonzero crashes (SIGSEGV) on a chunked array of no chunks (an empty version)
    keys_a = da.to_table(columns=["doc_id"]).column("doc_id").combine_chunks()
    keys_b = db.to_table(columns=["doc_id"]).column("doc_id").combine_chunks()
    cols = [c for c in PROVENANCE if c in db.schema.names]

    def rows(ds, keys, other):
        idx = pc.indices_nonzero(pc.invert(pc.is_in(keys, value_set=other)))
        if limit is not None:
            idx = idx[:limit]
        count = len(pc.indices_nonzero(pc.invert(pc.is_in(keys, value_set=other)))) if limit else len(idx)
        if len(idx) == 0:
            return [], count
        return ds.take(idx.to_numpy(), columns=cols).to_pylist(), count

    added, n_added = rows(db, keys_b, keys_a)
    removed, n_removed = rows(da, keys_a, keys_b)
    for r in added + removed:
        if r.get("created_at") is not None:
            r["created_at"] = r["created_at"].isoformat()
    return {"table": table, "from": {"ref": str(ref_from), "version": a, "rows": len(keys_a)},
            "to": {"ref": str(ref_to), "version": b, "rows": len(keys_b)},
            "added_count": n_added, "removed_count": n_removed, "added": added, "removed": removed}


def format_diff(d: dict, width: int = 100) -> str:
    out = [f"{d['table']}: {d['from']['ref']} (v{d['from']['version']}, {d['from']['rows']} rows) -> "
           f"{d['to']['ref']} (v{d['to']['version']}, {d['to']['rows']} rows): "
           f"+{d['added_count']} -{d['removed_count']}"]
    for sign, rows in (("+", d["added"]), ("-", d["removed"])):
        for r in rows:
            prov = f"origin={r.get('origin')} epoch={r.get('epoch')}"
            if r.get("query_id"):
                prov += (f" query={r['query_id']} ({(r.get('query') or '')[:60]!r}) sources="
                         f"{len(r.get('source_doc_ids') or [])} grounding={r.get('grounding')} "
                         f"attribution={r.get('attribution')} novelty={r.get('novelty')}")
            elif r.get("source"):
                prov += f" source={r['source']}"
            out.append(f"{sign} {r['doc_id'][:12]} {r['text'][:width]!r}\n    {prov}")
    return "\n".join(out)


def _history_path(store: Store) -> Path:
    return Path(store.uri) / HISTORY


def history(store: Store) -> list[dict]:
    p = _history_path(store)
    return [json.loads(x) for x in p.read_text().splitlines()] if p.exists() else []


def _record(store: Store, action: str, frm: int | None, to: int, reason: str, table: str) -> dict:
    entry = {"action": action, "table": table, "from_version": frm, "to_version": to, "reason": reason,
             "who": getpass.getuser(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with _history_path(store).open("a") as f:
        f.write(json.dumps(entry) + "\n")
    return entry


def promote(store: Store, ref: str | int, reason: str = "", force: bool = False, table: str = CORPUS) -> dict:
    tbl = store.table(table)
    v = resolve(tbl, ref)
    tags = tbl.tags.list()
    cur = tags[PRODUCTION]["version"] if PRODUCTION in tags else None
    if cur is not None and v < cur and not force:
        raise OpsError(f"refusing to promote v{v}: it is older than production (v{cur}). Use "
                       "`bidirag rollback` to go back, or --force if you mean it.")
    if cur == v:
        raise OpsError(f"v{v} is already production")
    store.tag(table, PRODUCTION, v)
    return _record(store, "promote", cur, v, reason, table)


def rollback(store: Store, reason: str = "", table: str = CORPUS, restore_head: bool = True) -> dict:
    """Move `production` back to the snapshot promoted before the current one; by default also restore the
    table head to it (a new version with that content), so the next epoch builds on it."""
    tbl = store.table(table)
    tags = tbl.tags.list()
    if PRODUCTION not in tags:
        raise OpsError("nothing to roll back: no snapshot has been promoted yet (`bidirag promote`)")
    cur = tags[PRODUCTION]["version"]
    prev = None
    for e in reversed(history(store)):
        if e["table"] == table and e["to_version"] == cur and e["from_version"] is not None:
            prev = e["from_version"]
            break
    if prev is None:
        raise OpsError(f"no earlier production snapshot recorded before v{cur}; promote one explicitly")
    resolve(tbl, prev)
    store.tag(table, PRODUCTION, prev)
    entry = _record(store, "rollback", cur, prev, reason, table)
    if restore_head:
        tbl.restore(prev)
        entry["head_version"] = tbl.version
    return entry


def gc(store: Store, keep: int, table: str = CORPUS) -> dict:
    """Compact, then delete all but the `keep` newest versions. Tagged versions are never removed."""
    import lance

    if keep < 1:
        raise OpsError("--keep must be at least 1")
    tbl = store.table(table)
    before = len(tbl.list_versions())
    ds = lance.dataset(tbl.uri)
    ds.optimize.compact_files()
    stats = lance.dataset(tbl.uri).cleanup_old_versions(retain_versions=keep, error_if_tagged_old_versions=False)
    tbl = store.table(table)
    return {"table": table, "versions_before": before, "versions_after": len(tbl.list_versions()),
            "bytes_removed": int(getattr(stats, "bytes_removed", 0)),
            "tags": {k: v["version"] for k, v in tbl.tags.list().items()}}



