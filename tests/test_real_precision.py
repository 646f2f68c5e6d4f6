"""The written knowledge, judged (slow, real models): on a small fixed log of SQuAD questions with gold
answers, an epoch with the default config writes something, and the share of written docs that contain a
gold answer of their query is not below what `make eval` last measured (docs/results/eval-*.json), beyond
chance: the test fails when a one-sided binomial test puts the observed precision below the eval's figure at
p < 0.05 (with ~10 written docs that is a drop of roughly 25 points or more)."""

import json
import math
from pathlib import Path

import pytest

from bidirag.config import load_config
from bidirag.data.fetch import fetch_squad
from bidirag.epoch import run_epoch
from bidirag.ingest import ingest
from bidirag.store import CORPUS, Store
from bidirag.text import contains_answer
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def eval_precision() -> tuple[float, str]:
    """Precision of bidirectional write-back in the newest eval results file (1 - pollution)."""
    for f in sorted((ROOT / "docs/results").glob("eval-*.json"), reverse=True):
        sys_ = json.loads(f.read_text()).get("systems", {}).get("bidirectional", {})
        if "pollution" in sys_:
            return 1.0 - sys_["pollution"]["mean"], f.name
    raise AssertionError("no eval results with a bidirectional pollution figure in docs/results")


def binom_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k + 1))


def test_binom_cdf_known_values():
    assert binom_cdf(0, 8, 0.4) == pytest.approx(0.6 ** 8)
    assert binom_cdf(8, 8, 0.4) == pytest.approx(1.0)
    assert binom_cdf(2, 4, 0.5) == pytest.approx(11 / 16)


def test_written_docs_are_as_correct_as_the_eval_says(tmp_path):
    data = fetch_squad(tmp_path / "squad", n_queries=40, seed=11)
    cfg = load_config(ROOT / "configs/default.yaml",
                      overrides=[f"store.uri={tmp_path / 'store'}", f"run.runs_dir={tmp_path / 'runs'}"])
    ingest(cfg, data["corpus"], progress=False)
    rep = run_epoch(cfg, data["queries"], run_name="precision", progress=False)
    gold = {json.loads(x)["query_id"]: json.loads(x)["answers"] for x in Path(data["labels"]).read_text().splitlines()}
    written = [r for r in Store(cfg.store.uri, dim=None).table(CORPUS).to_arrow().to_pylist()
               if r["origin"] == "writeback"]
    assert rep["written"] == len(written) >= 1, "the default config wrote nothing on 40 SQuAD questions"
    correct = sum(contains_answer(r["text"], gold[r["query_id"]]) for r in written)
    expected, source = eval_precision()
    p = binom_cdf(correct, len(written), expected)
    assert p >= 0.05, (f"{correct}/{len(written)} written docs contain a gold answer; {source} measured "
                       f"{expected:.0%} (one-sided binomial p = {p:.3f})")
