"""The evaluation protocol with fakes (real LanceDB, real SQuAD data): groups, paired statistics, resume,
calibration/report separation, any SQuAD-format dataset, and the errors for bad input."""

import json

import pytest

from bidirag import cli
from bidirag.evaluation import dataset as ds
from bidirag.evaluation.dataset import DatasetError, EvalError, load_squad_file, split_titles
from bidirag.evaluation.harness import run_eval
from bidirag.evaluation.protocol import GROUPS, sample
from tests.conftest import ROOT

QUIET = {"progress": False, "log": lambda *_: None}


def _squad(path, n_articles=3, paras=3, qs=4):
    data = {"data": [{"title": f"Topic {a}", "paragraphs": [
        {"context": " ".join(f"Item {a}-{p}-{q} is number {100 * a + 10 * p + q}." for q in range(qs)),
         "qas": [{"id": f"{a}-{p}-{q}", "question": f"Which number is item {a}-{p}-{q}?",
                  "answers": [{"text": str(100 * a + 10 * p + q)}]} for q in range(qs)]}
        for p in range(paras)]} for a in range(n_articles)]}
    path.write_text(json.dumps(data))
    return path


def test_groups_are_reasks_same_paragraph_and_unrelated():
    arts = ds.split(ds.load(None)[0], "report")
    w, test = sample(arts, 42, 200, 100)
    assert len(w) == 200 and len(test) == 100 and len({t.qid for t in test}) == 100
    by = {g: [t for t in test if t.group == g] for g in GROUPS}
    assert [len(by[g]) for g in GROUPS] == [33, 33, 34]
    wq = {q.qid for q in w}
    wp = {(q.title, q.paragraph_index) for q in w}
    assert all(t.question.qid in wq for t in by["reask"])
    assert all(t.question.qid not in wq and (t.question.title, t.question.paragraph_index) in wp for t in by["related"])
    assert all((t.question.title, t.question.paragraph_index) not in wp for t in by["unrelated"])
    assert sample(arts, 42, 200, 100)[1] == test and sample(arts, 43, 200, 100)[1] != test


def test_calibration_and_report_splits_are_disjoint_and_committed():
    arts, _ = ds.load(None)
    sp = split_titles([a.title for a in arts])
    assert not set(sp["calibrate"]) & set(sp["report"]) and len(sp["calibrate"]) + len(sp["report"]) == len(arts)
    committed = json.loads(ds.EVAL_SPLIT_FILE.read_text())
    assert committed["calibrate"] == sp["calibrate"] and committed["report"] == sp["report"]
    qs = {s: {q.qid for a in ds.split(arts, s) for q in a.questions} for s in ("calibrate", "report")}
    assert qs["calibrate"] and qs["report"] and not qs["calibrate"] & qs["report"]


def test_eval_reports_groups_intervals_precision_and_provenance(fake_cfg, tmp_path, monkeypatch):
    from bidirag.evaluation import harness

    commits = iter(["commit-at-start", "a-later-commit", "a-later-commit", "a-later-commit", "a-later-commit"])
    monkeypatch.setattr(harness, "git_commit", lambda: next(commits))      # HEAD moves while the eval runs
    res = run_eval(fake_cfg, tmp_path / "eval", ["standard", "naive", "bidirectional"], [42], n_writeback=30,
                   n_test=15, **QUIET)
    saved = json.loads((tmp_path / "eval/eval.json").read_text())
    std, naive, bidir = (saved["systems"][s] for s in ("standard", "naive", "bidirectional"))
    assert std["written"]["mean"] == 0 and naive["acceptance_rate"] == 1.0
    assert naive["written"]["mean"] >= bidir["written"]["mean"] > 0
    assert set(bidir["vs_standard"]) == {*GROUPS, "all"} and "vs_standard" not in std
    assert bidir["vs_standard"]["all"]["f1"]["n"] == 15 and std["groups"]["reask"]["n_per_seed"] == 5
    assert naive["precision_gold"]["written"] == naive["written"]["mean"]
    prov = saved["protocol"]
    assert prov["split"] == "report" and prov["dataset_digest"] and prov["thresholds"]
    assert prov["git_commit"] == "commit-at-start" and prov["results_from_commits"] == ["commit-at-start"]
    assert prov["models"]["generator"] and "naive" in prov["seconds_per_phase"]
    md = (tmp_path / "eval/eval.md").read_text()
    assert "### reask" in md and "distinguish from 0" in md and "precision, gold rule" in md
    audit = [json.loads(x) for x in (tmp_path / "eval/audit.jsonl").read_text().splitlines()]
    assert audit and audit[0]["system"] == "bidirectional" and audit[0]["gold_paragraph"] and audit[0]["doc"]
    assert "calibration" not in res    # the report split never produces threshold sweeps
    # test queries after write-back see written docs beside the corpus top-k (the store has a knowledge_units
    # table too: its merge must not cut the written doc off), standard RAG sees only the top-k
    shown = {s: [q["docs_shown"] for q in json.loads((tmp_path / f"eval/seed-42/{s}.result.json").read_text())[
        "per_query"]] for s in ("standard", "bidirectional")}
    k = fake_cfg.retrieval.top_k
    assert set(shown["standard"]) == {k} and k + 1 in shown["bidirectional"]


def test_calibration_runs_on_the_calibrate_split_only(fake_cfg, tmp_path):
    res = run_eval(fake_cfg, tmp_path / "cal", ["naive"], [5], n_writeback=12, n_test=6, split="calibrate", **QUIET)
    assert res["protocol"]["split"] == "calibrate" and "grounding" in res["calibration"]
    assert (tmp_path / "cal/calibration.md").exists()
    arts = ds.load(None)[0]
    reported = {a.title for a in ds.split(arts, "report")}
    by_id = {q.qid: q.title for a in arts for q in a.questions}
    used = {json.loads(x)["query_id"] for x in (tmp_path / "cal/seed-5/writeback.jsonl").read_text().splitlines()}
    assert used and not {by_id[q] for q in used} & reported
    choice = json.loads((tmp_path / "cal/calibration-choice.json").read_text())
    assert choice["split"] == "calibrate" and choice["check"] == "trust"       # the last gate of the defaults
    assert choice["set"] == f"acceptance.trust_threshold={choice['threshold']}"


def _sweep(rows):
    return {"check": "trust", "answers": 100, "table": [
        {"threshold": t, "accepted": n, "accept_rate": n / 100, "precision": p} for t, n, p in rows]}


def test_choose_takes_the_lowest_threshold_that_reaches_the_target_and_writes_enough():
    from bidirag.evaluation.calibrate import choose

    res = choose(_sweep([(0.5, 60, 0.80), (0.6, 40, 0.91), (0.7, 20, 0.95), (0.8, 5, 1.0)]), 0.9, 0.1)
    assert res["threshold"] == 0.6 and res["target_met"] and res["precision_95"][0] < 0.91 < res["precision_95"][1]
    # 0.8 is perfect but writes 5% (< 10%): never chosen; the target unmet is said, not hidden
    res = choose(_sweep([(0.5, 60, 0.70), (0.7, 20, 0.85), (0.8, 5, 1.0)]), 0.9, 0.1)
    assert res["threshold"] == 0.7 and not res["target_met"]
    with pytest.raises(ValueError, match="keeps 10%"):
        choose(_sweep([(0.8, 5, 1.0)]), 0.9, 0.1)


def test_default_thresholds_come_from_the_committed_calibrate_split_choice():
    """The shipped default of the chosen check equals the choice recorded in the calibration file the default
    config names, and that file was made on the calibrate split, never on the reported articles."""
    from bidirag.config import load_config

    cfg = load_config(ROOT / "configs/default.yaml")
    assert cfg.acceptance.calibration, "configs/default.yaml must name the calibration its thresholds come from"
    choice = json.loads((ROOT / cfg.acceptance.calibration).read_text())
    assert choice["split"].startswith("calibrate") and "report" not in choice["split"]
    field, value = choice["set"].removeprefix("acceptance.").split("=")
    assert getattr(cfg.acceptance, field) == float(value)
    assert choice["check"] in cfg.acceptance.checks


def test_eval_resumes_per_seed_and_system(fake_cfg, tmp_path):
    run_eval(fake_cfg, tmp_path / "e", ["standard"], [1], n_writeback=12, n_test=6, **QUIET)
    saved = tmp_path / "e/seed-1/standard.result.json"
    first = saved.stat().st_mtime_ns
    lines = []
    res = run_eval(fake_cfg, tmp_path / "e", ["standard", "naive"], [1], n_writeback=12, n_test=6, progress=False,
                   log=lines.append)
    assert saved.stat().st_mtime_ns == first and any("reusing" in x for x in lines)
    # a resumed run reports the time its reused results took, not only its own few seconds
    both = [json.loads((tmp_path / f"e/seed-1/{s}.result.json").read_text())["wall_seconds"]
            for s in ("standard", "naive")]
    assert res["protocol"]["results_wall_seconds"] == round(sum(both), 1)
    # a write-back setting changes naive's key, not standard RAG's (it never runs a check)
    stricter = fake_cfg.model_copy(update={"acceptance": fake_cfg.acceptance.model_copy(
        update={"grounding_threshold": 0.99}), "retrieval": fake_cfg.retrieval.model_copy(
        update={"show_written": "missing_source"})})
    naive = tmp_path / "e/seed-1/naive.result.json"
    n_first = naive.stat().st_mtime_ns
    verdicts = sorted((tmp_path / "e/seed-1/naive/runs").glob("*/epoch-*/verdicts.jsonl"))[0].read_text()
    run_eval(stricter, tmp_path / "e", ["standard", "naive"], [1], n_writeback=12, n_test=6, **QUIET)
    assert saved.stat().st_mtime_ns == first and naive.stat().st_mtime_ns != n_first
    # the re-run system's previous verdicts are kept one generation back, not deleted
    kept = sorted((tmp_path / "e/seed-1/naive.previous-runs").glob("*/epoch-*/verdicts.jsonl"))
    assert kept and kept[0].read_text() == verdicts
    run_eval(fake_cfg, tmp_path / "e", ["standard"], [1], n_writeback=12, n_test=9, **QUIET)   # another key
    assert saved.stat().st_mtime_ns != first


def test_a_result_reused_from_other_code_is_named_in_the_log_and_eval_md(fake_cfg, tmp_path, monkeypatch):
    from bidirag.evaluation import harness

    monkeypatch.setattr(harness, "git_commit", lambda: "aaaa")
    run_eval(fake_cfg, tmp_path / "e", ["standard"], [1], n_writeback=12, n_test=6, **QUIET)
    lines = []
    run_eval(fake_cfg, tmp_path / "e", ["standard"], [1], n_writeback=12, n_test=6, progress=False, log=lines.append)
    assert not any("warning" in x for x in lines)
    assert "reused from other code" not in (tmp_path / "e/eval.md").read_text()
    monkeypatch.setattr(harness, "git_commit", lambda: "bbbb")
    res = run_eval(fake_cfg, tmp_path / "e", ["standard"], [1], n_writeback=12, n_test=6, progress=False,
                   log=lines.append)
    assert any("computed by commit aaaa, this is bbbb" in x for x in lines)
    assert res["protocol"]["results_from_commits"] == ["aaaa"]
    assert "results reused from other code: aaaa" in (tmp_path / "e/eval.md").read_text()


def test_the_resume_key_ignores_settings_of_checks_that_do_not_run(fake_cfg):
    from bidirag.evaluation.harness import settings_digest

    acc = fake_cfg.acceptance
    assert "focus" not in acc.checks and "grounding" in acc.checks

    def with_(**upd):
        return fake_cfg.model_copy(update={"acceptance": acc.model_copy(update=upd)})
    base = settings_digest(fake_cfg)
    assert settings_digest(with_(focus_threshold=0.3)) == base                  # focus does not run
    assert settings_digest(with_(thresholds={"focus": 0.2})) == base
    assert settings_digest(with_(calibration="elsewhere.json")) == base
    assert settings_digest(with_(grounding_threshold=acc.grounding_threshold + 0.01)) != base
    listed = with_(checks=[*acc.checks, "focus"])
    assert settings_digest(listed) != base
    assert settings_digest(listed.model_copy(update={"acceptance": listed.acceptance.model_copy(
        update={"focus_threshold": 0.3})})) != settings_digest(listed)        # now it runs: its threshold counts


def test_any_squad_format_dataset(fake_cfg, tmp_path):
    f = _squad(tmp_path / "mine.json")
    res = run_eval(fake_cfg, tmp_path / "mine", ["standard", "bidirectional"], [3], n_writeback=8, n_test=6,
                   dataset=str(f), **QUIET)
    assert res["protocol"]["dataset"] == f"SQuAD-format file {f}"
    assert res["protocol"]["seed_corpus_paragraphs"] == 6       # 2 of the 3 articles are the report split
    every = run_eval(fake_cfg, tmp_path / "all", ["standard"], [3], n_writeback=8, n_test=6, dataset=str(f),
                     split="all", **QUIET)                      # a dataset nothing was calibrated on: all of it
    assert every["protocol"]["seed_corpus_paragraphs"] == 9 and every["protocol"]["split"] == "all"
    assert every["protocol"]["split_rule"].startswith("every article")


@pytest.mark.parametrize("data,msg", [
    ("not json", "not a UTF-8 JSON file"),
    ({"data": []}, "top level: needs a non-empty list 'data'"),
    ({"data": [{"title": "A", "paragraphs": [{"context": "c", "qas": [{"id": "1", "question": "q?"}]}]}]},
     r"data\[0\].paragraphs\[0\].qas\[0\]: needs a non-empty list 'answers'"),
    ({"data": [{"title": "A", "paragraphs": [{"qas": []}]}]}, r"data\[0\].paragraphs\[0\]: needs a non-empty string"),
    ({"data": [{"title": "A", "paragraphs": [{"context": "c", "qas": [
        {"id": "1", "question": "q?", "answers": [{"text": "a"}]},
        {"id": "1", "question": "r?", "answers": [{"text": "b"}]}]}]}]}, "id '1' appears twice"),
])
def test_malformed_datasets_are_named(tmp_path, data, msg):
    f = tmp_path / "bad.json"
    f.write_text(data if isinstance(data, str) else json.dumps(data))
    with pytest.raises(DatasetError, match=msg):
        load_squad_file(f)


@pytest.mark.parametrize("args,msg", [
    (["--systems", "standard,magic"], "unknown system"),
    (["--seeds", "1,1"], "seeds must be distinct"),
    (["--seeds", "a,b"], "give distinct integers"),
    (["--dataset", "missing.json"], "no such file"),
    (["--split", "all"], "--split all: the default dataset's calibrate articles chose the thresholds"),
    (["--reading", "labels.jsonl"], "use it with --split calibrate"),
    (["--design", "answers.jsonl"], "use it with --split calibrate"),
    (["--design", "missing.jsonl", "--split", "calibrate", "--systems", "naive"], "--design:"),
    (["--reading", "missing.jsonl", "--split", "calibrate", "--systems", "naive"], "reading labels not found"),
])
def test_bad_eval_input_exits_2_and_writes_nothing(tmp_path, capsys, args, msg):
    out = tmp_path / "never"
    code = cli.main(["eval", "--out", str(out), "--config", str(ROOT / "configs/default.yaml"), "--config",
                     str(ROOT / "configs/test-fakes.yaml"), "--quiet", *args])
    err = capsys.readouterr().err
    assert code == 2 and msg in err and len(err.strip().splitlines()) == 1 and not out.exists()


def test_squad_v2_unanswerable_questions_are_skipped_with_a_warning(tmp_path, caplog):
    f = _squad(tmp_path / "v2.json", n_articles=1, paras=1, qs=2)
    data = json.loads(f.read_text())
    data["data"][0]["paragraphs"][0]["qas"].append({"id": "x", "question": "Which number is item 9?", "answers": [],
                                                    "is_impossible": True, "plausible_answers": [{"text": "9"}]})
    f.write_text(json.dumps(data))
    arts = load_squad_file(f)
    assert [q.qid for q in arts[0].questions] == ["0-0-0", "0-0-1"]
    assert "1 unanswerable questions" in caplog.text
    data["data"][0]["paragraphs"][0]["qas"] = data["data"][0]["paragraphs"][0]["qas"][-1:]
    f.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match="holds no answerable questions"):
        load_squad_file(f)
    data["data"][0]["paragraphs"][0]["qas"][0]["is_impossible"] = False     # no answers and not marked: malformed
    f.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match="needs a non-empty list 'answers'"):
        load_squad_file(f)


def test_eval_errors_are_eval_errors():
    assert issubclass(DatasetError, EvalError)


def test_calibration_rescores_trust_with_the_current_model(fake_cfg, tmp_path):
    """A retrained trust model is calibrated on the same answers: the sweep uses its scores, not the stored ones."""
    from bidirag.checks.trust import load_model
    from bidirag.config import load_config
    from bidirag.evaluation.harness import _calibration

    model = tmp_path / "trust.json"

    def write_model(coef):
        model.write_text(json.dumps({"features": ["check:grounding"], "mean": [0.0], "std": [1.0], "coef": [coef],
                                     "intercept": 0.0}))
        load_model.cache_clear()

    write_model(4.0)
    cfg = load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml", overrides=[
        f"store.uri={tmp_path / 'store'}", f"run.runs_dir={tmp_path / 'runs'}", f"acceptance.trust_model={model}",
        "acceptance.checks=[query_safety, answerable, relevance, grounding, attribution, novelty, trust]"])
    res = run_eval(cfg, tmp_path / "cal", ["naive"], [5], n_writeback=12, n_test=6, split="calibrate", **QUIET)
    assert res["calibration"]["choice"]["check"] == "trust"
    high = {r["threshold"]: r["accepted"] for r in res["calibration"]["trust"]["table"]}
    write_model(-4.0)               # the opposite model: answers it trusted it now distrusts
    low = {r["threshold"]: r["accepted"] for r in _calibration(cfg, tmp_path / "cal", [5], ["naive"])["trust"]["table"]}
    assert high != low and high[0.6] > low[0.6]


def test_calibration_scores_a_check_added_after_the_answers_were_generated(fake_cfg, tmp_path):
    """Saved naive answers scored before a check existed get its score, the same Validate gives a fresh answer."""
    from bidirag.config import load_config
    from bidirag.evaluation.harness import _calibration, add_missing_scores

    old = "acceptance.checks=[query_safety, answerable, relevance, grounding, attribution, novelty]"
    over = [f"store.uri={tmp_path / 'store'}", f"run.runs_dir={tmp_path / 'runs'}"]
    cfg = load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml", overrides=[*over, old])
    new = load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml", overrides=[
        *over, old.replace("grounding,", "grounding, sentence_grounding,", 1)])

    def verdicts(d):
        return {v["query_id"]: v for f in (tmp_path / d).glob("seed-5/naive/runs/*/epoch-*/verdicts.jsonl")
                for v in map(json.loads, f.read_text().splitlines()) if v.get("scores")}

    run_eval(cfg, tmp_path / "cal", ["naive"], [5], n_writeback=12, n_test=6, split="calibrate", **QUIET)
    saved = verdicts("cal")
    assert saved and not any("sentence_grounding" in v["scores"] for v in saved.values())
    assert add_missing_scores(new, list(saved.values()), tmp_path / "cal" / "_seed_store") == ["sentence_grounding"]
    assert add_missing_scores(new, list(saved.values()), tmp_path / "cal" / "_seed_store") == []
    run_eval(new, tmp_path / "cal2", ["naive"], [5], n_writeback=12, n_test=6, split="calibrate", **QUIET)
    fresh = verdicts("cal2")
    assert {q: v["scores"]["sentence_grounding"] for q, v in saved.items()} == \
        {q: v["scores"]["sentence_grounding"] for q, v in fresh.items()}
    assert "sentence_grounding" in _calibration(new, tmp_path / "cal", [5], ["naive"])    # its sweep table


def test_design_answers_join_the_sweeps_only_from_held_out_articles(fake_cfg, tmp_path):
    """--design: the design split's dev answers (never fitted by the trust model) are pooled into calibration; the
    training articles' answers never are; their reading labels count like the calibrate split's."""
    import gzip

    from bidirag.config import load_config
    from bidirag.evaluation.calibrate import load_reading
    from bidirag.evaluation.harness import _calibration, design_verdicts
    from bidirag.training.train_verifier import is_dev

    rows = [{"query_id": f"d{i}", "question": "Which number is item 9?", "answer": "Item 9 is number 9 [1].",
             "clean_text": "Item 9 is number 9.", "docs": ["Item 9 is number 9."], "gold": ["9"],
             "gold_paragraph": f"squad:Title_{i}#0", "correct": True, "scores": {"grounding": 0.9, "novelty": 0.5}}
            for i in range(40)]
    data = tmp_path / "design.answers.jsonl.gz"
    with gzip.open(data, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    pool = design_verdicts([data])
    dev = {r["query_id"] for r in rows if is_dev(r)}
    assert 0 < len(dev) < 40 and {v["query_id"] for v in pool} == dev
    checks_ = "acceptance.checks=[query_safety, answerable, relevance, grounding, attribution, novelty]"
    cfg = load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml", overrides=[
        f"store.uri={tmp_path / 'store'}", f"run.runs_dir={tmp_path / 'runs'}", checks_,
        "writeback.form=sentence"])         # the labels below read the answer as written in the sentence form
    run_eval(cfg, tmp_path / "cal", ["naive"], [5], n_writeback=12, n_test=0, split="calibrate", **QUIET)
    alone = _calibration(cfg, tmp_path / "cal", [5], ["naive"])
    labels = tmp_path / "read.jsonl"
    labels.write_text("".join(json.dumps({"query_id": q, "doc": "Item 9 is number 9.", "judgement": "wrong"}) + "\n"
                              for q in dev))
    pooled = _calibration(cfg, tmp_path / "cal", [5], ["naive"], load_reading(labels), labels, pool, [data])
    assert pooled["grounding"]["answers"] == alone["grounding"]["answers"] + len(dev)
    at = {r["threshold"]: r for r in pooled["grounding"]["table"]}[0.85]
    assert at["read"] == len(dev) and at["reading_precision"] == 0.0      # the design answers' labels are read
    assert pooled["choice"]["design_answers"] == len(dev) and "design" in pooled["choice"]["split"]


def test_evidence_selection_is_compared_paired_on_the_same_test_queries(fake_cfg, tmp_path):
    from bench.evidence_eval import compare, report

    g = fake_cfg.models.generator
    cut = fake_cfg.model_copy(update={"models": fake_cfg.models.model_copy(update={
        "generator": g.model_copy(update={"evidence_sentences": 1})})})
    run_eval(fake_cfg, tmp_path / "whole", ["standard"], [1], n_writeback=12, n_test=9, **QUIET)
    run_eval(cut, tmp_path / "cut", ["standard"], [1], n_writeback=12, n_test=9, **QUIET)
    whole = json.loads((tmp_path / "whole/seed-1/standard.result.json").read_text())["per_query"]
    assert all(q["docs_shown"] == fake_cfg.retrieval.top_k for q in whole)
    res = compare(tmp_path / "whole", tmp_path / "cut")
    assert res["queries"] == 9 and res["protocols"]["evidence"]["generator"]["evidence_sentences"] == 1
    chars = res["paired"]["evidence_chars"]
    assert chars["mean_diff"] < 0 and res["means"]["evidence_chars"]["whole"] > 0   # cut docs are shorter
    assert res["paired"]["answer_coverage"]["mean_diff"] == 0      # same retrieval, only the prompt differs
    assert "evidence_chars" in report(res)
    run_eval(cut, tmp_path / "other", ["standard"], [1], n_writeback=12, n_test=6, **QUIET)
    with pytest.raises(SystemExit, match="different test queries"):
        compare(tmp_path / "whole", tmp_path / "other")


def test_reading_labels_make_the_choice_hold_by_reading_too(tmp_path):
    """With a reading audit of the calibrate split, a threshold is chosen only if its accepted answers reach the
    target by the gold rule AND by reading, every accepted answer read; labels bind to the exact answer text."""
    from bidirag.evaluation.calibrate import calibrate, choose, load_reading

    # 40 answers, trust i/40; all contain the gold answer; answers 20..29 hold it beside a wrong claim (read wrong)
    verdicts = [{"query_id": f"q{i}", "answer": f"Paris, answer {i}.", "scores": {"trust": i / 40}}
                for i in range(40)]
    labels = {f"q{i}": ["Paris"] for i in range(40)}
    lab = tmp_path / "read.jsonl"
    lab.write_text("\n".join(json.dumps({"query_id": f"q{i}", "doc": f"Paris, answer {i}.",
                                          "judgement": "wrong" if 20 <= i < 30 else "correct"})
                             for i in range(10, 40)) + "\n")
    reading = load_reading(lab)
    gold_only = choose(calibrate(verdicts, labels, {"trust": 0.5}, "trust"), 0.9, 0.1)
    both = calibrate(verdicts, labels, {"trust": 0.5}, "trust", reading=reading)
    pick = choose(both, 0.9, 0.1)
    assert gold_only["threshold"] == 0.0                     # the gold rule alone accepts everything
    # trust >= 0.725 accepts answers 29..39: one read wrong of 11 = 90.9%; 0.7 would add the wrong 28 (83%)
    assert pick["threshold"] == 0.725 and pick["target_met"] and pick["reading_precision"] == round(10 / 11, 4)
    assert both["reading"]["matched"] == 30
    row = next(r for r in both["table"] if r["threshold"] == 0.5)
    assert row["read"] == 20 and row["reading_precision"] == 0.5
    verdicts[35]["answer"] = "Paris, regenerated differently."          # a label never applies to another text
    again = calibrate(verdicts, labels, {"trust": 0.5}, "trust", reading=reading)
    assert again["reading"]["matched"] == 29
    assert next(r for r in again["table"] if r["threshold"] == 0.75)["read"] == 9
    verdicts[36]["answer"] = verdicts[37]["answer"] = "Paris, also regenerated."   # 8 of 11 read: < 90%
    unread = choose(calibrate(verdicts, labels, {"trust": 0.5}, "trust", reading=reading), 0.9, 0.1)
    assert not unread["target_met"] and unread["threshold"] != 0.725    # precision that was not read is not shown
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query_id": "q1", "doc": "x", "judgement": "maybe"}\n')
    with pytest.raises(EvalError, match="bad.jsonl:1: judgement 'maybe'"):
        load_reading(bad)


def test_squad_shifts_are_fetched_from_the_sdist_as_squad_format_files(tmp_path, monkeypatch):
    """`bidirag data fetch squad-shifts` copies the SQuADShifts files out of the cached bigbench sdist and checks
    each loads as a SQuAD-format dataset; a file that does not is named."""
    import io
    import tarfile

    from bidirag.data import bigbench
    from bidirag.data.fetch import fetch_squad_shifts

    monkeypatch.setenv("BIDIRAG_CACHE", str(tmp_path / "cache"))
    good = _squad(tmp_path / "good.json").read_bytes()
    sdist = bigbench.sdist_path()
    sdist.parent.mkdir(parents=True)
    with tarfile.open(sdist, "w:gz") as tar:
        for name in bigbench.SHIFTS:
            data = good if name != "reddit" else b'{"data": []}'
            info = tarfile.TarInfo(bigbench.PREFIX + bigbench.shift_member(name))
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    opened = []
    real_open = tarfile.open
    monkeypatch.setattr(tarfile, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    res = fetch_squad_shifts(tmp_path / "out", names=("nyt", "new_wiki"))
    assert len(opened) == 1                                   # both files out of the 358 MB sdist in one pass
    assert res["nyt"] == {"file": str(tmp_path / "out/nyt_v1.0.json"), "articles": 3, "paragraphs": 9,
                          "questions": 36}
    assert "nyt_v1.0.json" in (tmp_path / "out/README.md").read_text()
    with pytest.raises(DatasetError, match="reddit_v1.0.json: top level"):
        fetch_squad_shifts(tmp_path / "out", names=("reddit",))


def test_two_readers_are_correct_only_together_and_must_read_the_same_rows(tmp_path):
    from bidirag.evaluation.audit import two_readers

    def write(name, judgements):
        (tmp_path / name).write_text("".join(json.dumps({"row": f"r{i}", "judgement": j, "strict": i == 1,
                                                         "reason": f"{name} {i}"}) + "\n"
                                             for i, j in enumerate(judgements)) + "\n")
    write("out-A.jsonl", ["correct", "correct", "wrong", "not_an_answer"])
    write("out-B.jsonl", ["correct", "not_an_answer", "correct", "wrong"])
    got = two_readers(tmp_path)
    assert [got[f"r{i}"]["judgement"] for i in range(4)] == ["correct", "not_an_answer", "wrong", "not_an_answer"]
    assert got["r1"]["strict"] and not got["r0"]["strict"] and got["r2"]["reason_b"] == "out-B.jsonl 2"
    write("out-B.jsonl", ["correct", "correct", "wrong"])
    with pytest.raises(ValueError, match="read different rows"):
        two_readers(tmp_path)
    write("out-B.jsonl", ["correct", "correct", "wrong", "maybe"])
    with pytest.raises(ValueError, match="judgement must be one of"):
        two_readers(tmp_path)
