"""LanceDB store: corpus, experience and manifest tables, versioned per epoch.

Rules: content-addressed `doc_id` (non-null, unenforced primary key), stable row ids (so Lance deltas
work), one `merge_insert` (insert-if-absent) per table per epoch, tag `epoch-N` on the resulting version,
and a manifest row per epoch. Readers of an epoch use the snapshot pinned at its start.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

CORPUS, EXPERIENCE, MANIFESTS, UNITS, MEMO = "corpus", "experience", "manifests", "knowledge_units", "memo"
RELEASES = "releases"               # one row per promotion / rollback (bidirag/release.py)
PRODUCTION_SUFFIX = "_production"   # corpus_production, knowledge_units_production: what readers open
STABLE_IDS = {"new_table_enable_stable_row_ids": "true"}


def corpus_schema(dim: int) -> pa.Schema:
    return pa.schema([
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("text", pa.string()),
        pa.field("vector", pa.list_(pa.float32(), dim)),
        pa.field("origin", pa.string()),            # seed | writeback | knowledge_unit
        pa.field("epoch", pa.int32()),
        pa.field("query_id", pa.string()),
        pa.field("query", pa.string()),
        pa.field("source", pa.string()),            # seed provenance, e.g. "squad:Title#3"
        pa.field("source_doc_ids", pa.list_(pa.string())),
        pa.field("grounding", pa.float32()),
        pa.field("attribution", pa.float32()),
        pa.field("novelty", pa.float32()),
        pa.field("scores", pa.string()),            # JSON: every acceptance check's score
        pa.field("model_ids", pa.string()),         # JSON {"embedder":..,"generator":..,"nli":..}
        pa.field("config_hash", pa.string()),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
    ])


def experience_schema(dim: int) -> pa.Schema:
    return pa.schema([
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("query_id", pa.string()),
        pa.field("query", pa.string()),
        pa.field("answer", pa.string()),
        pa.field("failed_check", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("grounding", pa.float32()),
        pa.field("attribution", pa.float32()),
        pa.field("novelty", pa.float32()),
        pa.field("scores", pa.string()),                   # JSON: every acceptance check's score
        pa.field("vector", pa.list_(pa.float32(), dim)),   # embedding of the query
        pa.field("epoch", pa.int32()),
        pa.field("model_ids", pa.string()),
        pa.field("config_hash", pa.string()),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
    ])


def units_schema(dim: int) -> pa.Schema:
    return pa.schema([
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("text", pa.string()),
        pa.field("vector", pa.list_(pa.float32(), dim)),
        pa.field("origin", pa.string()),            # knowledge_unit
        pa.field("run", pa.int32()),
        pa.field("example_id", pa.string()),
        pa.field("question", pa.string()),
        pa.field("source_doc_ids", pa.list_(pa.string())),
        pa.field("evidence", pa.string()),
        pa.field("utility_without", pa.float32()),
        pa.field("utility_with", pa.float32()),
        pa.field("grounding", pa.float32()),
        pa.field("novelty", pa.float32()),
        pa.field("scores", pa.string()),            # JSON: the unit checks' scores
        pa.field("model_ids", pa.string()),
        pa.field("config_hash", pa.string()),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
    ])


def memo_schema(dim: int) -> pa.Schema:
    """The run memo (`bidirag/memo.py`): one row per (normalised query, retrieved doc ids, warnings, model ids,
    memo digest of the config) that was answered and judged; `doc_id` is the sha256 of that key."""
    return pa.schema([
        pa.field("doc_id", pa.string(), nullable=False),   # the memo key
        pa.field("query_key", pa.string()),                # sha256 of (normalised query, model ids, digest)
        pa.field("query_norm", pa.string()),
        pa.field("retrieved_ids", pa.list_(pa.string())),
        pa.field("warnings_digest", pa.string()),
        pa.field("model_ids", pa.string()),
        pa.field("config_digest", pa.string()),
        pa.field("verdict", pa.string()),                  # JSON: answer, confidence, status, scores, ...
        pa.field("answer_doc_id", pa.string()),            # content id of the text an accepted answer writes
        pa.field("vector", pa.list_(pa.float32(), dim)),   # embedding of the answer (dedup, corpus row)
        pa.field("epoch", pa.int32()),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
    ])


MANIFEST_SCHEMA = pa.schema([
    pa.field("doc_id", pa.string(), nullable=False),   # "epoch-N"
    pa.field("epoch", pa.int32()),
    pa.field("corpus_version", pa.int64()),
    pa.field("pinned_version", pa.int64()),
    pa.field("experience_version", pa.int64()),
    pa.field("config_hash", pa.string()),
    pa.field("input", pa.string()),
    pa.field("counts", pa.string()),                   # JSON
    pa.field("created_at", pa.timestamp("us", tz="UTC")),
])


RELEASES_SCHEMA = pa.schema([
    pa.field("doc_id", pa.string(), nullable=False),   # "release-K"
    pa.field("release", pa.int32()),
    pa.field("action", pa.string()),                   # promote | rollback
    pa.field("ref", pa.string()),                      # what was named on the command line
    pa.field("corpus_version", pa.int64()),            # work-table versions that make the release
    pa.field("experience_version", pa.int64()),
    pa.field("units_version", pa.int64()),
    pa.field("corpus_production_version", pa.int64()), # what readers see, per production table
    pa.field("units_production_version", pa.int64()),
    pa.field("rollback_to", pa.int32()),               # the release a rollback of this one returns to
    pa.field("reason", pa.string()),
    pa.field("who", pa.string()),
    pa.field("figures", pa.string()),                  # JSON: the gates checked and the figures they read
    pa.field("created_at", pa.timestamp("us", tz="UTC")),
])


class StoreError(RuntimeError):
    pass


def now() -> pa.TimestampScalar:
    return pa.scalar(int(time.time() * 1e6), type=pa.timestamp("us", tz="UTC"))


@dataclass
class Hit:
    doc_id: str
    text: str
    distance: float   # cosine distance = 1 - cos
    extra: dict | None = None


class Store:
    """One LanceDB directory. Cheap to construct; tables are opened or created on first use.

    `dim` is the vector size tables are created with (`models.embedder.dim`) and existing ones are checked
    against; None reads it from the existing tables' schema (operator commands: no model, no config needed)."""

    def __init__(self, uri: str | Path, dim: int | None = 384, nprobes: int = 20, refine_factor: int | None = None,
                 ann_index: str = "IVF_FLAT", ann_min_rows: int = 100_000, ann_rebuild_share: float = 0.25,
                 storage_options: dict | None = None) -> None:
        from bidirag.uri import LocationError, expand_options

        self.uri = str(uri)
        try:
            self.storage_options = expand_options(storage_options)
        except LocationError as e:
            raise StoreError(str(e)) from None
        self._dim = dim
        self.nprobes = nprobes
        self.refine_factor = refine_factor
        self.ann_index = ann_index
        self.ann_min_rows = ann_min_rows
        self.ann_rebuild_share = ann_rebuild_share
        self._db = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            for name in (CORPUS, UNITS, EXPERIENCE):
                if name in self._names():
                    self._dim = self.db.open_table(name).schema.field("vector").type.list_size
                    break
            else:
                raise StoreError(f"{self.uri} has no tables yet, so their vector size is unknown: run `bidirag init` "
                                 "or `bidirag ingest` first (they use models.embedder.dim)")
        return self._dim

    @classmethod
    def from_config(cls, store_cfg, dim: int | None) -> Store:
        s = store_cfg
        return cls(s.uri, dim=dim, nprobes=s.nprobes, refine_factor=s.refine_factor, ann_index=s.ann_index,
                   ann_min_rows=s.ann_min_rows, ann_rebuild_share=s.ann_rebuild_share,
                   storage_options=s.storage_options)

    @property
    def remote(self) -> bool:
        from bidirag.uri import is_remote

        return is_remote(self.uri)

    @property
    def db(self):
        if self._db is None:
            import lancedb

            from bidirag.uri import explain

            if not self.remote:
                Path(self.uri.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
            try:
                db = lancedb.connect(self.uri, storage_options=self.storage_options or None)
                db.list_tables()     # an object store is reached here: a missing bucket or bad key fails now
            except (ValueError, OSError, RuntimeError) as e:
                if not self.remote:
                    raise
                raise StoreError(f"store.uri {explain(e, self.uri, self.storage_options)}") from None
            self._db = db
        return self._db

    def dataset(self, name: str, version: int | str | None = None):
        """The Lance dataset of a table (at a version), reached with the store's storage options."""
        import lance

        return lance.dataset(self.table(name).uri, version=version, storage_options=self.storage_options or None)

    def _names(self) -> set[str]:
        res = self.db.list_tables()
        return set(getattr(res, "tables", res))

    def _schema(self, name: str) -> pa.Schema:
        if name == MANIFESTS:
            return MANIFEST_SCHEMA
        if name == RELEASES:
            return RELEASES_SCHEMA
        name = name.removesuffix(PRODUCTION_SUFFIX)
        return {CORPUS: corpus_schema, EXPERIENCE: experience_schema, UNITS: units_schema,
                MEMO: memo_schema}[name](self.dim)

    def table(self, name: str):
        for attempt in range(5):   # another process may be creating the same table right now
            try:
                if name in self._names():
                    tbl = self.db.open_table(name)
                else:
                    tbl = self.db.create_table(name, schema=self._schema(name), storage_options=STABLE_IDS,
                                               exist_ok=True)
                break
            except StoreError:
                raise
            except (ValueError, OSError, RuntimeError):
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
        if tbl.version == 1:        # freshly created: declare the key (idempotent if a racer did it too)
            try:
                tbl.set_unenforced_primary_key("doc_id")
            except Exception:  # noqa: BLE001 - a concurrent creator already set it
                tbl = self.db.open_table(name)
        if name not in (MANIFESTS, RELEASES):
            got = tbl.schema.field("vector").type.list_size
            if got != self.dim:
                raise StoreError(f"table {name!r} in {self.uri} holds {got}-d vectors but models.embedder.dim is "
                                 f"{self.dim}; set it to {got} for this store, or use a new store.uri for "
                                 "another embedder.")
        return tbl

    def init(self) -> dict[str, int]:
        return {n: self.table(n).version for n in (CORPUS, EXPERIENCE, MANIFESTS, UNITS)}

    def drop(self, name: str) -> None:
        """Drop a table (used for knowledge_units; the corpus is never dropped by bidirag)."""
        if name in self._names():
            self.db.drop_table(name)

    # ---- reads -------------------------------------------------------------------------------
    def pinned(self, name: str, version: int | str):
        tbl = self.table(name)
        tbl.checkout(version)
        return tbl

    def search(self, tbl, vectors: np.ndarray, k: int, columns: tuple[str, ...] = ("text",),
               where: str | None = None) -> list[list[Hit]]:
        """Batched top-k cosine search: one list of hits per query vector, best first.

        `Hit.text` is the first of `columns`; all of them are in `Hit.extra`. `where`: a SQL filter applied
        before the search (prefilter), so k hits come back whenever k rows match."""
        if len(vectors) == 0:
            return []
        if tbl.count_rows() == 0 or k == 0:
            return [[] for _ in range(len(vectors))]
        q = tbl.search([v for v in vectors.astype(np.float32)]).metric("cosine").limit(k).nprobes(self.nprobes)
        if where:
            q = q.where(where, prefilter=True)
        if self.refine_factor:
            q = q.refine_factor(self.refine_factor)
        res = q.select(["doc_id", *columns, "_distance"]).to_arrow()
        out: list[list[Hit]] = [[] for _ in range(len(vectors))]
        qi = res.column("query_index").to_pylist() if len(vectors) > 1 else [0] * res.num_rows
        cols = {c: res.column(c).to_pylist() for c in columns}
        for j, (q, d, dist) in enumerate(zip(qi, res.column("doc_id").to_pylist(),
                                             res.column("_distance").to_pylist(), strict=True)):
            extra = {c: cols[c][j] for c in columns}
            out[q].append(Hit(d, extra[columns[0]], float(dist), extra))
        for hits in out:
            hits.sort(key=lambda h: (h.distance, h.doc_id))
        return out

    def texts(self, name: str) -> dict[str, str]:
        """Every row's text by doc_id (the whole table read once: for offline analysis, not the hot path)."""
        return {r["doc_id"]: r["text"] for r in self.table(name).to_arrow().select(["doc_id", "text"]).to_pylist()}

    def rows_by_id(self, tbl, ids: list[str], columns: tuple[str, ...] = ("doc_id",)) -> list[dict]:
        """The rows of `tbl` (at its checked-out version) whose doc_id is in `ids`: a keyed filter, 500 ids a query."""
        out: list[dict] = []
        ids = sorted(set(ids))
        for s in range(0, len(ids), 500):
            chunk = [i.replace("'", "''") for i in ids[s:s + 500]]
            where = "doc_id IN (" + ",".join(f"'{i}'" for i in chunk) + ")"
            out += tbl.search().where(where).select(list(dict.fromkeys(("doc_id", *columns)))).limit(len(chunk)) \
                .to_arrow().to_pylist()
        return out

    def existing_ids(self, tbl, ids: list[str]) -> set[str]:
        return {r["doc_id"] for r in self.rows_by_id(tbl, ids)}

    def pin_for(self, name: str, epoch: int) -> int:
        """The version an epoch must read: the head, unless a crashed attempt of this same epoch already
        committed rows (then the newest version without them, i.e. what that attempt had pinned)."""
        tbl = self.table(name)
        head = tbl.version
        if tbl.count_rows(filter=f"epoch = {int(epoch)}") == 0:
            return head
        for v in sorted((x["version"] for x in tbl.list_versions()), reverse=True):
            if self.dataset(name, v).count_rows(filter=f"epoch = {int(epoch)}") == 0:
                return v
        raise StoreError(f"every version of {name} has rows of epoch {epoch}; cannot pin a clean snapshot")

    def count_epoch(self, name: str, epoch: int, version: int | None = None, origin: str | None = None) -> int:
        tbl = self.table(name)
        flt = f"epoch = {int(epoch)}" + (f" AND origin = '{origin}'" if origin else "")
        return self.dataset(name, version or tbl.version).count_rows(filter=flt)

    # ---- indexes -----------------------------------------------------------------------------
    def ensure_indexes(self, name: str, ann_index: str | None = None, ann_min_rows: int | None = None,
                       rebuild_share: float | None = None) -> dict:
        """Bring a table's indexes up to date; returns what was done and how long it took.

        The settings default to the store's own (`store.ann_*` through `Store.from_config`).

        - a BTREE index on `doc_id` (write-back's existence checks and merge_insert join on it);
        - the ANN index on `vector` once the table has `ann_min_rows` rows.
        Rows added after an index was built are still found (LanceDB searches them exactly and merges);
        an index is rebuilt when those rows exceed `rebuild_share` of the rows it covers. Each build is
        its own table version (data unchanged), so run this between epochs (ingest, gc, `bidirag
        index`), never inside one. (Incremental index updates are not used: the pylance `optimize_indices`
        shipped with this LanceDB drops its newer BTREE indexes, and `Table.optimize` also prunes versions.)
        """
        from lancedb.index import BTree, IvfFlat, IvfHnswSq, IvfPq

        ann_index = ann_index or self.ann_index
        ann_min_rows = self.ann_min_rows if ann_min_rows is None else ann_min_rows
        rebuild_share = self.ann_rebuild_share if rebuild_share is None else rebuild_share
        tbl = self.table(name)
        rows = tbl.count_rows()
        done: dict[str, Any] = {"table": name, "rows": rows, "actions": []}
        if rows == 0:
            return done
        have = {ix.columns[0]: tbl.index_stats(ix.name) for ix in tbl.list_indices()}

        def stale(col: str) -> str | None:
            st = have.get(col)
            if st is None:
                return "build"
            return "rebuild" if st.num_unindexed_rows > rebuild_share * max(1, st.num_indexed_rows) else None

        def timed(action: str, fn) -> None:
            t = time.perf_counter()
            fn()
            done["actions"].append({"action": action, "seconds": round(time.perf_counter() - t, 2)})

        if what := stale("doc_id"):
            timed(f"{what} key index (BTREE doc_id)", lambda: tbl.create_index("doc_id", config=BTree(), replace=True))
        if ann_index != "none" and rows >= ann_min_rows and (what := stale("vector")):
            parts = max(16, int(np.sqrt(rows)))
            cfg = {"IVF_PQ": lambda: IvfPq(distance_type="cosine", num_partitions=parts,
                                           num_sub_vectors=max(1, self.dim // 8)),
                   "IVF_HNSW_SQ": lambda: IvfHnswSq(distance_type="cosine", num_partitions=max(1, parts // 16)),
                   "IVF_FLAT": lambda: IvfFlat(distance_type="cosine", num_partitions=parts)}[ann_index]()
            timed(f"{what} ANN index ({ann_index}, {parts} partitions, {rows} rows)",
                  lambda: tbl.create_index("vector", config=cfg, replace=True))
        tbl = self.table(name)
        done["indexes"] = {ix.name: {"type": ix.index_type, "unindexed": tbl.index_stats(ix.name).num_unindexed_rows}
                           for ix in tbl.list_indices()}
        done["version"] = tbl.version
        return done

    # ---- writes ------------------------------------------------------------------------------
    def insert_new(self, name: str, rows: list[dict[str, Any]]) -> tuple[int, int]:
        """Insert rows whose doc_id is absent, in ONE transaction. Returns (inserted, version).

        Nothing new -> no commit (the version does not move). Under this process's writer lock (every
        bidirag command that writes takes it) no other writer can commit, so the keys checked absent
        through the BTREE key index are appended (cost grows with the new rows). Without the lock
        (`store.lock: false`, object storage) the insert is a `merge_insert` on doc_id, which stays
        exactly-once against a concurrent writer but scans every key of the table."""
        from bidirag.lock import holds_writer_lock

        tbl = self.table(name)
        # merge_insert inserts every unmatched source row, so repeated keys in one batch would duplicate
        rows = list({r["doc_id"]: r for r in reversed(rows)}.values())[::-1]
        if rows and tbl.count_rows():
            # an empty merge would still commit a version: drop keys that are already there first
            present = self.existing_ids(tbl, [r["doc_id"] for r in rows])
            rows = [r for r in rows if r["doc_id"] not in present]
        if not rows:
            return 0, tbl.version
        data = pa.Table.from_pylist(rows, schema=tbl.schema)
        if holds_writer_lock(self.uri):
            tbl.add(data)
            return len(rows), int(tbl.version)
        # use_index(False): with a BTREE index on doc_id, two concurrent unlocked merges sometimes both
        # inserted the same key (3 of 8 runs of test_two_unlocked_writers_at_once_never_duplicate);
        # the scanning join never did (11 of 11). Exactly-once beats the faster indexed join.
        res = tbl.merge_insert("doc_id").when_not_matched_insert_all().use_index(False).execute(data)
        return int(res.num_inserted_rows), int(res.version)

    def tag(self, name: str, tag: str, version: int) -> None:
        tbl = self.table(name)
        tags = tbl.tags.list()
        if tag in tags:
            if tags[tag]["version"] != version:
                tbl.tags.update(tag, version)
        else:
            tbl.tags.create(tag, version)

    # ---- manifests ---------------------------------------------------------------------------
    def manifests(self, kind: str = "epoch") -> list[dict]:
        """Manifest rows of one kind: 'epoch' (corpus epochs) or 'units' (distillation runs)."""
        tbl = self.table(MANIFESTS)
        rows = tbl.to_arrow().to_pylist() if tbl.count_rows() else []
        return sorted((r for r in rows if r["doc_id"].startswith(f"{kind}-")), key=lambda r: r["epoch"])

    def next_epoch(self, kind: str = "epoch") -> int:
        done = self.manifests(kind)
        return (done[-1]["epoch"] + 1) if done else 1

    def record_manifest(self, epoch: int, corpus_version: int, pinned_version: int,
                        experience_version: int, config_hash: str, input_desc: str, counts: dict,
                        kind: str = "epoch") -> None:
        self.insert_new(MANIFESTS, [{
            "doc_id": f"{kind}-{epoch}", "epoch": epoch, "corpus_version": corpus_version,
            "pinned_version": pinned_version, "experience_version": experience_version,
            "config_hash": config_hash, "input": input_desc, "counts": json.dumps(counts, sort_keys=True),
            "created_at": now(),
        }])

    def snapshots(self) -> list[dict]:
        """Every corpus version with its row count and the tags pointing at it."""
        tbl = self.table(CORPUS)
        tags: dict[int, list[str]] = {}
        for name, info in tbl.tags.list().items():
            tags.setdefault(info["version"], []).append(name)
        out = []
        for v in tbl.list_versions():
            ver = v["version"]
            rows = int(v.get("metadata", {}).get("total_rows", -1))
            out.append({"version": ver, "rows": rows, "tags": sorted(tags.get(ver, [])),
                        "timestamp": v["timestamp"].isoformat()})
        return out
