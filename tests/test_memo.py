"""Run memo (incremental replay): hits on exact repeats and case/punctuation variants, within and across epochs,
misses after any change of key, corrupt rows ignored with a warning, verdicts identical with the memo on/off."""

import json
import logging
from pathlib import Path

import pytest

from bidirag.config import load_config
from bidirag.epoch import run_epoch
from bidirag.ingest import ingest
from bidirag.models import handlers
from bidirag.stages.memo import memo_digest
from bidirag.store import CORPUS, EXPERIENCE, MEMO, Store
from bidirag.text import normalize_query
from tests.conftest import ROOT, write_log

BASE = [
    {"query_id": "q1", "text": "What is the capital of Poland?"},
    {"query_id": "q2", "text": "When was the Eiffel Tower completed?"},
    {"query_id": "q3", "text": "Who won Super Bowl 50?"},
    {"query_id": "q5", "text": "This one is unanswerable: who was Tesla?"},   # rejected (attribution)
]
REPEATS = [
    {"query_id": "r1", "text": "What is the capital of Poland?"},            # exact repeat
    {"query_id": "r2", "text": "what is the capital of poland"},             # case/punctuation variant
    {"query_id": "r3", "text": "WHO won Super Bowl 50 ?!"},
    {"query_id": "r5", "text": "This one is unanswerable: who was Tesla?"},  # repeat of a rejected query
]


def _cfg(tmp_path, *over):
    return load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml",
                       overrides=[f"store.uri={tmp_path / 'store'}", f"run.runs_dir={tmp_path / 'runs'}",
                                  "experience.top_m=0", *over])


def _answered(cfg) -> int:
    return handlers.generator(cfg.models.generator).answered


def _verdicts(rep) -> dict:
    rows = [json.loads(x) for x in (Path(rep["report_dir"]) / "verdicts.jsonl").read_text().splitlines()]
    return {r["query_id"]: (r["status"], r["failed_check"], r["answer"], json.dumps(r["scores"], sort_keys=True))
            for r in rows}


@pytest.fixture(autouse=True)
def _fresh_handlers():
    handlers.clear()
    yield
    handlers.clear()


def test_normalize_query_merges_case_and_punctuation_only():
    assert normalize_query("What is the capital of Poland?") == normalize_query("  what IS the capital of poland ")
    assert normalize_query("WHO won Super Bowl 50 ?!") == "who won super bowl 50"
    assert normalize_query("Who won Super Bowl 50?") != normalize_query("Who won Super Bowl 51?")


def test_exact_repeats_and_variants_hit_within_one_epoch_and_verdicts_match_memo_off(tmp_path, corpus_file):
    log = write_log(tmp_path / "log.jsonl", BASE + REPEATS)
    on = _cfg(tmp_path / "on", "run.memo=true")
    off = _cfg(tmp_path / "off", "run.memo=false")
    for c in (on, off):
        ingest(c, corpus_file, progress=False)
    rep_on = run_epoch(on, log, run_name="on", progress=False)
    gen_on = _answered(on)
    rep_off = run_epoch(off, log, run_name="off", progress=False)
    assert rep_on["memo_hits"] == 4 and rep_off["memo_hits"] == 0
    assert gen_on == 4 and rep_on["generated"] == 4 and rep_off["generated"] == 8
    v_on, v_off = _verdicts(rep_on), _verdicts(rep_off)
    assert v_on == v_off                       # same status, failed check, answer and scores for every query
    assert rep_on["written"] == rep_off["written"] and rep_on["rejected_by_check"] == rep_off["rejected_by_check"]
    assert Store(on.store.uri, dim=384).table(MEMO).count_rows() == 4
    assert rep_on["memo_rows_written"] == 4


@pytest.mark.parametrize("shown", ["text", "source"])
def test_second_epoch_on_the_same_log_generates_and_writes_nothing_new(tmp_path, corpus_file, shown):
    # top-1 retrieval: the written answer displaces its own source doc and nothing else's, so every prompt of the
    # second night is one the first night already answered (or the query's written answer is retrieved; shown as
    # its source paragraph, it is recognised through `via`)
    cfg = _cfg(tmp_path, "run.memo=true", "retrieval.top_k=1", f"retrieval.show_written={shown}")
    ingest(cfg, corpus_file, progress=False)
    log = write_log(tmp_path / "log.jsonl", BASE)
    first = run_epoch(cfg, log, run_name="a", progress=False)
    assert first["written"] >= 1 and _answered(cfg) == 4
    st = Store(cfg.store.uri, dim=384)
    rows, exp = st.table(CORPUS).count_rows(), st.table(EXPERIENCE).count_rows()
    handlers.clear()                           # a new process: only the store remembers
    # the variants of the next night, with new query ids (a production log's event ids never repeat)
    second = run_epoch(cfg, write_log(tmp_path / "log2.jsonl", REPEATS), run_name="b", progress=False)
    assert _answered(cfg) == 0 and second["generated"] == 0 and second["memo_hits"] == 4
    assert second["written"] == 0
    st = Store(cfg.store.uri, dim=384)
    assert st.table(CORPUS).count_rows() == rows and st.table(EXPERIENCE).count_rows() == exp
    assert second["memo_rows_written"] == 0


@pytest.mark.parametrize("shown", ["text", "source"])
def test_across_epochs_only_queries_whose_prompt_changed_are_generated(tmp_path, corpus_file, shown):
    """top-3: a written answer enters other queries' retrieval; exactly those (unless their own answer was
    written) are generated again, because their prompt is not the one the memo answered. A query whose own
    answer was written is a hit however its written doc is shown (as text, or as its paragraph via the doc)."""
    cfg = _cfg(tmp_path, "run.memo=true", f"retrieval.show_written={shown}")
    ingest(cfg, corpus_file, progress=False)
    first = run_epoch(cfg, write_log(tmp_path / "log.jsonl", BASE), run_name="a", progress=False)
    handlers.clear()
    second = run_epoch(cfg, write_log(tmp_path / "log2.jsonl", REPEATS), run_name="b", progress=False)

    def rows(rep):
        return [json.loads(x) for x in (Path(rep["report_dir"]) / "verdicts.jsonl").read_text().splitlines()]

    before = {normalize_query(r["text"]): r["retrieved"] for r in rows(first)}
    written = {r["query_id"] for r in rows(first) if r["status"] == "ok"}
    misses = [r for r in rows(second) if not r["memo_hit"]]
    assert _answered(cfg) == len(misses) == second["generated"] and second["memo_hits"] == 4 - len(misses)
    assert second["memo_hits"] >= 2
    for r in misses:
        assert r["retrieved"] != before[normalize_query(r["text"])]
        assert "q" + r["query_id"][1:] not in written
    hits = {r["query_id"] for r in rows(second) if r["memo_hit"]}
    assert {"r" + q[1:] for q in written} <= hits


def test_a_changed_model_id_or_threshold_never_uses_the_memo(tmp_path, corpus_file):
    cfg = _cfg(tmp_path, "run.memo=true")
    ingest(cfg, corpus_file, progress=False)
    log = write_log(tmp_path / "log.jsonl", BASE)
    run_epoch(cfg, log, run_name="a", progress=False)
    for over in ("models.generator.name=smollm2-135m-instruct", "acceptance.grounding_threshold=0.6",
                 "models.generator.evidence_sentences=1"):
        handlers.clear()
        other = _cfg(tmp_path, "run.memo=true", over)
        rep = run_epoch(other, write_log(tmp_path / "n.jsonl", [dict(q, query_id="n" + q["query_id"])
                                                                  for q in BASE]), run_name="b", progress=False)
        assert rep["memo_hits"] == 0 and _answered(other) == 4, over


def test_run_only_settings_keep_the_memo(tmp_path, corpus_file):
    cfg = _cfg(tmp_path, "run.memo=true", "retrieval.top_k=1")
    same = _cfg(tmp_path, "run.memo=true", "retrieval.top_k=1", "run.batch_size=2",
                f"run.runs_dir={tmp_path / 'other-runs'}", "models.generator.batch_size=3", "store.nprobes=7")
    assert memo_digest(cfg) == memo_digest(same) and cfg.digest() != same.digest()
    assert memo_digest(cfg) != memo_digest(_cfg(tmp_path, "run.memo=true", "retrieval.top_k=1",
                                                "acceptance.novelty_threshold=0.2"))
    ingest(cfg, corpus_file, progress=False)
    run_epoch(cfg, write_log(tmp_path / "log.jsonl", BASE), run_name="a", progress=False)
    handlers.clear()
    rep = run_epoch(same, write_log(tmp_path / "log2.jsonl", REPEATS), run_name="b", progress=False)
    assert rep["memo_hits"] == 4 and _answered(same) == 0


def test_a_new_warning_in_the_prompt_is_a_miss(tmp_path, corpus_file):
    """Critiques of past rejections go into the prompt: a changed prompt is a changed key."""
    cfg = _cfg(tmp_path, "run.memo=true", "experience.top_m=2")
    ingest(cfg, corpus_file, progress=False)
    run_epoch(cfg, write_log(tmp_path / "log.jsonl", BASE[3:]), run_name="a", progress=False)   # -> a critique
    handlers.clear()
    rep = run_epoch(cfg, write_log(tmp_path / "log2.jsonl", REPEATS[3:]), run_name="b", progress=False)
    assert rep["memo_hits"] == 0 and _answered(cfg) == 1


def test_corrupt_memo_rows_are_ignored_with_a_warning(tmp_path, corpus_file, caplog):
    cfg = _cfg(tmp_path, "run.memo=true", "retrieval.top_k=1")
    ingest(cfg, corpus_file, progress=False)
    first = run_epoch(cfg, write_log(tmp_path / "log.jsonl", BASE), run_name="a", progress=False)
    tbl = Store(cfg.store.uri, dim=384).table(MEMO)
    rows = tbl.to_arrow().to_pylist()
    # two queries the first night rejected (a regenerated accepted answer would now meet itself in the corpus)
    bad = {normalize_query(BASE[3]["text"]): {"verdict": "'{not json'"},
           normalize_query(BASE[1]["text"]): {"query_norm": "'someone elses question'"}}
    for norm, values in bad.items():
        key = next(r["doc_id"] for r in rows if r["query_norm"] == norm)
        tbl.update(where=f"doc_id = '{key}'", values_sql=values)
    handlers.clear()
    with caplog.at_level(logging.WARNING, logger="bidirag.memo"):
        rep = run_epoch(cfg, write_log(tmp_path / "log2.jsonl", [dict(q, query_id="n" + q["query_id"])
                                                                  for q in BASE]), run_name="b", progress=False)
    assert rep["memo_hits"] == 2 and _answered(cfg) == 2        # the two corrupt rows: generated again
    assert sum("memo row" in m and "ignored" in m for m in caplog.messages) >= 2
    v1 = {k[1:]: v for k, v in _verdicts(rep).items()}
    assert v1 == _verdicts(first)


@pytest.mark.parametrize("runner", ["beam", "ray"])
def test_memo_hits_pass_through_a_distributed_runner(tmp_path, corpus_file, runner, request):
    """MEMO records pass the later stages (Beam: by its side output) and are settled by the driver as on the local
    runner; batches of 3 put repeats in later batches than their first copy."""
    if runner == "ray":
        request.getfixturevalue("ray_cluster")
    log = write_log(tmp_path / "log.jsonl", BASE + REPEATS)
    on = _cfg(tmp_path / "on", "run.memo=true", f"run.runner={runner}", "run.batch_size=3")
    local = _cfg(tmp_path / "local", "run.memo=true")
    for c in (on, local):
        ingest(c, corpus_file, progress=False)
    rep = run_epoch(on, log, run_name="on", progress=False)
    ref = run_epoch(local, log, run_name="local", progress=False)
    assert rep["memo_hits"] == ref["memo_hits"] == 4 and _verdicts(rep) == _verdicts(ref)


def test_a_repeat_of_a_query_whose_first_copy_failed_fails_too_and_is_replayable(tmp_path, corpus_file):
    from bidirag.stages.rag import Generate
    from pipelines.bidirectional import build
    from tests.conftest import epoch_spec

    class Broken(Generate):
        def process_active(self, records):
            if any("Eiffel" in r["text"] for r in records):
                raise RuntimeError("generator endpoint down")
            super().process_active(records)

    def builder(cfg, pinned, exp, units):
        p = build(cfg, pinned, exp, units)
        p.stages = [Broken(cfg) if isinstance(s, Generate) else s for s in p.stages]
        return p

    cfg = _cfg(tmp_path, "run.memo=true")
    ingest(cfg, corpus_file, progress=False)
    log = write_log(tmp_path / "log.jsonl", BASE + [{"query_id": "r2", "text": "when was the eiffel tower completed"}])
    rep = run_epoch(cfg, log, run_name="f", progress=False, spec=epoch_spec(builder))
    assert rep["failed"] == 2 and rep["memo_hits"] == 0
    dead = [json.loads(x) for x in (Path(rep["report_dir"]) / "dead_letter.jsonl").read_text().splitlines()]
    assert sorted(d["record"]["query_id"] for d in dead) == ["q2", "r2"]       # whole records: replayable
    assert any("first copy of this query failed" in d["reason"] and "endpoint down" in d["reason"] for d in dead)
    assert Store(cfg.store.uri, dim=384).table(MEMO).count_rows() == 3     # failures are never memoised


def test_a_repeat_whose_written_answer_is_shown_as_its_paragraph_is_recognised(tmp_path, monkeypatch):
    """`retrieval.show_written: source` shows the written doc as the paragraph it quotes (`via` = the written doc):
    the repeat of the query that wrote it is still a hit (its prompt changed because of its own answer)."""
    from bidirag.stages.base import Status
    from bidirag.stages.memo import Recall, query_key

    cfg = _cfg(tmp_path, "run.memo=true", "retrieval.show_written=source")
    stage = Recall(cfg)
    q = "What is the capital of Poland?"
    payload = {"status": Status.OK, "answer": "Warsaw [1]."}
    qk = query_key(normalize_query(q), stage.models, stage.digest)
    monkeypatch.setattr(stage, "_stored", lambda keys, qkeys: ({}, {qk: [("w1", payload)]}))
    via = {"text": q, "status": Status.OK, "retrieved": [{"doc_id": "s3", "via": "w1"}, {"doc_id": "s0"}]}
    other = {"text": q, "status": Status.OK, "retrieved": [{"doc_id": "s3"}, {"doc_id": "s0"}]}
    stage.process_active([via])
    assert via["status"] == Status.MEMO and via["memo"] is payload
    stage._seen.clear()
    stage.process_active([other])                 # its answer's doc is not in this prompt at all: a miss
    assert other["status"] == Status.OK and "memo" not in other
