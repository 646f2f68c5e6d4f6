"""The generator's self-check (a short extractive second answer and its agreement with the full answer): evidence
picking, the agreement measure, the batched/memoised re-answer call, the Generate stage wiring, the trust check's
use of it, and the back-fill of labeled answer files."""

import gzip
import json

import numpy as np
import pytest

from bidirag.checks.trust import load_model
from bidirag.config import load_config
from bidirag.epoch import run_epoch
from bidirag.ingest import ingest
from bidirag.models.generator import ChatGenerator, reanswer_conversation
from bidirag.text import judge_evidence
from tests.conftest import ROOT

DOCS = ["The tower was finished in 1889. Its designer was Gustave Eiffel's company. It is 330 metres tall.",
        "Paris hosted a world fair that year. The fair drew 32 million visitors."]


def test_evidence_holds_the_question_sentences_and_the_answer_sentence_in_retrieval_order():
    ev = judge_evidence("When was the tower finished?", "The fair drew 32 million visitors.", DOCS, k=1)
    # the best question match, then the sentence holding the answer's new words, in the docs' order
    assert ev == "The tower was finished in 1889. The fair drew 32 million visitors."
    assert judge_evidence("q", "a", []) == ""
    assert judge_evidence("When was the tower finished?", "In 1889.", DOCS, k=3).count(".") == 3


class _Tok:
    def apply_chat_template(self, msgs, tokenize, add_generation_prompt):
        return "|".join(m["content"] for m in msgs)


def _cfg(tmp_path, *extra, store="store"):
    return load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml", overrides=[
        f"store.uri={tmp_path / store}", f"run.runs_dir={tmp_path / 'runs'}", "writeback.mode=bidirectional",
        *extra])


def _verdicts(tmp_path, run):
    path = next((tmp_path / "runs").glob(f"{run}/epoch-*/verdicts.jsonl"))
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_generate_stage_records_the_self_check_only_when_enabled(tmp_path, corpus_file, query_log):
    cfg = _cfg(tmp_path)
    ingest(cfg, corpus_file, progress=False)
    run_epoch(cfg, query_log, run_name="on", progress=False)
    checked = [v for v in _verdicts(tmp_path, "on") if v.get("short_answer")]
    assert checked and all({"agree", "exact", "lp_min"} <= set(v["confidence"]) for v in checked)
    assert any(v["confidence"]["agree"] > 0 for v in checked)
    cfg = _cfg(tmp_path, "models.generator.self_check=false", "acceptance.checks=[answerable, grounding, novelty]",
               store="store2")
    ingest(cfg, corpus_file, progress=False)
    run_epoch(cfg, query_log, run_name="off", progress=False)
    off = _verdicts(tmp_path, "off")
    assert off and not any("agree" in (v.get("confidence") or {}) or v.get("short_answer") for v in off)


def _judge_model(tmp_path):
    p = tmp_path / "m.json"
    p.write_text(json.dumps({"features": ["conf:agree"], "mean": [0.5], "std": [0.25], "coef": [1.0],
                             "intercept": 0.0}))
    load_model.cache_clear()
    return p


def test_trust_reads_the_self_check_and_names_the_setting_it_needs(tmp_path, corpus_file, query_log):
    m = _judge_model(tmp_path)
    cfg = _cfg(tmp_path, "acceptance.checks=[answerable, grounding, novelty, trust]", f"acceptance.trust_model={m}",
               "acceptance.trust_threshold=0.5")
    ingest(cfg, corpus_file, progress=False)
    run_epoch(cfg, query_log, run_name="t", progress=False)
    scored = [v for v in _verdicts(tmp_path, "t") if "trust" in (v.get("scores") or {})]
    assert scored and all(abs(v["scores"]["trust"] - 1 / (1 + np.exp(-(v["confidence"]["agree"] - 0.5) / 0.25)))
                          < 1e-3 for v in scored)
    off = _cfg(tmp_path, "acceptance.checks=[answerable, grounding, novelty, trust]", f"acceptance.trust_model={m}",
               "models.generator.self_check=false", store="store2")
    ingest(off, corpus_file, progress=False)
    with pytest.raises(ValueError, match="self_check"):
        run_epoch(off, query_log, run_name="x", progress=False)


def test_self_check_data_backfills_and_resumes(tmp_path):
    from bidirag.training import self_check_data

    rows = [{"query_id": f"q{i}", "question": f"When was tower {i} finished?", "clean_text": "It was in 1889.",
             "docs": DOCS, "scores": {"grounding": 0.5}, "correct": i % 2 == 0, "gold_paragraph": "squad:T#0",
             "confidence": None} for i in range(5)]
    src = tmp_path / "a.answers.jsonl.gz"
    with gzip.open(src, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    out = tmp_path / "b.answers.jsonl.gz"
    fake = ["models.generator.backend=fake"]
    first = self_check_data.add_self_check([str(src)], out, fake, batch=2, progress=False)
    assert first["checked_now"] == 5
    written = [json.loads(x) for x in gzip.open(out, "rt")]
    assert [r["query_id"] for r in written] == [r["query_id"] for r in rows]
    assert all(isinstance(r["confidence"]["agree"], float) and r["short_answer"] for r in written)
    with gzip.open(out, "wt") as fh:               # an interrupted run: two rows done, then a cut line
        fh.writelines(json.dumps(r) + "\n" for r in written[:2])
        fh.write('{"query_id": "q2", "short_ans')
    again = self_check_data.add_self_check([str(src)], out, fake, batch=2, progress=False)
    assert again["checked_now"] == 3
    assert [json.loads(x) for x in gzip.open(out, "rt")] == written


def test_agreement_counts_the_short_answers_new_words_found_in_the_full_answer():
    from bidirag.text import answer_agreement

    q = "Who granted Newcastle a new charter in 1589?"
    assert answer_agreement(q, "Elizabeth", "Elizabeth granted Newcastle a new charter in 1589.") == \
        {"agree": 1.0, "exact": 1.0}
    swapped = answer_agreement(q, "Queen Elizabeth", "Henry II granted Newcastle a new charter in 1589.")
    assert swapped == {"agree": 0.0, "exact": 0.0}
    partial = answer_agreement(q, "Queen Elizabeth", "Elizabeth granted it.")
    assert partial["agree"] == 0.5 and partial["exact"] == 0.0
    assert answer_agreement(q, "", "Anything.")["exact"] == 0.0          # no short answer is no agreement
    assert answer_agreement(q, "Newcastle", "Newcastle.")["agree"] == 1.0  # only question words: nothing to miss


class Reanswering(ChatGenerator):
    def _load(self):
        pass

    def _decode(self, texts):
        self.calls.append((list(texts), self.max_new_tokens, self.stop_at_first_sentence))
        return [f"  phrase {len(t)}\n" for t in texts]


def test_reanswer_is_short_batched_memoised_and_restores_the_answer_settings():
    g = Reanswering("/nonexistent/model", max_new_tokens=48, stop_at_first_sentence=True)
    g._tok, g.calls = _Tok(), []
    out = g.reanswer([("q1", "ev"), ("q2", "ev"), ("q1", "ev")])
    assert len(g.calls) == 1 and len(g.calls[0][0]) == 2 and g.calls[0][1:] == (16, False)
    assert out[0] == out[2] and out[0].startswith("phrase")               # stripped, in order
    assert (g.max_new_tokens, g.stop_at_first_sentence) == (48, True)     # answers keep their own settings
    g.reanswer([("q1", "ev")])
    assert len(g.calls) == 1


def test_reanswer_prompt_shows_the_passage_before_the_question():
    text = reanswer_conversation("Q?", "E.")[-1]["content"]
    assert text.index("Passage: E.") < text.index("Question: Q?")
