"""The answer verifier: its training helpers, a tiny real training run whose model the `verifier` check loads,
and the check itself in an epoch (fake verifier)."""

import json

import numpy as np
import pytest

from bidirag.config import load_config
from bidirag.epoch import run_epoch
from bidirag.ingest import ingest
from bidirag.models.verifier import AnswerVerifier, verifier_input
from bidirag.training.train_verifier import auc, is_dev, precision_at, train
from tests.conftest import DOCS, ROOT


def test_auc_and_precision_at_known_cases():
    y = np.array([1, 1, 0, 0])
    assert auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 1.0
    assert auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 0.0
    assert auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert precision_at(y, np.array([0.9, 0.1, 0.8, 0.2]), 0.5) == 0.5


def test_dev_split_is_by_whole_article():
    rows = [{"gold_paragraph": f"squad:Title {t}#{p}"} for t in range(50) for p in range(3)]
    dev_titles = {r["gold_paragraph"].split("#")[0] for r in rows if is_dev(r)}
    assert all(is_dev(r) == (r["gold_paragraph"].split("#")[0] in dev_titles) for r in rows)
    assert 0 < len(dev_titles) < 50


def test_verifier_input_keeps_the_best_sentences_of_each_doc():
    ev, claim = verifier_input("When was the Eiffel Tower completed?", "In 1889.", DOCS[:2], sentences=1)
    assert claim == "Question: When was the Eiffel Tower completed? Answer: In 1889."
    assert "completed in 1889" in ev and " | " in ev and "Vistula" not in ev


def _rows(n=12):
    out = []
    for i in range(n):
        ok = i % 2 == 0
        out.append({"query_id": f"v{i}", "question": "When was the Eiffel Tower completed?",
                    "clean_text": "It was completed in 1889." if ok else f"It was completed in {1700 + i}.",
                    "docs": [DOCS[1]], "correct": ok, "gold_paragraph": f"squad:T{i % 6}#0"})
    return out


def test_a_tiny_training_run_gives_a_model_the_handler_loads(tmp_path):
    f = tmp_path / "answers.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in _rows()))
    recipe = train([f], tmp_path / "verifier", epochs=1, batch_size=4, max_length=128, log=lambda *_: None)
    assert recipe["train_answers"] + recipe["dev_answers"] == 12 and (tmp_path / "verifier/recipe.json").exists()
    v = AnswerVerifier(tmp_path / "verifier", max_length=128)
    v.setup()
    p = v.predict([("When was it completed?", "In 1889.", [DOCS[1]]), ("When was it completed?", "In 1925.", [])])
    assert p.shape == (2,) and ((0 <= p) & (p <= 1)).all()


def test_missing_verifier_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-verifier"):
        AnswerVerifier(tmp_path / "nothing").setup()


def test_the_verifier_check_rejects_low_scores(tmp_path, corpus_file, query_log):
    cfg = load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml", overrides=[
        f"store.uri={tmp_path / 's'}", f"run.runs_dir={tmp_path / 'r'}", "models.verifier.backend=fake",
        "acceptance.checks=[query_safety, answerable, verifier, attribution]", "acceptance.verifier_threshold=0.99"])
    ingest(cfg, corpus_file, progress=False)
    rep = run_epoch(cfg, query_log, run_name="v", progress=False)
    verdicts = [json.loads(x) for x in (tmp_path / "r/v/epoch-1/verdicts.jsonl").read_text().splitlines()]
    # the fake verifier scores the share of answer words found in the docs: the copied sentences score 1,
    # except for the citation marker, which clean_answer removed
    assert all("verifier" in v["scores"] for v in verdicts)
    assert rep["rejected_by_check"]["verifier"] == sum(v["scores"]["verifier"] < 0.99 for v in verdicts)
