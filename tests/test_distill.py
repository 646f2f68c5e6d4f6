"""WriteBack-RAG: gates on hand-built cases, the corpus+units merge, and an end-to-end run with fakes."""

import json

import numpy as np

from bidirag.distill import run_distill
from bidirag.ingest import ingest
from bidirag.stages.distill import DocumentGate, UtilityGate
from bidirag.stages.rag import Retrieve
from bidirag.store import CORPUS, UNITS, Store, now
from tests.conftest import write_log


class Scripted:
    """Answers by rule: with no docs it does not know; with docs it repeats the first doc's first word."""

    def generate(self, prompts):
        return [f"According to [1], {p.docs[0].split()[0]}." if p.docs else "I do not know." for p in prompts]


def _rec(q, answers, docs):
    return {"text": q, "answers": answers, "status": "ok",
            "retrieved": [{"doc_id": f"d{i}", "text": t, "distance": 0.1 * i} for i, t in enumerate(docs)]}


def test_utility_gate_keeps_only_examples_retrieval_helps(fake_cfg):
    gate = UtilityGate(fake_cfg)
    gate._gen = Scripted()
    helped = _rec("capital?", ["Paris"], ["Paris is the capital.", "Lyon is a city."])
    useless = _rec("capital?", ["Paris"], ["Lyon is a city.", "Paris is the capital."])
    gate.process_batch([helped, useless])
    assert helped["status"] == "ok" and helped["utility"] == {"without": 0.0, "with": 1.0, "gain": 1.0}
    assert useless["status"] == "rejected" and useless["failed_check"] == "utility"


def test_document_gate_keeps_helpful_docs_or_falls_back_to_top_two(fake_cfg):
    gate = DocumentGate(fake_cfg)
    gate._gen = Scripted()
    one = _rec("q", ["Paris"], ["Lyon a.", "Paris b.", "Nice c."])
    none = _rec("q", ["Paris"], ["Lyon a.", "Nice b.", "Metz c."])
    for r in (one, none):
        r["utility"] = {"without": 0.0, "with": 1.0, "gain": 1.0}
    gate.process_batch([one, none])
    assert [d["doc_id"] for d in one["kept"]] == ["d1"] and not one["doc_gate_fallback"]
    assert [d["doc_id"] for d in none["kept"]] == ["d0", "d1"] and none["doc_gate_fallback"]
    assert one["doc_scores"] == [0.0, 1.0, 0.0]


def test_retrieval_merges_corpus_and_units_into_one_top_k(fake_cfg):
    from bidirag.models import handlers

    emb = handlers.embedder(fake_cfg.models.embedder)
    st = Store(fake_cfg.store.uri, dim=emb.dim)
    st.init()
    texts = ["alpha beta gamma", "delta epsilon", "zeta eta theta"]
    vecs = emb.encode(texts[:2])
    st.insert_new(CORPUS, [{"doc_id": f"c{i}", "text": texts[i], "vector": v.tolist(), "origin": "seed",
                            "source_doc_ids": [], "created_at": now()} for i, v in enumerate(vecs)])
    unit_vec = emb.encode(["alpha beta gamma delta"])[0]
    st.insert_new(UNITS, [{"doc_id": "u0", "text": "alpha beta gamma delta", "vector": unit_vec.tolist(),
                           "origin": "knowledge_unit", "source_doc_ids": ["c0"], "created_at": now()}])
    cfg = fake_cfg.model_copy(update={"retrieval": fake_cfg.retrieval.model_copy(update={"top_k": 2})})
    stage = Retrieve(cfg, st.table(CORPUS).version, units_version=st.table(UNITS).version)
    stage.setup()
    rec = {"text": "alpha beta gamma delta", "status": "ok"}
    stage.process_batch([rec])
    assert [d["doc_id"] for d in rec["retrieved"]] == ["u0", "c0"]
    assert np.all(np.diff([d["distance"] for d in rec["retrieved"]]) >= 0)
    off = cfg.model_copy(update={"retrieval": cfg.retrieval.model_copy(update={"use_units": False})})
    stage = Retrieve(off, st.table(CORPUS).version, units_version=st.table(UNITS).version)
    stage.setup()
    rec = {"text": "alpha beta gamma delta", "status": "ok"}
    stage.process_batch([rec])
    assert "u0" not in [d["doc_id"] for d in rec["retrieved"]]


def test_distill_end_to_end_writes_a_tagged_unit_version_and_leaves_the_corpus(fake_cfg, corpus_file, tmp_path,
                                                                              monkeypatch):
    from bidirag.models.fakes import FakeGenerator

    seen = []
    orig = FakeGenerator.complete

    def spy(self, conversations, prefix=""):
        seen.extend(json.dumps(c) for c in conversations)
        return orig(self, conversations, prefix)

    monkeypatch.setattr(FakeGenerator, "complete", spy)
    ingest(fake_cfg, corpus_file, progress=False)
    corpus_v = Store(fake_cfg.store.uri, dim=384).table(CORPUS).version
    ex = write_log(tmp_path / "ex.jsonl", [
        {"query_id": "e1", "question": "Which river flows through Warsaw?", "answers": ["Vistula", "GOLDMARKER"]},
        {"query_id": "e2", "question": "Who defeated the Carolina Panthers in Super Bowl 50?",
         "answers": ["Denver Broncos"]},
        {"query_id": "e3", "question": "no answers here"},
    ])
    cfg = fake_cfg.model_copy(update={"distill": fake_cfg.distill.model_copy(update={"scorer": "contains"})})
    rep = run_distill(cfg, ex, run_name="d", progress=False)
    st = Store(cfg.store.uri, dim=384)
    assert rep["examples"] == 2 and rep["dead_lettered"] == 1
    assert st.table(CORPUS).version == corpus_v
    units = st.table(UNITS).to_arrow().to_pylist()
    assert len(units) == rep["written"] >= 1
    assert st.table(UNITS).tags.list()["units-1"]["version"] == rep["units_version"]
    for u in units:
        assert u["example_id"] in {"e1", "e2"} and u["source_doc_ids"] and u["grounding"] >= 0.65
    assert seen and not any("GOLDMARKER" in c for c in seen)      # the distiller never sees gold answers
    again = run_distill(cfg, ex, run_name="d2", progress=False)     # nothing new: novelty vs existing units
    assert again["written"] == 0 and again["rejected_by_check"]["novelty"] == rep["written"]
    st.drop(UNITS)
    assert st.table(CORPUS).version == corpus_v and st.table(UNITS).count_rows() == 0


def test_quote_form_units_are_verbatim_corpus_sentences(fake_cfg, corpus_file, tmp_path):
    """(With distill.form: rewrite the same run stores the fake distiller's own wording, which fails this.)"""
    from bidirag.text import doc_sentences

    ingest(fake_cfg, corpus_file, progress=False)
    corpus = Store(fake_cfg.store.uri, dim=384).table(CORPUS).to_arrow().column("text").to_pylist()
    sentences = {s for d in corpus for s in doc_sentences(d)}
    ex = write_log(tmp_path / "ex.jsonl", [
        {"query_id": "e1", "question": "Which river flows through Warsaw?", "answers": ["Vistula"]},
        {"query_id": "e2", "question": "Who defeated the Carolina Panthers in Super Bowl 50?",
         "answers": ["Denver Broncos"]}])
    assert fake_cfg.distill.form == "quote"            # the default
    cfg = fake_cfg.model_copy(update={"distill": fake_cfg.distill.model_copy(update={"scorer": "contains"})})
    rep = run_distill(cfg, ex, run_name="q", progress=False)
    units = Store(cfg.store.uri, dim=384).table(UNITS).to_arrow().column("text").to_pylist()
    assert units and len(units) == rep["written"]
    assert all(set(doc_sentences(u)) <= sentences for u in units)


def test_quote_form_rejects_a_passage_no_kept_sentence_entails(fake_cfg):
    import numpy as np

    from bidirag.stages.distill import UnitCheck

    class NoNLI:
        def predict(self, pairs):
            out = np.zeros((len(pairs), 3), np.float32)
            for i, (p, h) in enumerate(pairs):
                out[i, 1] = 1.0 if "Vistula" in p and "Vistula" in h else 0.0
            return out

    stage = UnitCheck.__new__(UnitCheck)
    stage.cfg, stage._nli = fake_cfg, NoNLI()
    kept = [{"text": "Warsaw lies on the Vistula River. It is the capital of Poland."}]
    recs = [{"text": "q1", "unit": "The Vistula flows through Warsaw. Warsaw is old.", "kept": kept, "status": "ok"},
            {"text": "q2", "unit": "Kraków was the capital until 1596.", "kept": kept, "status": "ok"}]
    left = stage._quote(recs)
    assert left == [recs[0]] and recs[0]["unit"] == "Warsaw lies on the Vistula River."
    assert recs[0]["distilled"] == "The Vistula flows through Warsaw. Warsaw is old."
    assert recs[1]["status"] != "ok" and "no kept sentence" in recs[1]["reason"]
