"""Store scaling with synthetic vectors (random unit vectors, 384-d): commit time of an epoch's new docs
and novelty/retrieval latency at several corpus sizes, with and without an ANN index."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from bidirag.store import CORPUS, Store, corpus_schema


def _unit(rng, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _table(ids: list[str], vecs: np.ndarray, dim: int) -> pa.Table:
    n = len(ids)
    cols = {"doc_id": ids, "text": [f"synthetic doc {i}" for i in ids],
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1)), dim),
            "origin": ["seed"] * n, "epoch": pa.array([0] * n, pa.int32()), "source_doc_ids": [[]] * n}
    schema = corpus_schema(dim)
    return pa.table({f.name: cols.get(f.name, pa.nulls(n, f.type)) for f in schema}, schema=schema)


def _clustered(rng, n: int, dim: int, centers: np.ndarray, spread: float = 0.6) -> np.ndarray:
    """Unit vectors around random topic centres (real embeddings cluster; uniform noise would be the
    worst case for any IVF index and unlike any corpus)."""
    c = centers[rng.integers(0, len(centers), n)]
    v = c + spread * rng.standard_normal((n, c.shape[1])).astype(np.float32) / np.sqrt(c.shape[1])
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def measure(root: Path, size: int, dim: int = 384, new_docs: int = 100, queries: int = 200,
            index: str = "IVF_FLAT", seed: int = 0, nprobes: int = 20, refine_factor: int | None = None,
            log=print) -> dict:
    """One corpus size: load, exact-search latency, commit without/with the key index, index build,
    ANN latency + recall@1 against exact search, commit and latency with unindexed new rows, rebuild."""
    rng = np.random.default_rng(seed)
    centers = _unit(rng, 2000, dim)
    st = Store(root / f"scale-{size}", dim=dim, nprobes=nprobes, refine_factor=refine_factor)
    tbl = st.table(CORPUS)
    t = time.perf_counter()
    chunk = 100_000
    for s in range(0, size, chunk):
        n = min(chunk, size - s)
        tbl.add(_table([f"s{i:08d}" for i in range(s, s + n)], _clustered(rng, n, dim, centers), dim))
    res = {"size": size, "load_seconds": round(time.perf_counter() - t, 1), "queries": queries,
           "vectors": "synthetic: clustered random unit vectors, 2,000 centres", "index": index,
           "nprobes": nprobes, "refine_factor": refine_factor}
    # novelty queries look like answers: near an existing doc, never identical
    q = _clustered(rng, queries, dim, centers)
    warm = _clustered(rng, 64, dim, centers)     # other queries: warm caches without pre-answering q

    def search(k: int) -> tuple[float, list[str], list[float]]:
        pinned = st.pinned(CORPUS, st.table(CORPUS).version)
        st.search(pinned, warm, k)
        t = time.perf_counter()
        hits = st.search(pinned, q, k)
        return ((time.perf_counter() - t) / queries * 1000, [h[0].doc_id if h else "" for h in hits],
                [h[0].distance if h else 1.0 for h in hits])

    res["novelty_ms_per_query_flat"] = round(search(1)[0], 2)
    res["retrieval_ms_per_query_flat"] = round(search(3)[0], 2)

    def commit(tag: str, locked: bool = False, repeat: int = 3) -> float:
        """Median seconds of `repeat` commits of `new_docs` new rows; `locked`: under the writer lock that
        every bidirag command takes (keys checked through the index, then appended), else the unlocked
        merge_insert path."""
        from bidirag.lock import writer_lock

        times = []
        for r in range(repeat):
            rows = [{"doc_id": f"{tag}{r}-{i:06d}", "text": "new", "vector": v.tolist(), "origin": "writeback",
                     "epoch": 1, "source_doc_ids": []}
                    for i, v in enumerate(_clustered(rng, new_docs, dim, centers))]
            with writer_lock(st.uri, enabled=locked):
                t = time.perf_counter()
                st.insert_new(CORPUS, rows)
                times.append(time.perf_counter() - t)
        return round(float(np.median(times)), 3)

    res["commit_seconds_no_index"] = commit("a")
    built = st.ensure_indexes(CORPUS, ann_index=index, ann_min_rows=1, rebuild_share=0.25)
    res["index_build"] = built["actions"]
    res["commit_seconds_with_indexes"] = commit("b")       # unlocked: existence check + scanning merge
    res["commit_seconds_locked"] = commit("c", locked=True)  # the default: existence check + append
    ms, ann, ann_d = search(1)
    tbl = st.table(CORPUS)
    exact = [tbl.search(v).metric("cosine").bypass_vector_index().limit(1).select(["doc_id", "_distance"])
             .to_arrow().to_pylist()[0] for v in q]
    res["novelty_ms_per_query_ann"] = round(ms, 2)
    res["novelty_recall_at_1_vs_exact"] = round(sum(a == e["doc_id"] for a, e in zip(ann, exact, strict=True))
                                                / queries, 3)
    # what the novelty check consumes is the max cosine, not the id: how far off is the ANN's value?
    err = [d - e["_distance"] for d, e in zip(ann_d, exact, strict=True)]
    res["novelty_cosine_error_mean"] = round(float(np.mean(err)), 4)
    res["novelty_cosine_error_max"] = round(float(np.max(err)), 4)
    # where the ANN found the exact nearest doc its distance is exact (IVF_FLAT); misses add positive error
    hits = [abs(x) for x, a, e in zip(err, ann, exact, strict=True) if a == e["doc_id"]]
    res["novelty_cosine_error_on_hits_max"] = round(float(max(hits, default=0.0)), 5)
    res["retrieval_ms_per_query_ann"] = round(search(3)[0], 2)
    res["unindexed_rows_during_search"] = 2 * 3 * new_docs   # commits b and c
    res["rebuild_needed_after_100_new"] = bool(st.ensure_indexes(CORPUS, ann_index=index, ann_min_rows=1,
                                                                 rebuild_share=0.25)["actions"])
    log(res)
    return res
