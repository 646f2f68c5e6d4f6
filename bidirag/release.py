"""Releases: what readers see, promoted and rolled back as one unit, and what the next job builds on.

Every job commits to the *work* tables (`corpus`, `experience`, `knowledge_units`; one version + tag per job).
Readers never open those: they open the *production* tables `corpus_production` and
`knowledge_units_production`, which only `promote` and `rollback` write. Each write is a sync of a production
table to a reviewed snapshot of its work table, in one atomic version (a `merge_insert` that inserts the
added rows and deletes the removed ones), then tagged `release-K`; a reader sees the old release or the new
one, never an unreviewed write-back.

A release is the versions of all three work tables (corpus, its critiques, the knowledge units), recorded
as a row of the `releases` table in the store (so history, rollback and the next job's base are the same
from any machine). `rollback` makes a new release with the content of the one before. A job starts from
the production release (or `run.base`): its work tables are reset to it (`restore`, a new version) unless
they already hold it, so a rejected or unreviewed epoch is never built on.
"""

from __future__ import annotations

import getpass
import json
import re

import pyarrow as pa
import pyarrow.compute as pc

from bidirag.store import CORPUS, EXPERIENCE, MANIFESTS, PRODUCTION_SUFFIX, RELEASES, UNITS, Store, StoreError, now

PRODUCTION = "production"
RELEASED = (CORPUS, EXPERIENCE, UNITS)      # the versions of these make a release (and the next job's base)
PUBLISHED = (CORPUS, UNITS)                 # these have a production copy that readers open
_GATE = re.compile(r"^(min|max)_([A-Za-z0-9_.]+)=(-?[0-9.eE+-]+)$")


class ReleaseError(StoreError):
    pass


def production_table(name: str) -> str:
    return name + PRODUCTION_SUFFIX


def releases(store: Store) -> list[dict]:
    if RELEASES not in store._names():
        return []
    tbl = store.table(RELEASES)
    rows = tbl.to_arrow().to_pylist() if tbl.count_rows() else []
    return sorted(rows, key=lambda r: r["release"])


def current(store: Store) -> dict | None:
    """The production release (the newest row of `releases`), or None before the first promotion."""
    rel = releases(store)
    return rel[-1] if rel else None


def resolve(tbl, ref: str | int) -> int:
    """A version number, a tag name, or `head` -> version number, with a clear error."""
    if str(ref) == "head":
        return int(tbl.version)
    versions = {v["version"] for v in tbl.list_versions()}
    if isinstance(ref, int) or str(ref).isdigit():
        v = int(ref)
        if v not in versions:
            raise ReleaseError(f"unknown version {v} of table {tbl.name!r}; `bidirag snapshots` lists them "
                               "(it may have been garbage-collected)")
        return v
    tags = tbl.tags.list()
    if ref not in tags:
        known = ", ".join(sorted(tags)) or "none"
        raise ReleaseError(f"unknown tag {ref!r} of table {tbl.name!r}; known tags: {known}")
    return int(tags[ref]["version"])


def _manifest_for(store: Store, corpus_version: int) -> dict | None:
    """The epoch manifest whose commit made this corpus version (its report figures), if any."""
    rows = [m for m in store.manifests("epoch") if m["corpus_version"] == corpus_version]
    return rows[-1] if rows else None


def versions_for(store: Store, ref: str | int) -> dict[str, int]:
    """The work-table versions a corpus ref stands for: the corpus snapshot; the experience version the same
    job committed (same tag, else its manifest, else the head). Units are not part of a corpus ref."""
    out = {CORPUS: resolve(store.table(CORPUS), ref)}
    exp = store.table(EXPERIENCE)
    m = _manifest_for(store, out[CORPUS])
    if not str(ref).isdigit() and str(ref) != "head" and ref in exp.tags.list():
        out[EXPERIENCE] = int(exp.tags.list()[ref]["version"])
    elif m is not None and m["experience_version"] not in (None, -1):
        out[EXPERIENCE] = int(m["experience_version"])
    else:
        out[EXPERIENCE] = int(exp.version)
    return out


def figures(store: Store, corpus_version: int) -> dict[str, float]:
    """The numeric report figures of the epoch that committed this corpus version (from its manifest)."""
    m = _manifest_for(store, corpus_version)
    if m is None:
        return {}
    return {k: v for k, v in json.loads(m["counts"] or "{}").items() if isinstance(v, int | float)}


def parse_gates(require: list[str] | tuple[str, ...]) -> list[tuple[str, str, float]]:
    gates = []
    for g in require or []:
        m = _GATE.match(g.strip())
        if not m:
            raise ReleaseError(f"--require {g!r}: write min_FIGURE=NUMBER or max_FIGURE=NUMBER, e.g. min_written=10 "
                               "or max_pollution_estimate=0.05 (figures are the epoch report's numbers)")
        gates.append((m.group(1), m.group(2), float(m.group(3))))
    return gates


def check_gates(gates, figs: dict[str, float], what: str) -> dict:
    if not gates:
        return {}
    if not figs:
        raise ReleaseError(f"refusing to promote {what}: --require needs an epoch's report figures and no epoch "
                           "manifest holds this corpus version; promote an epoch tag (e.g. epoch-3)")
    checked = {}
    for kind, name, limit in gates:
        if name not in figs:
            raise ReleaseError(f"refusing to promote {what}: the epoch report has no figure {name!r}; known: "
                               f"{', '.join(sorted(figs))}")
        val = figs[name]
        if (kind == "min" and val < limit) or (kind == "max" and val > limit):
            sign = "<" if kind == "min" else ">"
            raise ReleaseError(f"refusing to promote {what}: {name} is {val:g} {sign} {kind}_{name} {limit:g}; "
                               "review the epoch (`bidirag diff production " + what + "`), or promote without "
                               "this --require")
        checked[f"{kind}_{name}"] = {"limit": limit, "value": val}
    return checked


# ---- syncing a production table --------------------------------------------------------------------------
def _flat(col) -> pa.Array:
    """One Array (pyarrow's is_in crashed here on a ChunkedArray without chunks, i.e. an empty table)."""
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks else pa.array([], type=col.type)
    return col


def _fingerprints(tbl: pa.Table) -> pa.Array:
    """doc_id|created_at: the same key written at another time (another branch of history) is a change."""
    if tbl.num_rows == 0:
        return pa.array([], type=pa.string())
    ts = pc.cast(pc.cast(_flat(tbl.column("created_at")), pa.int64()), pa.string())
    return pc.binary_join_element_wise(_flat(tbl.column("doc_id")), pc.fill_null(ts, ""), "|")


def _in_list(keys: list[str]) -> str:
    return "doc_id IN (" + ",".join("'" + k.replace("'", "''") + "'" for k in keys) + ")"


def sync(store: Store, name: str, version: int, tag: str) -> int:
    """Make `<name>_production` hold exactly `name` at `version`, in one atomic commit; tag it; keep its
    indexes. Returns the production table's version."""
    src = store.dataset(name, version)
    dst_name = production_table(name)
    if dst_name not in store._names():
        data = src.to_table()
        tbl = store.db.create_table(dst_name, data=data, schema=data.schema)
    else:
        tbl = store.table(dst_name)
        s_keys = src.to_table(columns=["doc_id", "created_at"])
        d_keys = store.dataset(dst_name, tbl.version).to_table(columns=["doc_id", "created_at"])
        s_fp, d_fp = _fingerprints(s_keys), _fingerprints(d_keys)
        add_idx = pc.indices_nonzero(pc.invert(pc.is_in(s_fp, value_set=d_fp)))
        gone = _flat(d_keys.column("doc_id")).filter(pc.invert(pc.is_in(d_fp, value_set=s_fp)))
        added = src.take(add_idx.to_numpy(), columns=tbl.schema.names) if len(add_idx) else None
        if added is not None and len(gone):
            gone = gone.filter(pc.invert(pc.is_in(gone, value_set=_flat(added.column("doc_id")))))
        gone = gone.to_pylist()
        if len(gone) > 20_000:       # a filter that long is slow: write the snapshot whole (also atomic)
            tbl = store.db.create_table(dst_name, data=src.to_table(), mode="overwrite")
        elif added is not None or gone:
            src_rows = added if added is not None else pa.Table.from_pylist([], schema=tbl.schema)
            m = tbl.merge_insert("doc_id").when_matched_update_all().when_not_matched_insert_all()
            if gone:
                m = m.when_not_matched_by_source_delete(_in_list(gone))
            m.execute(src_rows.cast(tbl.schema))
    store.ensure_indexes(dst_name)
    tbl = store.table(dst_name)
    store.tag(dst_name, tag, tbl.version)
    return int(tbl.version)


def _same_content(store: Store, name: str, a: int, b: int) -> bool:
    if a == b:
        return True
    da, db = store.dataset(name, a), store.dataset(name, b)
    if da.count_rows() != db.count_rows():
        return False
    ka = _fingerprints(da.to_table(columns=["doc_id", "created_at"]))
    kb = _fingerprints(db.to_table(columns=["doc_id", "created_at"]))
    return bool(pc.all(pc.is_in(ka, value_set=kb)).as_py() if len(ka) else True)


def reset_to(store: Store, target: dict[str, int]) -> dict[str, int]:
    """Bring each work table's head to the given version (a `restore`, i.e. a new version) unless it already
    holds that content. Returns the head versions."""
    heads = {}
    for name, v in target.items():
        tbl = store.table(name)
        if v not in {x["version"] for x in tbl.list_versions()}:
            raise ReleaseError(f"{name} v{v} of the production release no longer exists (the table was dropped or "
                               "cleaned up); promote a new release (e.g. `bidirag promote --units head`) or build on "
                               "the head (--base head)")
        if not _same_content(store, name, v, int(tbl.version)):
            tbl.restore(v)
            tbl = store.table(name)
        heads[name] = int(tbl.version)
    return heads


def base_versions(store: Store, base: str | None) -> dict[str, int] | None:
    """What a job builds on (`run.base`): None = the production release if one exists, else the heads as
    they are; 'head' = the heads as they are; 'production'; or a corpus tag/version (units: the same tag if
    the units table has it, else the production units)."""
    if base == "head":
        return None
    rel = current(store)
    if base is None or base == PRODUCTION:
        if rel is None:
            if base == PRODUCTION:
                raise ReleaseError("run.base is 'production' but nothing has been promoted yet; `bidirag promote "
                                   "REF` first, or build on the head (--base head)")
            return None
        return {t: int(rel[f"{_col(t)}_version"]) for t in RELEASED}
    out = versions_for(store, base)
    units = store.table(UNITS)
    if base in units.tags.list():
        out[UNITS] = int(units.tags.list()[base]["version"])
    elif rel is not None:
        out[UNITS] = int(rel["units_version"])
    return out


def job_base(store: Store, base: str | None, input_desc: str | None) -> str | None:
    """`run.base`, except for a replay shard (`input_desc` "replay:<plan>:<k> ...") after a committed shard of the
    same plan: that continues the plan's chain ('head'). So a replay starts from production (or run.base), and its
    later shards, also after a resume, build on the earlier ones."""
    if not input_desc or not input_desc.startswith("replay:"):
        return base
    plan = ":".join(input_desc.split(":")[:2]) + ":"
    return "head" if any((m["input"] or "").startswith(plan) for m in store.manifests()) else base


def prepare_base(store: Store, base: str | None) -> dict[str, int] | None:
    """Called by the driver under the writer lock, before a job pins its snapshots."""
    target = base_versions(store, base)
    return reset_to(store, target) if target else None


def _col(table: str) -> str:
    return {CORPUS: "corpus", EXPERIENCE: "experience", UNITS: "units"}[table]


def _write(store: Store, action: str, ref: str, target: dict[str, int], rollback_to: int | None, reason: str,
           checked: dict) -> dict:
    rel = current(store)
    k = (rel["release"] + 1) if rel else 1
    tag = f"release-{k}"
    prod = {t: sync(store, t, target[t], tag) for t in PUBLISHED}
    for t in RELEASED:
        store.tag(t, tag, target[t])          # tagged versions survive gc: every release stays restorable
        store.tag(t, PRODUCTION, target[t])
    row = {"doc_id": tag, "release": k, "action": action, "ref": str(ref), "rollback_to": rollback_to,
           "corpus_version": target[CORPUS], "experience_version": target[EXPERIENCE],
           "units_version": target[UNITS], "corpus_production_version": prod[CORPUS],
           "units_production_version": prod[UNITS], "reason": reason, "who": _who(),
           "figures": json.dumps(checked, sort_keys=True), "created_at": now()}
    inserted, _ = store.insert_new(RELEASES, [row])
    if not inserted:
        raise ReleaseError(f"another promote/rollback wrote {tag} at the same time; `bidirag snapshots` shows the "
                           "releases; run this again if it is still wanted")
    entry = {k2: v for k2, v in row.items() if k2 not in ("doc_id", "created_at")}
    entry["when"] = row["created_at"].as_py().strftime("%Y-%m-%dT%H:%M:%SZ")
    entry["from_version"] = rel["corpus_version"] if rel else None
    entry["to_version"] = target[CORPUS]
    entry["table"] = CORPUS
    return entry


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "unknown"


def promote(store: Store, ref: str | int | None = None, units: str | int | None = None, reason: str = "",
            force: bool = False, require: list[str] | tuple[str, ...] = ()) -> dict:
    """Make a release of a corpus snapshot (with its critiques) and/or a knowledge-units snapshot; the parts
    not named stay as in production. Gates (`require`) are checked before anything is written."""
    if ref is None and units is None:
        raise ReleaseError("name what to promote: a corpus snapshot (e.g. epoch-3) and/or --units REF")
    gates = parse_gates(require)
    rel = current(store)
    if ref is None and rel is None:
        raise ReleaseError("nothing is in production yet: promote a corpus snapshot first (e.g. `bidirag promote "
                           "epoch-1`, with --units units-1 to release units with it)")
    target = {t: int(rel[f"{_col(t)}_version"]) for t in RELEASED} if rel else {}
    if ref is not None:
        target.update(versions_for(store, ref))
    if units is not None:
        target[UNITS] = resolve(store.table(UNITS), units)
    target.setdefault(UNITS, int(store.table(UNITS).version))
    what = str(ref if ref is not None else f"units {units}")
    if rel is not None:
        cur = int(rel["corpus_version"])
        if target[CORPUS] < cur and not force:
            raise ReleaseError(f"refusing to promote v{target[CORPUS]}: it is older than production (v{cur}). Use "
                               "`bidirag rollback` to go back, or --force if you mean it.")
        if all(target[t] == int(rel[f"{_col(t)}_version"]) for t in RELEASED):
            raise ReleaseError(f"{what} (corpus v{target[CORPUS]}, units v{target[UNITS]}) is already production")
    checked = check_gates(gates, figures(store, target[CORPUS]), what)
    return _write(store, "promote", what, target, rel["release"] if rel else None, reason, checked)


def rollback(store: Store, reason: str = "", restore_head: bool = True) -> dict:
    """A new release with the content of the one promoted before the current one (corpus, critiques and units
    together); by default the work tables' heads go back to it too."""
    rel = current(store)
    if rel is None:
        raise ReleaseError("nothing to roll back: no snapshot has been promoted yet (`bidirag promote`)")
    if rel["rollback_to"] is None:
        raise ReleaseError(f"no earlier release before release-{rel['release']} (corpus v{rel['corpus_version']}); "
                           "promote one explicitly")
    prev = next(r for r in releases(store) if r["release"] == rel["rollback_to"])
    target = {t: int(prev[f"{_col(t)}_version"]) for t in RELEASED}
    entry = _write(store, "rollback", f"release-{prev['release']}", target, prev["rollback_to"], reason, {})
    if restore_head:
        entry["head_version"] = reset_to(store, target)[CORPUS]
    return entry


def history(store: Store) -> list[dict]:
    out = []
    for r in releases(store):
        e = {k: v for k, v in r.items() if k not in ("doc_id",)}
        e["when"] = r["created_at"].strftime("%Y-%m-%dT%H:%M:%SZ") if r["created_at"] else None
        del e["created_at"]
        out.append(e)
    return out


def manifest_figures(report: dict) -> dict:
    """The report's numbers kept in the manifest (what `promote --require` reads): top-level numbers and
    one level of nested numbers (`rejected_by_check.grounding`), stage timings left out."""
    out = {}
    for k, v in report.items():
        if isinstance(v, bool):
            continue
        if isinstance(v, int | float):
            out[k] = v
        elif isinstance(v, dict) and k != "stage_seconds":
            out.update({f"{k}.{kk}": vv for kk, vv in v.items()
                        if isinstance(vv, int | float) and not isinstance(vv, bool)})
    return out


__all__ = ["MANIFESTS", "PRODUCTION", "ReleaseError", "base_versions", "current", "history", "manifest_figures",
           "prepare_base", "promote", "releases", "rollback", "sync"]
