"""Replay: windows, several files, and resume after a crash (fakes, real LanceDB)."""

import pytest

from bidirag.config import load_config
from bidirag.ingest import ingest
from bidirag.replay import plan_files, replay
from bidirag.store import CORPUS, Store
from pipelines.bidirectional import build
from tests.conftest import ROOT, epoch_spec, write_log

TOPICS = ["Warsaw", "Eiffel Tower", "Tesla", "Amazon rainforest", "Super Bowl 50", "Poland", "Paris",
          "Vistula", "Denver Broncos", "South America"]


class Crash(BaseException):
    """Stands in for kill -9 / Ctrl-C: not an Exception, so nothing catches it."""


def _logs(tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    for day in (1, 2):
        write_log(d / f"2026-11-0{day}.jsonl", [
            {"query_id": f"d{day}-{i}", "text": f"Tell me about {t} ({day})",
             "timestamp": f"2026-11-0{day}T{i:02d}:00:00Z"} for i, t in enumerate(TOPICS)])
    return d


def _cfg(tmp_path, name):
    return load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml",
                       overrides=[f"store.uri={tmp_path / name}", f"run.runs_dir={tmp_path / (name + '-runs')}"])


def _ids(cfg):
    return sorted(r["doc_id"] for r in Store(cfg.store.uri, dim=384).table(CORPUS).to_arrow().to_pylist())


def test_resume_after_crash_writes_exactly_what_an_uninterrupted_run_writes(tmp_path, corpus_file):
    logs = _logs(tmp_path)
    ref, crashy = _cfg(tmp_path, "ref"), _cfg(tmp_path, "crash")
    for c in (ref, crashy):
        ingest(c, corpus_file, progress=False)
    full = replay(ref, logs, epoch_size=6, progress=False, log=lambda *_: None)
    assert full["epochs_run"] == 4

    calls = {"n": 0}

    def crash_in_third_epoch(cfg, pinned, exp, units):
        p = build(cfg, pinned, exp, units)
        gen = p.stages[1]
        orig = gen.process_active

        def maybe_crash(records):
            calls["n"] += 1
            if calls["n"] == 3:
                raise Crash()
            orig(records)

        gen.process_active = maybe_crash
        return p

    with pytest.raises(Crash):
        replay(crashy, logs, epoch_size=6, progress=False, spec=epoch_spec(crash_in_third_epoch), log=lambda *_: None)
    assert len(Store(crashy.store.uri, dim=384).manifests()) == 2
    resumed = replay(crashy, logs, epoch_size=6, progress=False, log=lambda *_: None)
    assert resumed["skipped_shards"] == [0, 1] and resumed["epochs_run"] == 2
    assert _ids(crashy) == _ids(ref)
    again = replay(crashy, logs, epoch_size=6, progress=False, log=lambda *_: None)
    assert again["epochs_run"] == 0 and _ids(crashy) == _ids(ref)


def test_time_window_and_file_plan(tmp_path, corpus_file):
    logs = _logs(tmp_path)
    assert [f.name for f in plan_files(logs)] == ["2026-11-01.jsonl", "2026-11-02.jsonl"]
    assert len(plan_files(str(logs / "*-02.jsonl"))) == 1
    cfg = _cfg(tmp_path, "win")
    ingest(cfg, corpus_file, progress=False)
    res = replay(cfg, logs, since="2026-11-02T00:00:00Z", until="2026-11-02T05:00:00Z", epoch_size=100,
                 progress=False, log=lambda *_: None)
    assert res["outside_window"] == 15 and res["epochs_run"] == 1
    rep_queries = sum(1 for m in Store(cfg.store.uri, dim=384).manifests())
    assert rep_queries == 1


def test_plan_takes_gzipped_logs_and_skips_other_files(tmp_path):
    for name in ("b.jsonl.gz", "a.jsonl", "c.parquet", "notes.txt", "d.gz"):
        (tmp_path / name).write_bytes(b"")
    assert [f.name for f in plan_files(tmp_path)] == ["a.jsonl", "b.jsonl.gz", "c.parquet"]
    assert [f.name for f in plan_files(str(tmp_path / "*.gz"))] == ["b.jsonl.gz"]
