"""One pipeline definition on three runners: local, Ray (real local cluster), Beam (FnApiRunner).

The same log and config must give identical written doc ids and identical verdict counts.
"""

import json
from pathlib import Path

import pytest

from bidirag.config import load_config
from bidirag.epoch import run_epoch
from bidirag.ingest import ingest
from bidirag.store import CORPUS, Store
from tests.conftest import ROOT, write_log

TOPICS = ["capital of Poland", "Eiffel Tower completion", "Super Bowl 50 winner", "river in Warsaw",
          "Tesla inventions", "Amazon rainforest", "unanswerable: Tesla pigeons", "Paris tower", "Broncos",
          "South America basin", "Vistula river", "alternating current"]


def _run(tmp_path, corpus_file, log, runner, fakes=True, extra=()):
    files = [ROOT / "configs/default.yaml"] + ([ROOT / "configs/test-fakes.yaml"] if fakes else [])
    cfg = load_config(*files, overrides=[f"store.uri={tmp_path / runner}", f"run.runner={runner}",
                                         f"run.runs_dir={tmp_path / (runner + '-runs')}", "run.batch_size=4", *extra])
    ingest(cfg, corpus_file, progress=False)
    rep = run_epoch(cfg, log, run_name="c", progress=False)
    rows = Store(cfg.store.uri, dim=384).table(CORPUS).to_arrow().to_pylist()
    written = sorted(r["doc_id"] for r in rows if r["origin"] == "writeback")
    verdicts = sorted((v["query_id"], v["status"], v.get("failed_check")) for v in
                      map(json.loads, (Path(rep["report_dir"]) / "verdicts.jsonl").read_text().splitlines()))
    keys = ("queries", "generated", "failed", "accepted", "rejected_by_check", "deduplicated", "written")
    return written, verdicts, {k: rep[k] for k in keys}, rep


def test_local_ray_and_beam_write_the_same_snapshot(tmp_path, corpus_file, ray_cluster):
    log = write_log(tmp_path / "q.jsonl", [{"query_id": f"q{i}", "text": f"Tell me about the {t}"}
                                           for i, t in enumerate(TOPICS)] + [b"broken line\n"])
    local = _run(tmp_path, corpus_file, log, "local")
    ray = _run(tmp_path, corpus_file, log, "ray")
    beam = _run(tmp_path, corpus_file, log, "beam")
    assert local[0], "the fixture must write something for the comparison to mean anything"
    assert local[2]["rejected_by_check"]["attribution"] >= 1
    for other in (ray, beam):
        assert other[0] == local[0]
        assert other[1] == local[1]
        assert other[2] == local[2]
    assert ray[3]["dead_lettered"] == beam[3]["dead_lettered"] == 1
    for rep in (ray[3], beam[3]):   # stage timings come back from actors / Beam metrics
        assert {"retrieve", "generate", "validate"} <= set(rep["stage_seconds"])


@pytest.mark.slow
def test_local_ray_and_beam_agree_on_the_real_small_models(tmp_path, corpus_file, ray_cluster):
    """The same comparison with the real embedder, SmolLM2 and the shipped NLI model (greedy decoding is
    deterministic, so the three runners must write the same docs and reach the same verdicts)."""
    log = write_log(tmp_path / "q.jsonl", [
        {"query_id": "r1", "text": "What is the capital of Poland?"},
        {"query_id": "r2", "text": "Who won Super Bowl 50?"},
        {"query_id": "r3", "text": "When was the Eiffel Tower completed?"},
        {"query_id": "r4", "text": "What is Nikola Tesla known for?"},
        {"query_id": "r5", "text": "Which river does Warsaw stand on?"},
    ])
    extra = ("models.generator.name=smollm2-135m-instruct", "models.generator.backend=transformers",
             "models.generator.batch_size=8", "models.generator.max_new_tokens=32", "run.ray.num_cpus=2")
    runs = [_run(tmp_path, corpus_file, log, r, fakes=False, extra=extra) for r in ("local", "ray", "beam")]
    local = runs[0]
    assert local[2]["generated"] == 5 and local[2]["failed"] == 0
    for other in runs[1:]:
        assert other[0] == local[0] and other[1] == local[1] and other[2] == local[2]
