"""Retrieval: docs the pipeline wrote are added beside the corpus top-k, not in its places."""

from bidirag.models import handlers
from bidirag.stages.rag import Retrieve
from bidirag.store import CORPUS, Store, now


def _store(cfg):
    emb = handlers.embedder(cfg.models.embedder)
    st = Store(cfg.store.uri, dim=emb.dim)
    st.init()
    seed = ["alpha beta gamma", "alpha beta delta", "zeta eta theta", "iota kappa lambda"]
    written = ["alpha beta gamma delta epsilon", "alpha beta gamma delta"]
    rows = [{"doc_id": f"s{i}", "text": t, "origin": "seed"} for i, t in enumerate(seed)]
    rows += [{"doc_id": f"w{i}", "text": t, "origin": "writeback"} for i, t in enumerate(written)]
    vecs = emb.encode([r["text"] for r in rows])
    st.insert_new(CORPUS, [{**r, "vector": v.tolist(), "source_doc_ids": [], "created_at": now()}
                           for r, v in zip(rows, vecs, strict=True)])
    return st


def _retrieve(cfg, st, **retrieval):
    cfg = cfg.model_copy(update={"retrieval": cfg.retrieval.model_copy(update={"top_k": 2, **retrieval})})
    stage = Retrieve(cfg, st.table(CORPUS).version)
    stage.setup()
    rec = {"text": "alpha beta gamma delta", "status": "ok"}
    stage.process_batch([rec])
    return [d["doc_id"] for d in rec["retrieved"]], [d["distance"] for d in rec["retrieved"]]


def test_written_docs_are_added_beside_the_corpus_top_k(fake_cfg):
    st = _store(fake_cfg)
    competing, _ = _retrieve(fake_cfg, st, written_extra=None)
    assert competing[0] == "w1" and len(competing) == 2          # one index: a written doc takes a seed's place
    ids, dist = _retrieve(fake_cfg, st, written_extra=1)
    assert sorted(i for i in ids if i.startswith("s")) == ["s0", "s1"]   # the corpus top-2 is whole
    assert [i for i in ids if i.startswith("w")] == ["w1"] and len(ids) == 3
    assert dist == sorted(dist)                                   # merged by distance
    assert sorted(_retrieve(fake_cfg, st, written_extra=0)[0]) == ["s0", "s1"]
    assert len(_retrieve(fake_cfg, st, written_extra=2)[0]) == 4


def test_written_extra_with_no_written_docs_is_plain_top_k(fake_cfg):
    emb = handlers.embedder(fake_cfg.models.embedder)
    st = Store(fake_cfg.store.uri, dim=emb.dim)
    st.init()
    v = emb.encode(["alpha beta gamma", "zeta eta"])
    st.insert_new(CORPUS, [{"doc_id": f"s{i}", "text": t, "vector": x.tolist(), "origin": o,
                            "source_doc_ids": [], "created_at": now()}
                           for i, (t, x, o) in enumerate(zip(["alpha beta gamma", "zeta eta"], v, ["seed", None],
                                                             strict=True))])
    ids, _ = _retrieve(fake_cfg, st, written_extra=1)
    assert sorted(ids) == ["s0", "s1"]                            # a doc with no origin counts as corpus
