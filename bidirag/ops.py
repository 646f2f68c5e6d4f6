"""Operator actions on a store: diff snapshots, promote, rollback (bidirag/release.py), garbage-collect.

diff is by key: only the `doc_id` column of each version is read, compared with Arrow compute (no Python
sets of the whole table), and just the added/removed rows are fetched by position, without vectors.
(Lance deltas were not used: they silently return nothing across a `restore`.)
"""

from __future__ import annotations

import pyarrow.compute as pc

from bidirag import release
from bidirag.store import CORPUS, Store

PRODUCTION = release.PRODUCTION
PROVENANCE = ("doc_id", "text", "origin", "epoch", "query_id", "query", "source", "source_doc_ids",
              "grounding", "attribution", "novelty", "model_ids", "config_hash", "created_at")


class OpsError(RuntimeError):
    pass


def resolve(tbl, ref: str | int) -> int:
    """A version number, a tag name or `head` -> version number (`release.resolve`), errors as OpsError."""
    try:
        return release.resolve(tbl, ref)
    except release.ReleaseError as e:
        raise OpsError(str(e)) from None


def _dataset(tbl, version: int):
    """The Lance dataset of a table at a version, opened with the table's own storage options (object stores)."""
    return tbl.to_lance().checkout_version(version)


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


def history(store: Store) -> list[dict]:
    """Every promotion and rollback, oldest first (the store's `releases` table)."""
    return release.history(store)


def promote(store: Store, ref: str | int | None, reason: str = "", force: bool = False, units: str | None = None,
            require: list[str] | tuple[str, ...] = ()) -> dict:
    """Promote a corpus snapshot (with its critiques) and/or knowledge units as one release (bidirag/release.py)."""
    try:
        return release.promote(store, ref, units=units, reason=reason, force=force, require=require)
    except release.ReleaseError as e:
        raise OpsError(str(e)) from None


def rollback(store: Store, reason: str = "", restore_head: bool = True) -> dict:
    """Back to the release promoted before the current one (corpus, critiques and units together)."""
    try:
        return release.rollback(store, reason=reason, restore_head=restore_head)
    except release.ReleaseError as e:
        raise OpsError(str(e)) from None


def gc(store: Store, keep: int, table: str = CORPUS) -> dict:
    """Compact, then delete all but the `keep` newest versions. Tagged versions are never removed."""
    if keep < 1:
        raise OpsError("--keep must be at least 1")
    tbl = store.table(table)
    before = len(tbl.list_versions())
    ds = store.dataset(table)
    ds.optimize.compact_files()
    stats = store.dataset(table).cleanup_old_versions(retain_versions=keep, error_if_tagged_old_versions=False)
    tbl = store.table(table)
    return {"table": table, "versions_before": before, "versions_after": len(tbl.list_versions()),
            "bytes_removed": int(getattr(stats, "bytes_removed", 0)),
            "tags": {k: v["version"] for k, v in tbl.tags.list().items()}}



