"""The focus check: the answer's source against the other retrieved docs' sentences (a question that another doc
answers more closely is probably about that doc's subject), its batching, its edge cases, its config guard and an
epoch that runs it."""

import json

import numpy as np
import pytest

from bidirag import checks
from bidirag.checks.base import CheckContext
from bidirag.checks.focus import competing_sentences, focus_scores
from bidirag.config import load_config
from bidirag.epoch import run_epoch
from bidirag.ingest import ingest
from bidirag.models.fakes import FakeEmbedder
from tests.conftest import ROOT

HEATER = "I bought this heater for my office. It heats a 10 by 12 room easily."
OTHER = "We use this one in the garage. It keeps a 400 square foot room warm all winter long in Ohio."
Q = "What size rooms can this heat in the garage all winter?"


class CountingEmbedder:
    def __init__(self):
        self.fake, self.calls = FakeEmbedder(dim=256), 0

    def __call__(self, texts):
        self.calls += 1
        return self.fake.encode(texts)


def test_a_question_another_doc_answers_more_closely_scores_below_zero_and_its_own_doc_above():
    emb = CountingEmbedder()
    src = "It heats a 10 by 12 room easily."
    mine = "What size room does it heat easily?"
    got = focus_scores(emb, [Q, mine], [src, src], [[HEATER, OTHER], [HEATER, OTHER]])
    assert got[0] < 0 < got[1]
    # the value is the cosine difference with the embedder's own vectors
    v = emb.fake.encode([Q, src, *competing_sentences(src, [HEATER, OTHER])])
    assert got[0] == pytest.approx(float(v[1] @ v[0] - max(v[2:] @ v[0])), abs=1e-5)
    assert emb.calls == 2        # questions once, every source and competing sentence of the batch once


def test_competitors_exclude_the_sources_own_doc_and_blank_written_docs():
    src = "It heats a 10 by 12 room easily."
    assert competing_sentences(src, [HEATER, "", OTHER]) == ["We use this one in the garage.",
                                                             "It keeps a 400 square foot room warm all winter "
                                                             "long in Ohio."]
    # a source spanning two adjacent sentences still names its doc
    pair = "I bought this heater for my office. It heats a 10 by 12 room easily."
    assert competing_sentences(pair, [OTHER, HEATER]) == competing_sentences(src, [HEATER, OTHER])


def test_no_competitor_passes_and_no_source_is_neutral_without_calling_the_embedder():
    emb = CountingEmbedder()
    assert focus_scores(emb, [Q, Q], [None, None], [[HEATER], [HEATER]]) == [0.0, 0.0]
    assert emb.calls == 0
    got = focus_scores(emb, [Q, Q], ["It heats a 10 by 12 room easily.", None], [[HEATER, ""], [HEATER]])
    assert got == [1.0, 0.0]


def _ctx(emb, nli, texts):
    return CheckContext(records=[{} for _ in texts], queries=[Q] * len(texts), answers=texts, texts=texts,
                        sentences=[[t] for t in texts], docs=[[HEATER, OTHER]] * len(texts), cited=[[]] * len(texts),
                        acceptance=None, nli=nli, embed=emb)


def test_the_check_reads_the_source_check_pick_and_finds_it_itself_in_the_same_nli_call_without_it():
    from tests.test_source import WordNLI

    emb, nli = CountingEmbedder(), WordNLI()
    texts = ["It heats a 10 by 12 room easily.", "It keeps a 400 square foot room warm all winter long in Ohio."]
    with_source = _ctx(emb, nli, texts)
    src, foc = checks.get("source"), checks.get("focus")
    src.request(with_source)
    foc.request(with_source)
    with_source.run_nli()
    src.score(with_source)
    a = foc.score(with_source)
    assert nli.calls == 1 and [r["source"] for r in with_source.records] == texts
    alone = _ctx(emb, nli, texts)              # saved answers scored by focus only (add_scores, calibration)
    foc.request(alone)
    alone.run_nli()
    assert foc.score(alone) == pytest.approx(a) and nli.calls == 2
    assert a[0] < 0 < a[1]          # the garage question is answered by the other doc's sentence


def _cfg(tmp_path, *extra):
    return load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml", overrides=[
        f"store.uri={tmp_path / 'store'}", f"run.runs_dir={tmp_path / 'runs'}", "writeback.mode=bidirectional",
        *extra])


def test_focus_listed_before_source_is_refused_with_the_fix(tmp_path):
    cfg = _cfg(tmp_path, "acceptance.checks=[grounding, focus, source]")
    with pytest.raises(ValueError, match="list `source` before `focus`"):
        checks.get("focus").validate(cfg)
    checks.get("focus").validate(_cfg(tmp_path, "acceptance.checks=[grounding, source, focus]"))
    checks.get("focus").validate(_cfg(tmp_path, "acceptance.checks=[grounding, focus]"))


def test_an_epoch_with_focus_scores_every_generated_record_and_rejects_below_its_threshold(tmp_path, corpus_file,
                                                                                        query_log):
    names = "[query_safety, answerable, content, relevance, grounding, attribution, novelty, source, focus]"
    cfg = _cfg(tmp_path, f"acceptance.checks={names}", "acceptance.focus_threshold=0.3")
    ingest(cfg, corpus_file, progress=False)
    run_epoch(cfg, query_log, run_name="x", progress=False)
    vs = [json.loads(x) for x in next((tmp_path / "runs").glob("x/epoch-*/verdicts.jsonl")).read_text().splitlines()]
    scored = [v for v in vs if "focus" in (v.get("scores") or {})]
    assert scored, "the fake pipeline should reach the focus check"
    for v in scored:
        f = v["scores"]["focus"]
        assert -2 <= f <= 1 and np.isfinite(f)
        if v.get("written"):
            assert f >= 0.3
    low = [v for v in scored if v["scores"]["focus"] < 0.3]
    assert all(not v.get("written") and v.get("would_fail") for v in low)
    assert any(v["would_fail"] == "focus" for v in low), "a record only focus rejects names it as the reason"
