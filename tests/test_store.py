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
    assert st.texts(CORPUS) == {"d0": "text 0", "d1": "text 1", "d2": "text 2"}


def test_rows_by_id_reads_the_pinned_version_and_quotes_ids(tmp_path):
    st = Store(tmp_path / "s", dim=4)
    st.init()
    rows = [_row(i, np.eye(4)[i].tolist()) for i in range(2)]
    _, v = st.insert_new(CORPUS, rows)
    st.insert_new(CORPUS, [{**_row(3, np.eye(4)[3].tolist()), "doc_id": "it's"}])
    got = st.rows_by_id(st.table(CORPUS), ["d1", "it's", "absent", "d1"], ("text",))
    assert sorted((r["doc_id"], r["text"]) for r in got) == [("d1", "text 1"), ("it's", "text 3")]
    assert [r["doc_id"] for r in st.rows_by_id(st.pinned(CORPUS, v), ["it's", "d0"])] == ["d0"]   # not yet there
    assert st.rows_by_id(st.table(CORPUS), []) == [] and st.existing_ids(st.table(CORPUS), ["d0", "x"]) == {"d0"}


@pytest.mark.parametrize("locked", [True, False])
def test_insert_new_is_exactly_once_with_and_without_the_writer_lock(tmp_path, locked):
    from bidirag.lock import holds_writer_lock, writer_lock

    st = Store(tmp_path / "s", dim=4)
    st.init()
    st.insert_new(CORPUS, [_row(i, np.eye(4)[i].tolist()) for i in range(3)])
    st.ensure_indexes(CORPUS, ann_index="none")              # the key index the append path checks with
    with writer_lock(st.uri, enabled=locked):
        assert holds_writer_lock(st.uri) is locked
        v0 = st.table(CORPUS).version
        rows = [_row(i, np.eye(4)[i % 4].tolist()) for i in range(1, 6)] + [_row(5, [1, 0, 0, 0])]
        n, v1 = st.insert_new(CORPUS, rows)                  # d1, d2 exist; d5 twice in the batch
        assert (n, v1) == (3, v0 + 1)
        assert st.insert_new(CORPUS, rows) == (0, v1)
    assert not holds_writer_lock(st.uri)
    ids = st.table(CORPUS).to_arrow().column("doc_id").to_pylist()
    assert sorted(ids) == [f"d{i}" for i in range(6)]


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


def test_index_policy_builds_once_searches_unindexed_rows_and_rebuilds_past_the_share(tmp_path):
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((700, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    st = Store(tmp_path / "s", dim=16, nprobes=8, refine_factor=5)
    st.init()
    st.insert_new(CORPUS, [_row(i, vecs[i].tolist()) for i in range(500)])
    assert st.ensure_indexes(CORPUS, ann_min_rows=1000)["actions"][0]["action"].startswith("build key index")
    assert "vector_idx" not in st.ensure_indexes(CORPUS, ann_min_rows=1000)["indexes"]   # too small for ANN
    first = st.ensure_indexes(CORPUS, ann_min_rows=400, rebuild_share=0.25)
    assert [a["action"].split(" (")[0] for a in first["actions"]] == ["build ANN index"]
    v = st.table(CORPUS).version
    assert st.ensure_indexes(CORPUS, ann_min_rows=400)["actions"] == [] and st.table(CORPUS).version == v
    st.insert_new(CORPUS, [_row(i, vecs[i].tolist()) for i in range(500, 550)])       # 10% new: kept unindexed
    assert st.ensure_indexes(CORPUS, ann_min_rows=400, rebuild_share=0.25)["actions"] == []
    hit = st.search(st.table(CORPUS), vecs[520:521], 1)[0][0]                       # found through the flat part
    assert hit.doc_id == "d520" and hit.distance < 1e-4
    st.insert_new(CORPUS, [_row(i, vecs[i].tolist()) for i in range(550, 700)])      # 40% new: rebuild
    again = st.ensure_indexes(CORPUS, ann_min_rows=400, rebuild_share=0.25)
    assert {a["action"].split(" (")[0] for a in again["actions"]} == {"rebuild key index", "rebuild ANN index"}
    assert all(ix["unindexed"] == 0 for ix in again["indexes"].values())
    assert st.insert_new(CORPUS, [_row(3, vecs[3].tolist())])[0] == 0                 # key check still exact
