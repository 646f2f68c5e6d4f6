"""The answer_span check and the extractive write-back form: the source sentence it finds (a whole phrase, the
question's words, no restatement, never a written doc), the doc layout and its gold-rule claim, the config
guard, and an epoch that writes only extractive docs whose source sentences are verbatim corpus sentences."""

import json

import pytest

from bidirag import checks
from bidirag.checks.answer_span import extractive_doc, short_span, source_sentence, written_claim
from bidirag.config import ConfigError, load_config
from bidirag.epoch import run_epoch
from bidirag.evaluation.calibrate import calibrate
from bidirag.evaluation.metrics import pollution
from bidirag.ingest import ingest
from bidirag.store import CORPUS, Store
from bidirag.text import doc_sentences
from tests.conftest import ROOT

DOCS = ["The Eiffel Tower opened in 1889 for the World's Fair. It was designed by the company of Gustave Eiffel.",
        "The tower is 330 metres tall. Paris hosted the fair in 1889 as well."]
Q = "In which year did the Eiffel Tower open?"


def test_the_source_is_the_sentence_holding_the_span_and_most_question_words():
    assert source_sentence(Q, "1889.", DOCS) == "The Eiffel Tower opened in 1889 for the World's Fair."
    # a lead-in, citations and quotes around the short answer do not matter
    assert source_sentence(Q, 'According to [1], "1889"', DOCS) == DOCS[0].split(" It ")[0]
    assert short_span(' "1889." ') == "1889"


def test_no_source_for_a_non_span_a_part_word_a_restatement_or_a_yes():
    assert source_sentence(Q, "1890", DOCS) is None                     # not in any sentence
    assert source_sentence(Q, "188", DOCS) is None                      # a whole phrase only, not part of a word
    assert source_sentence(Q, "the Eiffel Tower", DOCS) is None          # only the question's own words
    assert source_sentence("Did the Eiffel Tower open in 1889?", "Yes", DOCS) is None
    assert source_sentence(Q, "", DOCS) is None and source_sentence(Q, None, DOCS) is None
    # the span is there, but in a sentence that shares fewer than two of the question's content words
    assert source_sentence("Which architect drew the tower's first sketch?", "330 metres", DOCS) is None


def test_a_blanked_written_doc_is_never_a_source():
    assert source_sentence(Q, "1889", ["", "The Eiffel Tower opened in 1889."]) == "The Eiffel Tower opened in 1889."
    assert source_sentence(Q, "1889", ["", ""]) is None


def test_the_extractive_doc_and_its_claim_for_the_gold_rule():
    doc = extractive_doc(Q, "1889.", DOCS)
    assert doc == f"Question: {Q}\nAnswer: 1889\nSource: The Eiffel Tower opened in 1889 for the World's Fair."
    assert written_claim(doc) == "1889"
    assert written_claim("The tower opened in 1889.") == "The tower opened in 1889."
    # the gold rule reads the claim only: a gold answer in the source sentence alone does not count
    wrong = "Question: Who designed the tower?\nAnswer: 1889\nSource: It was designed by Gustave Eiffel's company."
    assert pollution([{"text": wrong, "query_id": "q"}], {"q": ["Gustave Eiffel"]})["polluting"] == 1
    assert pollution([{"text": doc, "query_id": "q"}], {"q": ["1889"]})["polluting"] == 0


def test_calibration_judges_the_extractive_doc_when_one_is_given():
    v = {"query_id": "q", "answer": "It opened in 1889 [1].", "scores": {"trust": 0.95}, "text": Q}
    base = calibrate([dict(v)], {"q": ["1889"]}, {"trust": 0.9}, sweep="trust")
    assert base["table"][0]["precision"] == 1.0
    # written as an extractive doc whose answer line is wrong: the source sentence's 1889 does not count
    w = dict(v, written="Question: q?\nAnswer: 1890\nSource: It opened in 1889.")
    assert calibrate([w], {"q": ["1889"]}, {"trust": 0.9}, sweep="trust")["table"][0]["precision"] == 0.0


EXTRACTIVE = ("writeback.form=extractive", "acceptance.checks=[query_safety, answerable, premise, question_detail, "
              "content, complete, opinion, relevance, grounding, attribution, novelty, answer_span, trust]")


def _cfg(tmp_path, *extra):
    return load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml", overrides=[
        f"store.uri={tmp_path / 'store'}", f"run.runs_dir={tmp_path / 'runs'}", "writeback.mode=bidirectional",
        *extra])


def test_extractive_form_needs_the_answer_span_check(tmp_path):
    with pytest.raises(ConfigError, match="answer_span"):
        _cfg(tmp_path, "writeback.form=extractive", "acceptance.checks=[grounding, novelty]")
    # opt-in: registered, not in the default order (measured on the calibrate split: no value at trust >= 0.9)
    assert "answer_span" in checks.registered() and "answer_span" not in _cfg(tmp_path).acceptance.checks
    assert _cfg(tmp_path).writeback.form != "extractive"


def test_an_extractive_epoch_writes_question_answer_and_a_verbatim_corpus_sentence(tmp_path, corpus_file, query_log):
    cfg = _cfg(tmp_path, *EXTRACTIVE)
    ingest(cfg, corpus_file, progress=False)
    corpus_sents = {s for r in Store.from_config(cfg.store, cfg.models.embedder.dim).table(CORPUS).to_arrow()
                    .column("text").to_pylist() for s in doc_sentences(r)}
    run_epoch(cfg, query_log, run_name="x", progress=False)
    rows = [r for r in Store.from_config(cfg.store, cfg.models.embedder.dim).table(CORPUS).to_arrow().to_pylist()
            if r["origin"] == "writeback"]
    assert rows, "the fake models should write some extractive docs"
    verdicts = {json.loads(x)["query_id"]: json.loads(x) for x in
                next((tmp_path / "runs").glob("x/epoch-*/verdicts.jsonl")).read_text().splitlines()}
    for r in rows:
        q, a, s = r["text"].split("\n")
        assert q == f"Question: {' '.join(r['query'].split())}" and a.startswith("Answer: ")
        assert s.removeprefix("Source: ") in corpus_sents
        assert a.removeprefix("Answer: ") == short_span(verdicts[r["query_id"]]["short_answer"])
    # the sentence form of the same run writes the generator's answers instead
    cfg2 = _cfg(tmp_path, f"store.uri={tmp_path / 'store2'}", "writeback.form=sentence")
    ingest(cfg2, corpus_file, progress=False)
    run_epoch(cfg2, query_log, run_name="y", progress=False)
    rows2 = [r for r in Store.from_config(cfg2.store, cfg2.models.embedder.dim).table(CORPUS).to_arrow().to_pylist()
             if r["origin"] == "writeback"]
    assert rows2 and not any(r["text"].startswith("Question: ") for r in rows2)


def test_the_self_check_never_reads_a_written_doc(tmp_path):
    from bidirag.stages.rag import Generate

    cfg = _cfg(tmp_path)
    gen = Generate(cfg)
    gen.setup()
    written = {"doc_id": "w", "text": "The Eiffel Tower opened in 1890 to the public.", "origin": "writeback"}
    corpus = {"doc_id": "c", "text": "The Eiffel Tower opened in 1889 for the World's Fair.", "origin": None}
    r = {"query_id": "q", "text": Q, "retrieved": [written, corpus], "status": "ok"}
    gen.process_active([r])
    # the fake self-check answers from the first evidence sentence sharing a word with the question: the written
    # doc's sentence comes first, but it is blanked for the judge
    assert r["short_answer"] and "1890" not in r["short_answer"] and "World's Fair" in r["short_answer"]
    cfg2 = _cfg(tmp_path, "acceptance.written_docs_as_evidence=true")
    gen2 = Generate(cfg2)
    gen2.setup()
    r2 = {**r, "retrieved": [written, corpus]}
    gen2.process_active([r2])
    assert "public" in r2["short_answer"]
