"""The source check and the quote write-back form: the premise that best entails the answer (a sentence before an
adjacent pair on ties, never a blanked written doc), the doc layout and its gold-rule claim, the config guard,
calibration's view of the written doc, and an epoch that writes only questions with verbatim corpus sentences."""

import json

import numpy as np

from bidirag import checks
from bidirag.checks.source import best_sources, quote_claim, quote_doc
from bidirag.config import load_config
from bidirag.epoch import run_epoch
from bidirag.evaluation.calibrate import calibrate
from bidirag.evaluation.harness import add_quote
from bidirag.evaluation.metrics import pollution
from bidirag.ingest import ingest
from bidirag.store import CORPUS, Store
from bidirag.text import doc_sentences
from tests.conftest import ROOT

DOCS = ["The Eiffel Tower opened in 1889 for the World's Fair. It was designed by the company of Gustave Eiffel.",
        "The tower is 330 metres tall. Paris hosted the fair in 1889 as well."]
Q = "In which year did the Eiffel Tower open?"


class WordNLI:
    """P(entail) = share of the hypothesis's words found in the premise (a stand-in with an obvious answer)."""

    def __init__(self):
        self.calls = 0

    def predict(self, pairs):
        self.calls += 1
        out = np.zeros((len(pairs), 3), np.float32)
        for i, (p, h) in enumerate(pairs):
            hw = set(h.lower().strip(".").split())
            out[i, 1] = len(hw & set(p.lower().strip(".").split())) / max(len(hw), 1)
        return out


def test_the_source_is_the_premise_that_best_entails_the_whole_answer_in_one_call():
    nli = WordNLI()
    got = best_sources(nli, ["The tower is 330 metres tall.", "It was designed by the company of Gustave Eiffel.",
                             ""], [DOCS, DOCS, DOCS])
    assert nli.calls == 1
    assert got[0] == ("The tower is 330 metres tall.", 1.0)
    # the pair that holds the sentence entails as well: the single sentence comes first and wins the tie
    assert got[1][0] == "It was designed by the company of Gustave Eiffel." and got[1][1] == 1.0
    assert got[2] == (None, 0.0)                                      # no answer, no source


def test_an_answer_spread_over_two_adjacent_sentences_gets_the_pair_and_a_written_doc_is_never_a_source():
    src, p = best_sources(WordNLI(), ["Opened in 1889 and designed by the company of Gustave Eiffel"], [DOCS])[0]
    assert src == DOCS[0] and p > 0.9
    assert best_sources(WordNLI(), ["The tower is 330 metres tall."], [["", ""]]) == [(None, 0.0)]
    # sentences of two different docs are never joined into one premise
    src, _ = best_sources(WordNLI(), ["It was designed by Eiffel; the tower is 330 metres tall."], [DOCS])[0]
    assert src in doc_sentences(DOCS[0]) + doc_sentences(DOCS[1]) + [DOCS[0], DOCS[1]]


def test_the_quote_doc_and_its_claim_for_the_gold_rule():
    doc = quote_doc("  In which year  did it open? ", "The Eiffel Tower opened in 1889 for the World's Fair.")
    assert doc == "Question: In which year did it open?\nSource: The Eiffel Tower opened in 1889 for the World's Fair."
    assert quote_claim(doc) == "The Eiffel Tower opened in 1889 for the World's Fair."
    assert checks.written_claim(doc) == quote_claim(doc) and quote_claim("The tower opened in 1889.") is None
    # the question line is not the claim: a gold answer only there does not count
    q_only = quote_doc("Did it open in 1889?", "The tower is 330 metres tall.")
    assert pollution([{"text": q_only, "query_id": "q"}], {"q": ["1889"]})["polluting"] == 1
    assert pollution([{"text": doc, "query_id": "q"}], {"q": ["1889"]})["polluting"] == 0


def test_calibration_judges_the_quote_the_form_would_write():
    v = {"query_id": "q", "answer": "It opened in 1890 [1].", "scores": {"trust": 0.95}, "text": Q,
         "source": "The Eiffel Tower opened in 1889 for the World's Fair."}
    assert calibrate([dict(v)], {"q": ["1889"]}, {"trust": 0.9}, sweep="trust")["table"][0]["precision"] == 0.0
    vs = [dict(v), dict(v, query_id="r", source=None)]
    add_quote(None, vs, None)          # every verdict has its source: no NLI, no store read
    assert vs[0]["written"] == quote_doc(Q, v["source"]) and vs[1]["written"] is None
    assert calibrate(vs[:1], {"q": ["1889"]}, {"trust": 0.9}, sweep="trust")["table"][0]["precision"] == 1.0


QUOTE = ("writeback.form=quote", "acceptance.checks=[query_safety, answerable, premise, question_detail, content, "
         "complete, opinion, relevance, grounding, attribution, novelty, source, trust]")


def _cfg(tmp_path, *extra):
    return load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml", overrides=[
        f"store.uri={tmp_path / 'store'}", f"run.runs_dir={tmp_path / 'runs'}", "writeback.mode=bidirectional",
        *extra])


def test_quote_form_is_the_default_and_finds_its_source_without_the_check(tmp_path, corpus_file, query_log):
    assert "source" in checks.registered()
    # the default (measured on the decision pools: quotes read correct far more often than the same answers' wording)
    default = _cfg(tmp_path)
    assert default.writeback.form == "quote" and "source" in default.acceptance.checks
    assert default.acceptance.checks.index("source") < default.acceptance.checks.index("trust")
    # without the source check listed, the quote form still writes verbatim sources (found, not gated)
    cfg = _cfg(tmp_path, "acceptance.checks=[grounding, attribution, novelty]")
    ingest(cfg, corpus_file, progress=False)
    corpus = Store.from_config(cfg.store, cfg.models.embedder.dim).table(CORPUS).to_arrow().column("text").to_pylist()
    run_epoch(cfg, query_log, run_name="x", progress=False)
    rows = [r for r in Store.from_config(cfg.store, cfg.models.embedder.dim).table(CORPUS).to_arrow().to_pylist()
            if r["origin"] == "writeback"]
    assert rows and all(r["text"] in set(checks.sentence_premises(corpus)) for r in rows)


def test_a_quote_epoch_writes_a_verbatim_corpus_sentence_indexed_with_its_question(tmp_path, corpus_file, query_log):
    cfg = _cfg(tmp_path, *QUOTE)
    ingest(cfg, corpus_file, progress=False)
    corpus = Store.from_config(cfg.store, cfg.models.embedder.dim).table(CORPUS).to_arrow().column("text").to_pylist()
    premises = set(checks.sentence_premises(corpus))
    run_epoch(cfg, query_log, run_name="x", progress=False)
    rows = [r for r in Store.from_config(cfg.store, cfg.models.embedder.dim).table(CORPUS).to_arrow().to_pylist()
            if r["origin"] == "writeback"]
    assert rows, "the fake models should write some quote docs"
    verdicts = {json.loads(x)["query_id"]: json.loads(x) for x in
                next((tmp_path / "runs").glob("x/epoch-*/verdicts.jsonl")).read_text().splitlines()}
    emb = __import__("bidirag.stages.rag", fromlist=["load_embedder"]).load_embedder(cfg)
    seed = {r["doc_id"]: r["text"] for r in Store.from_config(cfg.store, cfg.models.embedder.dim).table(CORPUS)
            .to_arrow().to_pylist() if r["origin"] != "writeback"}
    for r in rows:
        # its one source doc is the corpus paragraph that has the quote as a sentence (or two adjacent ones)
        assert len(r["source_doc_ids"]) == 1 and r["text"] in checks.sentence_premises([seed[r["source_doc_ids"][0]]])
        # the text is the corpus sentence verbatim; the question is the row's query and part of the vector only
        assert r["text"] in premises and "Question:" not in r["text"]
        assert verdicts[r["query_id"]]["source"] == r["text"]
        assert verdicts[r["query_id"]]["scores"]["source"] >= cfg.acceptance.source_threshold
        assert np.allclose(r["vector"], emb.encode([quote_doc(r["query"], r["text"])])[0], atol=1e-5)


def test_source_doc_names_the_doc_that_has_the_quote():
    from bidirag.checks.source import source_doc
    docs = ["", "Paris is in France. The Eiffel Tower opened in 1889.", "The Eiffel Tower opened in 1889."]
    assert source_doc("The Eiffel Tower opened in 1889.", docs) == 1          # the first that has it
    assert source_doc("Paris is in France. The Eiffel Tower opened in 1889.", docs) == 1   # an adjacent pair
    assert source_doc("The Eiffel Tower opened in 1890.", docs) is None
    assert source_doc("Paris is in France.", ["", ""]) is None                # blanked (written) docs have nothing


def test_calibration_finds_the_source_where_the_check_did_not_run(tmp_path):
    """Design answers scored before the source check existed: add_quote finds their sources (one NLI call)."""
    cfg = _cfg(tmp_path)
    vs = [{"query_id": "a", "text": Q, "answer": "The Eiffel Tower opened in 1889 [1].", "docs": DOCS,
           "scores": {"trust": 0.95}},
          {"query_id": "b", "text": Q, "answer": "It opened in 1889.", "docs": ["", ""], "scores": {"trust": 0.95}}]
    add_quote(cfg, vs, tmp_path / "unused-store")
    assert vs[0]["written"].startswith(f"Question: {Q}\nSource: ")
    assert quote_claim(vs[0]["written"]) in checks.sentence_premises(DOCS)
    assert vs[1]["source"] is None and vs[1]["written"] is None          # only blanked written docs: no source


def test_source_and_grounding_share_one_nli_call_even_when_some_items_have_no_pair():
    from bidirag.checks.base import CheckContext

    nli = WordNLI()
    texts = ["The tower is 330 metres tall.", "", "It was designed by Gustave Eiffel."]
    docs = [DOCS, DOCS, ["", ""]]
    ctx = CheckContext(records=[{} for _ in texts], queries=[Q] * 3, answers=texts, texts=texts,
                       sentences=[[t] if t else [] for t in texts], docs=docs, cited=[[], [], []], acceptance=None,
                       nli=nli)
    src = checks.get("source")
    ctx.request_nli("grounding", [(s, d) for s, d in zip(ctx.sentences, docs, strict=True)])
    src.request(ctx)
    ctx.run_nli()
    assert nli.calls == 1
    assert src.score(ctx) == [1.0, 0.0, 0.0] and [r["source"] for r in ctx.records][1:] == [None, None]
    # nothing for grounding to pair (all docs blank or no sentence), nothing for source: no call, no error
    empty = CheckContext(records=[{}], queries=[Q], answers=[""], texts=[""], sentences=[[]], docs=[["", ""]],
                         cited=[[]], acceptance=None, nli=nli)
    empty.request_nli("grounding", [([], ["", ""])])
    src.request(empty)
    empty.run_nli()
    assert src.score(empty) == [0.0] and nli.calls == 1
