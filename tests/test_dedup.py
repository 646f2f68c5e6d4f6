import numpy as np

from bidirag.stages.dedup import NearDuplicateFilter


def _rec(seq, qid, text, vec):
    v = np.asarray(vec, dtype=np.float32)
    return {"_seq": seq, "query_id": qid, "clean_text": text, "vector": (v / np.linalg.norm(v)).tolist(),
            "status": "ok"}


def test_keeps_first_in_log_order_and_drops_near_and_exact_duplicates():
    recs = [
        _rec(2, "b", "Paris is in France.", [1, 0.05, 0]),      # near-duplicate of a (cos ~0.999)
        _rec(0, "a", "Paris is the capital of France.", [1, 0, 0]),
        _rec(1, "c", "Tesla was an inventor.", [0, 1, 0]),
        _rec(3, "d", "Tesla was an inventor.", [0, 0.5, 1]),    # exact text of c, different vector
        {"_seq": 4, "query_id": "e", "status": "rejected"},
    ]
    out = NearDuplicateFilter(0.9).process_all(recs)
    status = {r["query_id"]: r["status"] for r in out}
    assert status == {"a": "ok", "c": "ok", "b": "deduplicated", "d": "deduplicated", "e": "rejected"}
    assert "a" in next(r for r in out if r["query_id"] == "b")["reason"]


def test_distinct_answers_are_all_kept():
    recs = [_rec(i, str(i), f"t{i}", np.eye(3)[i]) for i in range(3)]
    assert all(r["status"] == "ok" for r in NearDuplicateFilter(0.9).process_all(recs))
