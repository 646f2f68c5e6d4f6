"""A new acceptance check is one class in one file: registered from this test module alone, it rejects, is
counted, reported, kept in provenance and calibrated, and its NLI pairs share the one batched NLI call."""

import json
import re
from pathlib import Path

import pytest

from bidirag import checks
from bidirag.checks import Check, CheckContext, register
from bidirag.config import ConfigError, load_config
from bidirag.epoch import run_epoch
from bidirag.evaluation.harness import calibrate_checks
from bidirag.htmlreport import write_epoch_html
from bidirag.ingest import ingest
from bidirag.models import handlers
from bidirag.models.fakes import FakeNLI
from bidirag.stages.rag import clean_answer
from bidirag.store import CORPUS, EXPERIENCE, Store
from tests.conftest import ROOT

GOLD = {"q1": ["Warsaw"], "q2": ["1889"], "q3": ["Denver Broncos"], "q4": ["Vistula"], "q5": ["inventor"]}


class EchoesQuestion(Check):
    """Test plugin: the answer must entail the question's words (FakeNLI: share of them in the answer)."""

    name = "echoes_question"
    reason_text = "the answer does not take up the question"
    critique = True

    def request(self, ctx: CheckContext) -> None:
        ctx.request_nli(self.name, [([q], [a]) for q, a in zip(ctx.queries, ctx.texts, strict=True)])

    def score(self, ctx: CheckContext) -> list[float]:
        return ctx.nli_scores(self.name)


@pytest.fixture
def plugin():
    register(EchoesQuestion)
    yield EchoesQuestion
    checks.unregister(EchoesQuestion.name)


def _share(q: str, a: str) -> float:
    words = re.findall(r"[a-z0-9]+", q.lower())
    have = set(re.findall(r"[a-z0-9]+", a.lower()))
    return sum(w in have for w in words) / len(words)


def test_a_check_registered_from_a_test_module_works_end_to_end(plugin, tmp_path, corpus_file, query_log,
                                                                monkeypatch):
    order = ["echoes_question", *checks.CHECKS]
    cfg = load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml", overrides=[
        f"store.uri={tmp_path / 'store'}", f"run.runs_dir={tmp_path / 'runs'}",
        f"acceptance.checks=[{', '.join(order)}]", "acceptance.thresholds={echoes_question: 0.75}"])
    ingest(cfg, corpus_file, progress=False)
    calls = []
    real = FakeNLI.predict
    monkeypatch.setattr(FakeNLI, "predict", lambda self, pairs: calls.append(len(pairs)) or real(self, pairs))
    handlers.clear()                  # handlers are cached per process: load the counting one
    try:
        rep = run_epoch(cfg, query_log, run_name="plugin", progress=False)
    finally:
        handlers.clear()
    assert len(calls) == 1            # grounding, premise and the plugin's pairs: one batched NLI call

    verdicts = [json.loads(x) for x in (Path(rep["report_dir"]) / "verdicts.jsonl").read_text().splitlines()]
    scored = [v for v in verdicts if v["scores"]]
    assert len(scored) == 5
    for v in scored:                  # its score is the one the plugin computed, kept for every record
        assert v["scores"]["echoes_question"] == pytest.approx(_share(v["text"], clean_answer(v["answer"])), abs=1e-4)
    rejected = {v["query_id"] for v in scored if v["scores"]["echoes_question"] < 0.75}
    assert rejected and len(rejected) < 5
    assert {v["query_id"] for v in verdicts if v.get("failed_check") == "echoes_question"} == rejected
    assert rep["rejected_by_check"]["echoes_question"] == len(rejected)          # counted
    assert list(rep["rejected_by_check"])[0] == "echoes_question"                # in the configured order
    reasons = [v["reason"] for v in verdicts if v.get("failed_check") == "echoes_question"]
    assert all("does not take up the question (echoes_question" in r for r in reasons)

    st = Store(cfg.store.uri, dim=384)   # provenance of written rows, and critiques, carry the score
    written = [r for r in st.table(CORPUS).to_arrow().to_pylist() if r["origin"] == "writeback"]
    assert written and all("echoes_question" in json.loads(r["scores"]) for r in written)
    crit = st.table(EXPERIENCE).to_arrow().to_pylist()
    assert {r["query_id"] for r in crit if r["failed_check"] == "echoes_question"} == rejected

    page = write_epoch_html(st, rep, cfg.acceptance).read_text()     # reported
    assert "echoes_question" in page and "threshold 0.75" in page

    naive = cfg.model_copy(update={"writeback": cfg.writeback.model_copy(update={"mode": "naive"})})
    nrep = run_epoch(naive, query_log, run_name="naive", progress=False)
    nver = [json.loads(x) for x in (Path(nrep["report_dir"]) / "verdicts.jsonl").read_text().splitlines()]
    cal = calibrate_checks(cfg, nver, GOLD, tmp_path)                   # calibrated
    assert "echoes_question" in cal and (tmp_path / "calibration-echoes_question.md").exists()
    row = {r["threshold"]: r for r in cal["echoes_question"]["table"]}
    assert row[0.0]["accepted"] >= row[0.95]["accepted"]


def test_unknown_or_repeated_check_names_are_config_errors():
    with pytest.raises(ConfigError, match="unknown check.*nope.*registered: .*query_safety"):
        load_config(ROOT / "configs/default.yaml", overrides=["acceptance.checks=[grounding, nope]"])
    with pytest.raises(ConfigError, match="listed twice"):
        load_config(ROOT / "configs/default.yaml", overrides=["acceptance.checks=[grounding, grounding]"])


def test_a_check_can_be_left_out_by_config(tmp_path, corpus_file, query_log):
    cfg = load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml", overrides=[
        f"store.uri={tmp_path / 'store'}", f"run.runs_dir={tmp_path / 'runs'}",
        "acceptance.checks=[grounding, novelty]"])
    ingest(cfg, corpus_file, progress=False)
    rep = run_epoch(cfg, query_log, run_name="two", progress=False)
    assert list(rep["rejected_by_check"]) == ["grounding", "novelty"]
    verdicts = [json.loads(x) for x in (Path(rep["report_dir"]) / "verdicts.jsonl").read_text().splitlines()]
    assert all(set(v["scores"]) == {"grounding", "novelty"} for v in verdicts)
    # the uncited answer is not rejected for its citations: attribution is not configured
    assert {v["failed_check"] for v in verdicts} <= {None, "grounding", "novelty"}
