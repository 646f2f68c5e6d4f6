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


def measure(root: Path, size: int, dim: int = 384, new_docs: int = 100, queries: int = 64,
            index: str = "IVF_PQ", seed: int = 0, log=print) -> dict:
    rng = np.random.default_rng(seed)
    st = Store(root / f"scale-{size}", dim=dim)
    tbl = st.table(CORPUS)
    t = time.perf_counter()
    chunk = 100_000
    for s in range(0, size, chunk):
        n = min(chunk, size - s)
        tbl.add(_table([f"s{i:08d}" for i in range(s, s + n)], _unit(rng, n, dim), dim))
    load_s = time.perf_counter() - t
    res = {"size": size, "load_seconds": round(load_s, 1)}
    q = _unit(rng, queries, dim)

    def latency(k: int) -> float:
        pinned = st.pinned(CORPUS, st.table(CORPUS).version)
        st.search(pinned, q[:4], k)                                  # warm
        t = time.perf_counter()
        st.search(pinned, q, k)
        return (time.perf_counter() - t) / queries * 1000

    res["novelty_ms_per_query_flat"] = round(latency(1), 2)
    res["retrieval_ms_per_query_flat"] = round(latency(3), 2)

    def commit(tag: str) -> float:
        rows = [{"doc_id": f"{tag}{i:06d}", "text": "new", "vector": v.tolist(), "origin": "writeback",
                 "epoch": 1, "source_doc_ids": []} for i, v in enumerate(_unit(rng, new_docs, dim))]
        t = time.perf_counter()
        st.insert_new(CORPUS, rows)
        return time.perf_counter() - t

    res["commit_seconds_100_new"] = round(commit("a"), 3)
    t = time.perf_counter()
    tbl = st.table(CORPUS)
    tbl.create_scalar_index("doc_id", replace=True)
    res["scalar_index_seconds"] = round(time.perf_counter() - t, 1)
    res["commit_seconds_100_new_key_index"] = round(commit("b"), 3)
    if size >= 10_000:
        parts = max(16, int(np.sqrt(size)))
        t = time.perf_counter()
        kw = {"num_sub_vectors": dim // 8} if index == "IVF_PQ" else {}
        tbl.create_index(metric="cosine", vector_column_name="vector", index_type=index, num_partitions=parts,
                         replace=True, **kw)
        res[f"{index}_build_seconds"] = round(time.perf_counter() - t, 1)
        res["num_partitions"] = parts
        res["novelty_ms_per_query_ann"] = round(latency(1), 2)
        res["retrieval_ms_per_query_ann"] = round(latency(3), 2)
        res["commit_seconds_100_new_with_ann"] = round(commit("c"), 3)
    log(res)
    return res
