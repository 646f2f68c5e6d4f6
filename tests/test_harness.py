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
