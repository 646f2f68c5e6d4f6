"""A tiny end-to-end eval with fakes (real LanceDB, real SQuAD data)."""

import json

from bidirag.evaluation.harness import run_eval


def test_tiny_eval_writes_tables_and_systems_behave(fake_cfg, tmp_path):
    res = run_eval(fake_cfg, tmp_path / "eval", systems=["standard", "naive", "bidirectional"], seeds=[42],
                   n_queries=20, progress=False, log=lambda *_: None)
    saved = json.loads((tmp_path / "eval/eval.json").read_text())
    assert set(saved["systems"]) == {"standard", "naive", "bidirectional"}
    assert "| bidirectional |" in (tmp_path / "eval/eval.md").read_text()
    std, naive, bidir = (res["runs"][s][0] for s in ("standard", "naive", "bidirectional"))
    assert std["corpus_growth"] == 0
    assert naive["corpus_growth"] >= bidir["corpus_growth"]
    assert naive["acceptance_rate"] == 1.0
    assert std["test_queries"] == 4 and std["n"] == 4


def test_writeback_systems_distil_units_and_report_gains(fake_cfg, tmp_path):
    cfg = fake_cfg.model_copy(update={"distill": fake_cfg.distill.model_copy(update={"scorer": "contains"})})
    res = run_eval(cfg, tmp_path / "wb", systems=["standard", "writeback"], seeds=[7], n_queries=20,
                   progress=False, log=lambda *_: None)
    wb, std = res["runs"]["writeback"][0], res["runs"]["standard"][0]
    assert wb["corpus_growth"] == 0                    # units go to their own table, never the corpus
    assert wb["f1_gain"] == wb["f1"] - std["f1"] and std["f1_gain"] == 0
    assert 0 < wb["utility_pass_rate"] <= 1 and wb["units_written"] > 0
    assert "Gains over standard RAG" in (tmp_path / "wb/eval.md").read_text()
