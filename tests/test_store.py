import numpy as np
import pytest

from bidirag.store import CORPUS, Store, StoreError, now


def _row(i: int, vec) -> dict:
    return {"doc_id": f"d{i}", "text": f"text {i}", "vector": vec, "origin": "seed", "epoch": 0,
            "source_doc_ids": [], "created_at": now()}


def test_insert_new_is_one_version_and_idempotent(tmp_path):
    st = Store(tmp_path / "s", dim=4)
    st.init()
    v0 = st.table(CORPUS).version
    rows = [_row(i, np.eye(4)[i].tolist()) for i in range(3)]
    n, v1 = st.insert_new(CORPUS, rows)
    assert (n, v1) == (3, v0 + 1)
    n2, v2 = st.insert_new(CORPUS, rows)          # same ids again: nothing inserted
    assert n2 == 0
    assert st.table(CORPUS).count_rows() == 3
    assert st.insert_new(CORPUS, []) == (0, st.table(CORPUS).version)


def test_pinned_snapshot_does_not_see_later_writes_and_search_is_batched(tmp_path):
    st = Store(tmp_path / "s", dim=4)
    st.init()
    _, v1 = st.insert_new(CORPUS, [_row(0, [1, 0, 0, 0]), _row(1, [0, 1, 0, 0])])
    st.insert_new(CORPUS, [_row(2, [0, 0, 1, 0])])
    pinned = st.pinned(CORPUS, v1)
    hits = st.search(pinned, np.array([[0, 0, 1, 0], [0, 1, 0, 0]], dtype=np.float32), 1)
    assert hits[0][0].doc_id in {"d0", "d1"}       # d2 is not in the pinned snapshot
    assert hits[1][0].doc_id == "d1" and hits[1][0].distance < 1e-5


def test_tags_and_snapshots(tmp_path):
    st = Store(tmp_path / "s", dim=4)
    st.init()
    _, v = st.insert_new(CORPUS, [_row(0, [1, 0, 0, 0])])
    st.tag(CORPUS, "epoch-1", v)
    snaps = {s["version"]: s for s in st.snapshots()}
    assert snaps[v]["tags"] == ["epoch-1"] and snaps[v]["rows"] == 1


def test_dimension_mismatch_is_a_clear_error(tmp_path):
    Store(tmp_path / "s", dim=4).init()
    with pytest.raises(StoreError, match="4-d vectors"):
        Store(tmp_path / "s", dim=8).table(CORPUS)


def test_repeated_keys_in_one_batch_are_inserted_once(tmp_path):
    st = Store(tmp_path / "s", dim=4)
    st.init()
    n, _ = st.insert_new(CORPUS, [_row(0, [1, 0, 0, 0]), _row(0, [1, 0, 0, 0]), _row(1, [0, 1, 0, 0])])
    assert n == 2 and st.table(CORPUS).count_rows() == 2
