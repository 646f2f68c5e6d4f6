"""Seed-corpus ingest: batched embedding of texts not yet in the corpus, one merge_insert, idempotent."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from tqdm import tqdm

from bidirag import release
from bidirag.config import Config
from bidirag.lock import writer_lock
from bidirag.stages.rag import load_embedder
from bidirag.store import CORPUS, Store, now
from bidirag.text import content_id, normalize
from bidirag.uri import RemotePath, location


class IngestError(RuntimeError):
    pass


def ingest(cfg: Config, corpus_path: str | Path, progress: bool = True) -> dict:
    with writer_lock(cfg.store.uri, cfg.store.lock, what=f"ingest of {corpus_path}"):
        return _ingest(cfg, corpus_path, progress)


def _ingest(cfg: Config, corpus_path: str | Path, progress: bool) -> dict:
    path = location(corpus_path, cfg.store.storage_options)
    if not path.exists():
        raise IngestError(f"corpus file not found: {path} (a Parquet file with a 'text' column; "
                          "`bidirag data fetch squad` makes one)")
    table = pq.read_table(path.open("rb") if isinstance(path, RemotePath) else path)
    if "text" not in table.column_names:
        raise IngestError(f"{path} has no 'text' column (columns: {table.column_names})")
    texts = table.column("text").to_pylist()
    sources = table.column("source").to_pylist() if "source" in table.column_names else [None] * len(texts)
    seen: dict[str, tuple[str, str | None]] = {}
    skipped = 0
    for t, s in zip(texts, sources, strict=True):
        if not isinstance(t, str) or not normalize(t):
            skipped += 1
            continue
        seen.setdefault(content_id(t), (normalize(t), s))
    emb = load_embedder(cfg)
    store = Store.from_config(cfg.store, emb.dim)
    based = release.prepare_base(store, cfg.run.base)     # build on production, not on an unreviewed head
    tbl = store.table(CORPUS)
    ids = list(seen)
    present = store.existing_ids(tbl, ids) if tbl.count_rows() else set()
    todo = [i for i in ids if i not in present]
    rows = []
    bs = 256
    for s in tqdm(range(0, len(todo), bs), desc="embedding seed corpus", disable=not progress or not todo):
        chunk = todo[s:s + bs]
        vecs = emb.encode([seen[i][0] for i in chunk])
        for i, v in zip(chunk, vecs, strict=True):
            rows.append({"doc_id": i, "text": seen[i][0], "vector": v.tolist(), "origin": "seed", "epoch": 0,
                         "source": seen[i][1], "source_doc_ids": [], "model_ids": emb.model_id,
                         "created_at": now()})
    inserted, version = store.insert_new(CORPUS, rows)
    idx = store.ensure_indexes(CORPUS)
    out = {"rows_in_file": len(texts), "unique": len(ids), "already_present": len(present),
           "inserted": inserted, "skipped_empty": skipped, "version": idx.get("version", version),
           "index_actions": idx["actions"]}
    if inserted and based is not None:
        # seed documents are the operator's own input, added on top of production: release them at once
        # (without this, the next job would reset the head to production and leave them out)
        out["released"] = f"release-{release.promote(store, 'head', reason=f'ingest of {path}')['release']}"
    return out
