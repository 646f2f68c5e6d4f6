import pytest

from bidirag import ops
from bidirag.store import CORPUS, Store, now


def _row(i: int, origin="seed", **kw) -> dict:
    return {"doc_id": f"d{i}", "text": f"text {i}", "vector": [float(i), 1, 0, 0], "origin": origin,
            "epoch": kw.get("epoch", 0), "query_id": kw.get("query_id"), "source_doc_ids": kw.get("src", []),
            "grounding": kw.get("g"), "created_at": now()}


@pytest.fixture
def store(tmp_path):
    st = Store(tmp_path / "s", dim=4)
    st.init()
    _, v1 = st.insert_new(CORPUS, [_row(0), _row(1)])
    st.tag(CORPUS, "epoch-0", v1)
    _, v2 = st.insert_new(CORPUS, [_row(2, "writeback", epoch=1, query_id="q2", src=["d0"], g=0.9)])
    st.tag(CORPUS, "epoch-1", v2)
    st.table(CORPUS).delete("doc_id = 'd1'")
    return st


def test_diff_by_tag_and_version_with_provenance(store):
    tbl = store.table(CORPUS)
    d = ops.diff(store, "epoch-0", tbl.version)
    assert d["added_count"] == 1 and d["removed_count"] == 1
    added = d["added"][0]
    assert added["doc_id"] == "d2" and added["origin"] == "writeback" and added["query_id"] == "q2"
    assert added["source_doc_ids"] == ["d0"] and abs(added["grounding"] - 0.9) < 1e-6
    assert d["removed"][0]["doc_id"] == "d1"
    back = ops.diff(store, tbl.version, "epoch-0")
    assert back["added_count"] == 1 and back["added"][0]["doc_id"] == "d1"
    assert "+ d2" in ops.format_diff(d) and "query=q2" in ops.format_diff(d)


def test_diff_survives_restore(store):
    tbl = store.table(CORPUS)
    tbl.restore(store.table(CORPUS).tags.list()["epoch-0"]["version"])
    d = ops.diff(store, "epoch-1", store.table(CORPUS).version)
    assert d["removed_count"] == 1 and d["removed"][0]["doc_id"] == "d2"


def test_unknown_refs_are_clear_errors(store):
    with pytest.raises(ops.OpsError, match="unknown tag 'nope'"):
        ops.diff(store, "nope", "epoch-1")
    with pytest.raises(ops.OpsError, match="unknown version 999"):
        ops.promote(store, 999)


def test_promote_refuses_older_without_force_and_rollback_restores(store):
    e0 = ops.promote(store, "epoch-0", reason="first")
    e1 = ops.promote(store, "epoch-1", reason="nightly ok")
    assert (e0["to_version"], e1["from_version"]) == (e1["from_version"], e0["to_version"])
    with pytest.raises(ops.OpsError, match="older than production"):
        ops.promote(store, "epoch-0")
    rb = ops.rollback(store, reason="bad answers")
    tags = store.table(CORPUS).tags.list()
    assert tags["production"]["version"] == tags["epoch-0"]["version"]
    assert store.table(CORPUS).count_rows() == 2      # head restored to epoch-0 content
    hist = ops.history(store)
    assert [h["action"] for h in hist] == ["promote", "promote", "rollback"]
    assert hist[-1]["reason"] == "bad answers" and hist[-1]["who"] and rb["head_version"]


def test_rollback_without_promotion_is_refused(store):
    with pytest.raises(ops.OpsError, match="nothing to roll back"):
        ops.rollback(store)


def test_gc_keeps_tagged_versions(store):
    tbl = store.table(CORPUS)
    for i in range(3, 7):
        store.insert_new(CORPUS, [_row(i)])
    before = {v["version"] for v in tbl.list_versions()}
    res = ops.gc(store, keep=2)
    after = {v["version"] for v in store.table(CORPUS).list_versions()}
    tags = store.table(CORPUS).tags.list()
    assert res["versions_after"] < len(before)
    assert {t["version"] for t in tags.values()} <= after
    assert ops.diff(store, "epoch-0", "epoch-1")["added_count"] == 1   # tagged snapshots still readable
