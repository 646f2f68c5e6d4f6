"""Retrieval: docs the pipeline wrote are added beside the corpus top-k, not in its places."""

from bidirag.models import handlers
from bidirag.stages.rag import Retrieve
from bidirag.store import CORPUS, UNITS, Store, now


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


def _retrieve_docs(cfg, st, **retrieval):
    cfg = cfg.model_copy(update={"retrieval": cfg.retrieval.model_copy(update={"top_k": 2, **retrieval})})
    # with a (here empty) knowledge_units table, as every epoch has one: its merge keeps the written extra
    stage = Retrieve(cfg, st.table(CORPUS).version, units_version=st.table(UNITS).version)
    stage.setup()
    rec = {"text": "alpha beta gamma delta", "status": "ok"}
    stage.process_batch([rec])
    return rec["retrieved"]


def _retrieve(cfg, st, **retrieval):
    docs = _retrieve_docs(cfg, st, **retrieval)
    return [d["doc_id"] for d in docs], [d["distance"] for d in docs]


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


def test_a_written_doc_is_shown_but_never_vouches_for_a_new_answer(fake_cfg):
    """The generator sees the written doc beside the corpus top-k; the checks judge its answer as if that doc
    were absent (blanked in place, so citation numbers still map), unless acceptance.written_docs_as_evidence."""
    from bidirag.stages.rag import Generate
    from bidirag.stages.validate import Validate, evidence_docs

    emb = handlers.embedder(fake_cfg.models.embedder)
    st = Store(fake_cfg.store.uri, dim=emb.dim)
    st.init()
    rows = [{"doc_id": "s0", "text": "Warsaw is the capital and largest city of Poland.", "origin": "seed"},
            {"doc_id": "w0", "text": "The river through Warsaw, Poland is the Danube River.", "origin": "writeback"}]
    vecs = emb.encode([r["text"] for r in rows])
    st.insert_new(CORPUS, [{**r, "vector": v.tolist(), "source_doc_ids": [], "created_at": now()}
                           for r, v in zip(rows, vecs, strict=True)])

    def run(cfg):
        rec = {"text": "Which river flows through Warsaw, Poland?", "status": "ok"}
        for stage in (Retrieve(cfg, st.table(CORPUS).version), Generate(cfg),
                      Validate(cfg, st.table(CORPUS).version, enforce=False)):
            stage.setup()
            stage.process_batch([rec])
        return rec

    rec = run(fake_cfg)
    assert [d["origin"] for d in rec["retrieved"]][0] == "writeback"      # the written doc is [1] and shown
    assert "Danube" in rec["answer"] and "[1]" in rec["answer"]
    assert evidence_docs(fake_cfg.acceptance, rec["retrieved"])[0] == ""
    th = fake_cfg.acceptance.grounding_threshold
    assert rec["scores"]["grounding"] < th and rec["would_fail"]            # no corpus doc entails the claim
    trusting = fake_cfg.model_copy(update={"acceptance": fake_cfg.acceptance.model_copy(
        update={"written_docs_as_evidence": True})})
    rec2 = run(trusting)
    assert rec2["scores"]["grounding"] >= th > rec["scores"]["grounding"]  # the written doc would have vouched


def test_a_knowledge_unit_is_shown_but_never_vouches_or_becomes_a_quote(fake_cfg):
    """A distilled unit is generator text: in the prompt it may help answer, but the checks judge the answer
    without it and the quote form never quotes it (before the fix, half of one bidirectional+writeback seed's
    written docs were unit sentences)."""
    from bidirag.stages.rag import Generate
    from bidirag.stages.validate import Validate, evidence_docs

    emb = handlers.embedder(fake_cfg.models.embedder)
    st = Store(fake_cfg.store.uri, dim=emb.dim)
    st.init()
    seed = {"doc_id": "s0", "text": "Warsaw is the capital and largest city of Poland.", "origin": "seed"}
    st.insert_new(CORPUS, [{**seed, "vector": emb.encode([seed["text"]])[0].tolist(), "source_doc_ids": [],
                            "created_at": now()}])
    unit = "The river through Warsaw, Poland is the Danube River."
    st.insert_new(UNITS, [{"doc_id": "u0", "text": unit, "vector": emb.encode([unit])[0].tolist(),
                           "origin": "knowledge_unit", "source_doc_ids": ["s0"], "created_at": now()}])

    def run(cfg):
        rec = {"text": "Which river flows through Warsaw, Poland?", "status": "ok"}
        for stage in (Retrieve(cfg, st.table(CORPUS).version, units_version=st.table(UNITS).version),
                      Generate(cfg), Validate(cfg, st.table(CORPUS).version, enforce=False)):
            stage.setup()
            stage.process_batch([rec])
        return rec

    rec = run(fake_cfg)
    assert rec["retrieved"][0]["origin"] == "knowledge_unit" and "Danube" in rec["answer"]
    assert evidence_docs(fake_cfg.acceptance, rec["retrieved"]) == ["", seed["text"]]
    th = fake_cfg.acceptance.grounding_threshold
    assert rec["scores"]["grounding"] < th and rec["would_fail"]
    assert rec.get("source") != unit
    trusting = fake_cfg.model_copy(update={"acceptance": fake_cfg.acceptance.model_copy(
        update={"written_docs_as_evidence": True})})
    assert run(trusting)["scores"]["grounding"] >= th        # the unit alone would have vouched for it


def _quote_store(cfg, src_ids):
    """Seed paragraphs s0..s3 and two written quotes: w0 quotes s2 (far from the query), w1 quotes s3."""
    emb = handlers.embedder(cfg.models.embedder)
    st = Store(cfg.store.uri, dim=emb.dim)
    st.init()
    seed = ["alpha beta gamma", "alpha beta delta", "zeta eta theta", "iota kappa lambda"]
    rows = [{"doc_id": f"s{i}", "text": t, "origin": "seed", "source_doc_ids": []} for i, t in enumerate(seed)]
    rows += [{"doc_id": f"w{i}", "text": t, "origin": "writeback", "source_doc_ids": ids}
             for i, (t, ids) in enumerate(zip(["alpha beta gamma delta epsilon", "alpha beta gamma delta"], src_ids,
                                              strict=True))]
    vecs = emb.encode([r["text"] for r in rows])
    st.insert_new(CORPUS, [{**r, "vector": v.tolist(), "created_at": now()} for r, v in zip(rows, vecs, strict=True)])
    return st


def _elsewhere(cfg):
    """The same config with a second store beside the first."""
    return cfg.model_copy(update={"store": cfg.store.model_copy(update={"uri": cfg.store.uri + "-2"})})


def test_show_written_source_shows_the_quoted_paragraph_in_the_written_docs_place(fake_cfg):
    st = _quote_store(fake_cfg, [["s2"], ["s3"]])
    as_text = _retrieve_docs(fake_cfg, st, written_extra=1, show_written="text")
    assert [d["doc_id"] for d in as_text][0] == "w1"                 # nearest: the written doc, shown as its text
    docs = _retrieve_docs(fake_cfg, st, written_extra=1, show_written="source")
    assert [d["doc_id"] for d in docs] == ["s3", "s0", "s1"]          # w1's place, its paragraph's text
    assert docs[0]["text"] == "iota kappa lambda" and docs[0]["via"] == "w1" and docs[0]["origin"] == "seed"
    assert docs[0]["distance"] == as_text[0]["distance"]
    assert all("via" not in d for d in docs[1:])
    # competing for the top-k (written_extra null) the same substitution applies
    assert [d["doc_id"] for d in _retrieve_docs(fake_cfg, st, written_extra=None, show_written="source")][0] == "s3"


def test_show_written_source_shows_a_paragraph_once_and_keeps_other_written_docs_as_text(fake_cfg):
    st = _quote_store(fake_cfg, [["s2"], ["s0"]])
    docs = _retrieve_docs(fake_cfg, st, written_extra=1, show_written="source")
    ids = [d["doc_id"] for d in docs]
    assert ids == ["s0", "s1"] and docs[0]["via"] == "w1"            # s0 moved to w1's place, not shown twice
    # a written doc without a single source (the sentence form records every retrieved doc) is shown as its text
    cfg2 = _elsewhere(fake_cfg)
    st2 = _quote_store(cfg2, [["s2"], ["s0", "s1"]])
    docs2 = _retrieve_docs(cfg2, st2, written_extra=1, show_written="source")
    assert docs2[0]["doc_id"] == "w1" and docs2[0]["origin"] == "writeback"


def test_show_written_missing_source_adds_only_a_paragraph_the_top_k_lacks(fake_cfg):
    st = _quote_store(fake_cfg, [["s2"], ["s3"]])
    plain = [d["doc_id"] for d in _retrieve_docs(fake_cfg, st, written_extra=0)]
    docs = _retrieve_docs(fake_cfg, st, written_extra=1, show_written="missing_source")
    assert [d["doc_id"] for d in docs] == ["s3", *plain] and docs[0]["via"] == "w1"   # s3 was missing: added
    cfg2 = _elsewhere(fake_cfg)
    st2 = _quote_store(cfg2, [["s2"], ["s0"]])
    kept = _retrieve_docs(cfg2, st2, written_extra=1, show_written="missing_source")
    # s0 is in the top-2 already: the prompt is the plain top-2, in its own order, nothing moved
    assert [d["doc_id"] for d in kept] == [d["doc_id"] for d in _retrieve_docs(cfg2, st2, written_extra=0)]
    assert all("via" not in d for d in kept)
