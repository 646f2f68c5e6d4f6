"""The trust check: lexical alignment features, the logistic trainer, and the check in a real epoch (fake models)."""

import gzip
import json

import numpy as np
import pytest

from bidirag.checks.trust import TrustModel, alignment, features, load_model
from bidirag.config import load_config
from bidirag.epoch import run_epoch
from bidirag.ingest import ingest
from bidirag.training.train_trust import fit_logistic, read_rows, train
from tests.conftest import ROOT

DOCS = ["The tower was finished in 1889. It was designed by Gustave Eiffel's company.",
        "Paris hosted the Exposition Universelle that year. The fair drew 32 million visitors."]


def test_alignment_prefers_an_answer_stated_by_the_sentence_that_matches_the_question():
    q = "In which year was the tower finished?"
    right = alignment(q, "The tower was finished in 1889.", DOCS)
    off = alignment(q, "The fair drew 32 million visitors.", DOCS)          # true, supported, not an answer
    assert right["new_in_qsent"] == 1.0 and off["new_in_qsent"] == 0.0
    assert right["qov_of_answer_sentence"] > off["qov_of_answer_sentence"]
    echo = alignment(q, "The tower was finished.", DOCS)                     # adds nothing to the question
    assert echo["new_in_qsent"] == 0.0 and echo["new_share"] == 0.0
    assert alignment(q, "x", []) == dict.fromkeys(right, 0.0)


def test_fit_logistic_recovers_the_direction_that_separates_the_labels():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] - 0.5 * x[:, 2] + 0.3 * rng.normal(size=400) > 0).astype(float)
    coef, _ = fit_logistic(x, y, l2=1.0)
    assert coef[0] > 1.0 and coef[2] < -0.5 and abs(coef[1]) < 0.5


def _answers(path, n=200, seed=0):
    """Labeled answers in verifier_data's format: correct ones are stated by the question's sentence."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        correct = bool(rng.random() < 0.5)
        text = "The tower was finished in 1889." if correct else "The fair drew 32 million visitors."
        if rng.random() < 0.15:                                 # label noise: not a perfect rule
            correct = not correct
        rows.append({"query_id": f"q{i}", "question": "In which year was the tower finished?", "clean_text": text,
                     "answer": f"According to [1], {text}", "docs": DOCS, "correct": correct,
                     "scores": {"grounding": float(rng.random()), "relevance": 0.5},
                     "confidence": {"lp_min": float(-rng.random() * (1 if correct else 3))},
                     "gold_paragraph": f"squad:Article_{i % 25}#0"})
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return rows


def test_train_writes_a_model_that_ranks_dev_answers(tmp_path):
    data = tmp_path / "answers.jsonl.gz"
    _answers(data)
    info = train([data], tmp_path / "trust.json")
    spec = json.loads((tmp_path / "trust.json").read_text())
    assert "check:relevance" not in spec["features"]               # constant: dropped
    assert {"align:new_in_qsent", "check:grounding", "conf:lp_min"} <= set(spec["features"])
    assert info["dev"] > 0 and info["train"] > info["dev"] and info["dev_auc"] > 0.75
    assert info["dev_auc_95"][0] <= info["dev_auc"] <= info["dev_auc_95"][1]
    m = TrustModel(spec)
    good = features("In which year was the tower finished?", "The tower was finished in 1889.", DOCS,
                    {"grounding": 0.5, "relevance": 0.5}, {"lp_min": -0.2})
    bad = features("In which year was the tower finished?", "The fair drew 32 million visitors.", DOCS,
                   {"grounding": 0.5, "relevance": 0.5}, {"lp_min": -2.5})
    assert m.predict([good])[0] > 0.7 > 0.3 > m.predict([bad])[0]


def test_bad_training_data_is_named(tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text('{"query_id": "q1", "question": "x"}\n')
    with pytest.raises(ValueError, match="missing field"):
        read_rows([f])
    f.write_text("not json\n")
    with pytest.raises(ValueError, match="a.jsonl:1: not JSON"):
        read_rows([f])
    data = tmp_path / "b.jsonl.gz"
    rows = _answers(data)
    rows[3]["confidence"] = None
    with gzip.open(data, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    with pytest.raises(ValueError, match="no generator confidence"):
        train([data], tmp_path / "t.json")
    train([data], tmp_path / "t.json", kinds=["align", "check"])     # without conf:* it trains


def _epoch_cfg(tmp_path, model, threshold, store="store"):
    return load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml", overrides=[
        f"store.uri={tmp_path / store}", f"run.runs_dir={tmp_path / 'runs'}", "writeback.mode=bidirectional",
        "acceptance.checks=[query_safety, answerable, relevance, grounding, attribution, novelty, trust]",
        f"acceptance.trust_model={model}", f"acceptance.trust_threshold={threshold}"])


def _model(tmp_path, features_, coef, intercept=0.0):
    p = tmp_path / "m.json"
    p.write_text(json.dumps({"features": features_, "mean": [0.0] * len(coef), "std": [1.0] * len(coef),
                             "coef": coef, "intercept": intercept}))
    load_model.cache_clear()
    return p


def test_trust_check_scores_from_the_other_checks_and_rejects_in_an_epoch(tmp_path, corpus_file, query_log):
    # P(correct) rises with grounding: the fake generator copies doc [1], so grounding is high and all pass at 0.5
    m = _model(tmp_path, ["check:grounding", "conf:lp_min"], [8.0, 0.0], intercept=-4.0)
    cfg = _epoch_cfg(tmp_path, m, 0.5)
    ingest(cfg, corpus_file, progress=False)
    rep = run_epoch(cfg, query_log, run_name="pass", progress=False)
    verdicts = [json.loads(x) for x in (tmp_path / "runs").glob("pass/epoch-*/verdicts.jsonl").__next__()
                .read_text().splitlines()]
    scored = [v for v in verdicts if "trust" in (v.get("scores") or {})]
    assert scored and all(abs(v["scores"]["trust"] - 1 / (1 + np.exp(-(8 * v["scores"]["grounding"] - 4))))
                          < 1e-3 for v in scored)
    assert rep["accepted"] > 0 and rep["rejected_by_check"]["trust"] == 0
    cfg = _epoch_cfg(tmp_path, m, 0.999, store="store2")          # nothing is that sure: trust rejects
    ingest(cfg, corpus_file, progress=False)
    rep2 = run_epoch(cfg, query_log, run_name="strict", progress=False)
    assert rep2["accepted"] == 0 and rep2["rejected_by_check"]["trust"] > 0


def test_a_model_needing_an_unconfigured_check_is_named(tmp_path, corpus_file, query_log):
    m = _model(tmp_path, ["check:content"], [1.0])
    cfg = _epoch_cfg(tmp_path, m, 0.5)
    ingest(cfg, corpus_file, progress=False)
    with pytest.raises(Exception, match="content"):
        run_epoch(cfg, query_log, run_name="x", progress=False)


def test_strict_labels_reject_a_gold_answer_that_adds_a_word_the_gold_paragraph_lacks(tmp_path):
    from bidirag.training.train_trust import strict_labels

    para = {"squad:T#0": "Bruno Mars headlined the Super Bowl XLVIII halftime show."}
    row = {"query_id": "q", "question": "Who headlined Super Bowl XLVIII?", "gold_paragraph": "squad:T#0",
           "correct": True}
    ok = dict(row, clean_text="Bruno Mars headlined Super Bowl XLVIII.")
    extra = dict(row, clean_text="Bruno Mars and Mark Ronson headlined Super Bowl XLVIII.")
    miss = dict(row, clean_text="Coldplay headlined Super Bowl XLVIII.", correct=False)
    assert strict_labels([ok, extra, miss], para) == [True, False, False]
    with pytest.raises(ValueError, match="not in the corpus"):
        strict_labels([dict(ok, gold_paragraph="squad:T#9")], para)
    data = tmp_path / "answers.jsonl.gz"
    rows = _answers(data)
    paras = {r["gold_paragraph"]: "The tower was finished in 1889." for r in rows}
    info = train([data], tmp_path / "trust.json", label="strict", paragraphs=paras)
    # the wrong-answer text ("fair drew 32 million visitors") is never in the paragraph: strict <= gold
    assert info["label"] == "strict" and info["correct_share"] <= sum(r["correct"] for r in rows) / len(rows)
    with pytest.raises(ValueError, match="unknown label"):
        train([data], tmp_path / "t.json", label="reading")
