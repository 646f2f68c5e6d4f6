"""Epochs on a real LanceDB with fake models (the real-model run is in test_real_models.py)."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bidirag.driver import JobFailed
from bidirag.epoch import run_epoch
from bidirag.ingest import ingest
from bidirag.store import CORPUS, EXPERIENCE, Store
from bidirag.text import content_id
from pipelines.bidirectional import build
from tests.conftest import epoch_spec, write_log


def _store(cfg):
    return Store(cfg.store.uri, dim=384)


def test_ingest_is_idempotent(fake_cfg, corpus_file):
    first = ingest(fake_cfg, corpus_file, progress=False)
    again = ingest(fake_cfg, corpus_file, progress=False)
    assert first["inserted"] == 5 and again["inserted"] == 0 and again["already_present"] == 5
    assert again["version"] == first["version"]


def test_epoch_commits_one_version_tags_it_and_writes_report(fake_cfg, corpus_file, query_log):
    ingest(fake_cfg, corpus_file, progress=False)
    v_before = _store(fake_cfg).table(CORPUS).version
    rep = run_epoch(fake_cfg, query_log, run_name="t", progress=False)
    st = _store(fake_cfg)
    assert rep["written"] > 0
    assert st.table(CORPUS).version == v_before + 1 == rep["snapshot_version"]
    assert st.table(CORPUS).tags.list()["epoch-1"]["version"] == rep["snapshot_version"]
    saved = json.loads((Path(rep["report_dir"]) / "report.json").read_text())
    for key in ("queries", "dead_lettered", "accepted", "rejected_by_check", "deduplicated", "written",
                "snapshot_version", "tag", "stage_seconds"):
        assert key in saved
    # the answer about Tesla (whom no doc mentions) repeats the question's name unbacked: a critique, never a row
    assert rep["rejected_by_check"]["question_detail"] == 1
    crit = st.table(EXPERIENCE).to_arrow().to_pylist()
    assert len(crit) == rep["critiques_written"] and "question_detail" in {r["failed_check"] for r in crit}
    rows = st.table(CORPUS).to_arrow().to_pylist()
    written = [r for r in rows if r["origin"] == "writeback"]
    assert len(written) == rep["written"]
    assert all(r["epoch"] == 1 and r["query_id"] and r["source_doc_ids"] and r["grounding"] is not None
               for r in written)


@pytest.mark.parametrize("form", ["sentence", "quote"])
def test_rerunning_the_same_input_writes_nothing_new(fake_cfg, corpus_file, query_log, form):
    fake_cfg = fake_cfg.model_copy(update={"writeback": fake_cfg.writeback.model_copy(update={"form": form})})
    ingest(fake_cfg, corpus_file, progress=False)
    first = run_epoch(fake_cfg, query_log, run_name="a", progress=False)
    st = _store(fake_cfg)
    rows, exp = st.table(CORPUS).count_rows(), st.table(EXPERIENCE).count_rows()
    second = run_epoch(fake_cfg, query_log, run_name="b", progress=False)
    st = _store(fake_cfg)
    assert second["written"] == 0 and second["snapshot_version"] == first["snapshot_version"]
    assert st.table(CORPUS).count_rows() == rows
    if form == "sentence":
        # a quote doc shown to the fake generator (it copies a doc) changes a second-run answer, whose rejection
        # is a new critique; what must not change in either form is the corpus
        assert st.table(EXPERIENCE).count_rows() == exp
    assert second["epoch"] == 2 and st.table(CORPUS).tags.list()["epoch-2"]["version"] == first["snapshot_version"]


def test_within_epoch_duplicates_are_written_once(fake_cfg, tmp_path):
    # the sentence form: two questions get the same answer text (an extractive doc holds its own question)
    fake_cfg = fake_cfg.model_copy(update={"writeback": fake_cfg.writeback.model_copy(update={"form": "sentence"})})
    long_doc = ("The Eiffel Tower is in Paris. It was designed by the company of Gustave Eiffel and finished "
                "for the 1889 World's Fair, and millions of visitors climb it every single year.")
    p = tmp_path / "c.parquet"
    pq.write_table(pa.table({"text": [long_doc]}), p)
    ingest(fake_cfg, p, progress=False)
    log = write_log(tmp_path / "dup.jsonl", [
        {"query_id": "x1", "text": "Tell me about the Eiffel Tower"},
        {"query_id": "x2", "text": "Eiffel Tower facts please"},
    ])
    rep = run_epoch(fake_cfg, log, run_name="d", progress=False)
    assert rep["accepted"] == 2 and rep["deduplicated"] == 1 and rep["written"] == 1


def test_bad_lines_are_counted_and_the_epoch_goes_on(fake_cfg, corpus_file, tmp_path):
    ingest(fake_cfg, corpus_file, progress=False)
    log = write_log(tmp_path / "bad.jsonl", [{"query_id": "ok", "text": "What is the capital of Poland?"},
                                             b"garbage\n", b"\xff\n"])
    rep = run_epoch(fake_cfg, log, run_name="bad", progress=False)
    assert rep["queries"] == 1 and rep["dead_lettered"] == 2


def test_a_stage_that_raises_fails_its_records_not_the_job(fake_cfg, corpus_file, query_log):
    ingest(fake_cfg, corpus_file, progress=False)

    def broken(cfg, pinned, exp, units):
        p = build(cfg, pinned, exp, units)

        def boom(records):
            raise RuntimeError("model exploded")

        p.stages[1].process_active = boom
        return p

    # every record failed (> run.max_failed_share): nothing is committed, the job fails, the records are a log
    before = _store(fake_cfg).table(CORPUS).version
    with pytest.raises(JobFailed, match="5 of 5 records failed"):
        run_epoch(fake_cfg, query_log, run_name="boom", progress=False, spec=epoch_spec(broken))
    assert _store(fake_cfg).table(CORPUS).version == before and not _store(fake_cfg).manifests()
    dead_file = Path(fake_cfg.run.runs_dir) / "boom/epoch-1/dead_letter.jsonl"
    dead = [json.loads(x) for x in dead_file.read_text().splitlines()]
    assert len(dead) == 5 and "model exploded" in dead[0]["reason"] and dead[0]["record"]["text"]
    from bidirag.data.querylog import DeadLetter, read_log

    again = DeadLetter(None)
    assert [r["text"] for r in read_log(dead_file, again)] == [d["record"]["text"] for d in dead]
    assert again.count == 0
    assert json.loads((Path(fake_cfg.run.runs_dir) / "boom/epoch-1/report.json").read_text())["status"] == "failed"
    # under the limit the job goes on and commits what it has
    lenient = fake_cfg.model_copy(update={"run": fake_cfg.run.model_copy(update={"max_failed_share": 1.0})})
    rep = run_epoch(lenient, query_log, run_name="boom2", progress=False, spec=epoch_spec(broken))
    assert rep["failed"] == 5 and rep["written"] == 0 and rep["tag"] == "epoch-1"


def test_critiques_are_recorded_and_shown_in_later_prompts_only_when_asked(fake_cfg, corpus_file, query_log,
                                                                          tmp_path):
    ingest(fake_cfg, corpus_file, progress=False)
    run_epoch(fake_cfg, query_log, run_name="e1", progress=False)   # q5 fails attribution -> critique
    assert _store(fake_cfg).table(EXPERIENCE).count_rows() >= 1     # recorded with the default (top_m 0) too
    log = write_log(tmp_path / "later.jsonl", [{"query_id": "z", "text": "unanswerable: who was Tesla really?"}])
    assert fake_cfg.experience.top_m == 0                            # the default: none in the prompt
    rep = run_epoch(fake_cfg, log, run_name="e2", progress=False)
    v = json.loads((Path(rep["report_dir"]) / "verdicts.jsonl").read_text().splitlines()[0])
    assert not v["warnings"]
    shown = fake_cfg.model_copy(update={"experience": fake_cfg.experience.model_copy(update={"top_m": 2})})
    rep = run_epoch(shown, log, run_name="e3", progress=False)
    v = json.loads((Path(rep["report_dir"]) / "verdicts.jsonl").read_text().splitlines()[0])
    assert v["warnings"] and "rejected" in v["warnings"][0]


def test_naive_writes_every_answer_and_standard_writes_nothing(fake_cfg, corpus_file, query_log):
    ingest(fake_cfg, corpus_file, progress=False)
    naive = fake_cfg.model_copy(update={"writeback": fake_cfg.writeback.model_copy(update={"mode": "naive"})})
    seed_ids = {r["doc_id"] for r in _store(fake_cfg).table(CORPUS).to_arrow().to_pylist()}
    rep = run_epoch(naive, query_log, run_name="n", progress=False)
    assert rep["accepted"] == rep["generated"] == 5 and sum(rep["rejected_by_check"].values()) == 0
    verdicts = [json.loads(x) for x in (Path(rep["report_dir"]) / "verdicts.jsonl").read_text().splitlines()]
    new_texts = {content_id(v["clean_text"]) for v in verdicts} - seed_ids
    assert rep["written"] == len(new_texts) and rep["deduplicated"] == 0
    std = fake_cfg.model_copy(update={"writeback": fake_cfg.writeback.model_copy(update={"mode": "none"})})
    before = _store(fake_cfg).table(CORPUS).version
    rep = run_epoch(std, query_log, run_name="s", progress=False)
    assert rep["written"] == 0 and _store(fake_cfg).table(CORPUS).version == before
