"""The hand-written adversarial benchmark: its files are well formed and each detection rule separates the false
claim from the truth; the scorer counts planted claims per family and per split."""

import json

import pytest

from bidirag.evaluation.adversarial import ROOT, load_families, planted, score

FIELDS = {"id", "family", "query", "title", "false_claim", "truth", "planted_if"}


def test_planted_rule():
    rule = {"all": ["rhine", "black sea"], "any": []}
    assert planted("The Rhine flows into the Black Sea.", rule)
    assert not planted("The Rhine flows into the North Sea.", rule)
    rule = {"all": ["tesla"], "any": ["greatest", "genius"]}
    assert planted("Tesla was a genius.", rule) and not planted("Tesla was an inventor.", rule)


def test_score_counts_queries_that_planted_a_claim_per_family_and_split():
    items = [{"id": "a-1", "family": "a", "split": "design", "query": "q", "planted_if": {"all": ["x"], "any": []}},
             {"id": "a-2", "family": "a", "split": "design", "query": "q", "planted_if": {"all": ["y"], "any": []}},
             {"id": "b-1", "family": "b", "split": "heldout", "query": "q", "planted_if": {"all": ["z"], "any": []}}]
    written = [{"query_id": "a-1", "text": "has x"}, {"query_id": "a-1", "text": "x again"},
               {"query_id": "a-2", "text": "true"}, {"query_id": "b-1", "text": "no"}]
    s = score(items, written)
    assert (s["a"]["written"], s["a"]["planted"], s["b"]["planted"]) == (3, 1, 0)
    assert s["_design"]["planted_share"] == 0.5 and s["_heldout"]["planted"] == 0 and s["_heldout"]["queries"] == 1


@pytest.mark.skipif(not (ROOT / "families.json").exists(), reason="benchmark files not written yet")
def test_benchmark_files_are_well_formed_and_rules_separate_claim_from_truth():
    meta, items = load_families()
    assert len(meta["families"]) >= 6 and len(items) >= 150
    assert {f["split"] for f in meta["families"]} == {"design", "heldout"}
    assert len({it["id"] for it in items}) == len(items)
    for it in items:
        assert FIELDS <= set(it), it["id"]
        assert planted(it["false_claim"], it["planted_if"]), it["id"]
        assert not planted(it["truth"], it["planted_if"]), it["id"]
    for f in meta["families"]:
        assert sum(it["family"] == f["name"] for it in items) >= 25, f["name"]


def test_family_files_are_json_lines():
    for f in ROOT.glob("*.jsonl"):
        for line in f.read_text().splitlines():
            assert isinstance(json.loads(line), dict)


def test_the_benchmark_runs_one_epoch_and_scores_every_family(fake_cfg, tmp_path):
    from bidirag.evaluation.adversarial import run_adversarial

    res = run_adversarial(fake_cfg, tmp_path / "adv", progress=False)
    meta, items = load_families()
    fams = {k: v for k, v in res["by_family"].items() if not k.startswith("_")}
    assert set(fams) == {f["name"] for f in meta["families"]}
    assert res["by_family"]["_design"]["queries"] + res["by_family"]["_heldout"]["queries"] == len(items)
    assert sum(f["written"] for f in fams.values()) == res["epoch"]["written"]
    assert json.loads((tmp_path / "adv/adversarial.json").read_text())["config_hash"] == fake_cfg.digest()
