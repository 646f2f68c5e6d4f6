"""`bidirag eval`: the same models and queries through each system, per seed, on a copy of one seed store.

Protocol (docs in eval.md): the articles of one split (`report` by default; `calibrate` for `make
calibrate`) of a SQuAD-format dataset; the seed corpus is their paragraphs. Per seed, a write-back stream W
and test queries T in three groups (`protocol.py`); each system runs W through `epochs` epochs (standard
never writes), then answers T against its snapshot. Every (seed, system) result is saved as it finishes
(`seed-S/SYSTEM/result.json`), so an interrupted run continues where it stopped. Summaries: per group, mean
and sample std over seeds, and paired bootstrap intervals of each system minus standard RAG per query.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bidirag import checks
from bidirag.config import Config
from bidirag.data.querylog import batched
from bidirag.distill import run_distill
from bidirag.epoch import run_epoch
from bidirag.evaluation import dataset as ds
from bidirag.evaluation.audit import audit_sample
from bidirag.evaluation.calibrate import calibrate, choose, load_reading
from bidirag.evaluation.calibrate import write as write_calibration
from bidirag.evaluation.dataset import EvalError
from bidirag.evaluation.metrics import mean_std, paired_bootstrap, query_metrics
from bidirag.evaluation.protocol import GROUPS, sample
from bidirag.evaluation.report import write_reports
from bidirag.ingest import ingest
from bidirag.models import handlers
from bidirag.pipeline import Pipeline
from bidirag.runners.local import LocalRunner
from bidirag.stages.rag import Generate, Retrieve, model_ids, prompt_docs
from bidirag.store import CORPUS, EXPERIENCE, UNITS, Store
from bidirag.text import contains_answer

# system -> (write-back mode of its epochs, distil knowledge units from the labeled write-back stream first)
SYSTEMS = {"standard": ("none", False), "naive": ("naive", False), "bidirectional": ("bidirectional", False),
           "writeback": ("none", True), "bidirectional+writeback": ("bidirectional", True)}
PAIRED = ("f1", "answer_coverage", "answer_contains_gold")
MEANS = ("coverage", "answer_coverage", "em", "f1", "answer_contains_gold")

logger = logging.getLogger(__name__)


def _with(cfg: Config, **sections) -> Config:
    upd = {k: getattr(cfg, k).model_copy(update=v) for k, v in sections.items()}
    return cfg.model_copy(update=upd)


def check_args(systems: list[str], seeds: list[int]) -> None:
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        raise EvalError(f"unknown system(s) {unknown}; choose from {', '.join(SYSTEMS)}")
    if len(set(systems)) != len(systems):
        raise EvalError(f"a system is listed twice: {systems}")
    if len(set(seeds)) != len(seeds) or not seeds:
        raise EvalError(f"seeds must be distinct and at least one: {seeds}")


def answer_queries(cfg: Config, records: list[dict], use_experience: bool) -> tuple[list[dict], float]:
    """Retrieve + generate on the store's current snapshot, no write. Returns (records, seconds)."""
    st = Store.from_config(cfg.store, cfg.models.embedder.dim)
    pinned, exp, units = st.table(CORPUS).version, st.table(EXPERIENCE).version, st.table(UNITS).version
    top_m = cfg.experience.top_m if use_experience else 0
    pipe = Pipeline("answer", [Retrieve(cfg, pinned, exp, top_m, units), Generate(cfg, self_check=False)])
    t = time.perf_counter()
    out = [r for b in LocalRunner().stream(pipe, batched(iter(records), cfg.run.batch_size)) for r in b]
    return out, time.perf_counter() - t


def git_commit() -> str | None:
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10, cwd=Path(__file__).resolve().parent).stdout.strip()
        return res.stdout.strip() + ("+dirty" if dirty else "") if res.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _seed_store(cfg: Config, out: Path, articles, progress: bool) -> tuple[Path, int]:
    store, corpus = out / "_seed_store", out / "seed_corpus.parquet"
    texts = [p for a in articles for p in a.paragraphs]
    srcs = [f"squad:{a.title}#{i}" for a in articles for i in range(len(a.paragraphs))]
    if not (store / "done").exists():
        pq.write_table(pa.table({"text": texts, "source": srcs}), corpus)
        shutil.rmtree(store, ignore_errors=True)
        ingest(_with(cfg, store={"uri": str(store)}), corpus, progress=progress)
        (store / "done").write_text("ok\n")
    return store, len(texts)


def _write_logs(sdir: Path, w, test) -> tuple[Path, Path]:
    sdir.mkdir(parents=True, exist_ok=True)
    log, ex = sdir / "writeback.jsonl", sdir / "examples.jsonl"
    log.write_text("".join(json.dumps({"query_id": q.qid, "text": q.text}) + "\n" for q in w))
    ex.write_text("".join(json.dumps({"query_id": q.qid, "question": q.text, "answers": list(q.answers)}) + "\n"
                          for q in w))
    return log, ex


def score_answers(cfg: Config, test, answered: list[dict]) -> list[dict]:
    """Per test query: its group, answer, metrics against its gold answers, and what the generator was shown."""
    per_q = []
    for t, r in zip(test, answered, strict=True):
        m = query_metrics(r, t.question.answers)
        shown = prompt_docs(r["text"], r.get("retrieved", []), cfg.models.generator)
        per_q.append({"qid": t.qid, "group": t.group, "answer": r.get("answer"), **m,
                      "docs_shown": len(shown), "evidence_chars": sum(map(len, shown))})
    return per_q


def run_system(cfg: Config, system: str, sdir: Path, base_store: Path, log_path: Path, test, epochs: int,
               drep: dict | None, progress: bool) -> dict:
    """One system on one seed: write-back epochs, then the test queries. Returns its result (saved by caller)."""
    mode, _ = SYSTEMS[system]
    if (sdir / "runs").is_dir():     # a run of another key (or interrupted): keep its verdicts, one generation back
        prev = sdir.parent / f"{sdir.name}.previous-runs"
        shutil.rmtree(prev, ignore_errors=True)
        shutil.move(str(sdir / "runs"), str(prev))
    shutil.rmtree(sdir, ignore_errors=True)
    shutil.copytree(base_store, sdir / "store")
    scfg = _with(cfg, store={"uri": str(sdir / "store")}, run={"runs_dir": str(sdir / "runs")},
                 writeback={"mode": mode})
    handlers.forget_outputs()   # each system pays for its own generation: latencies comparable
    reps, t0 = [], time.perf_counter()
    if mode != "none":
        reps = [run_epoch(scfg, log_path, run_name="epochs", progress=progress) for _ in range(epochs)]
    train_s = time.perf_counter() - t0
    recs = [{"query_id": t.qid, "text": t.question.text} for t in test]
    answered, test_s = answer_queries(scfg, recs, use_experience=mode == "bidirectional")
    per_q = score_answers(cfg, test, answered)
    st = Store.from_config(scfg.store, cfg.models.embedder.dim)
    written = [r for r in st.table(CORPUS).to_arrow().select(["doc_id", "text", "query_id", "origin", "scores"])
               .to_pylist() if r["origin"] == "writeback"]
    unit_ids = set(st.table(UNITS).to_arrow().column("doc_id").to_pylist())
    return {"system": system, "per_query": per_q, "written": written, "epochs": reps,
            "unit_retrieved": sum(any(d["doc_id"] in unit_ids for d in r.get("retrieved", [])) for r in answered),
            "units_written": drep["written"] if drep else 0, "distill": drep,
            "seconds": {"writeback": round(train_s, 1), "answer": round(test_s, 1),
                        "distill": drep["wall_seconds"] if drep else 0.0}}


def run_eval(cfg: Config, out: str | Path, systems: list[str], seeds: list[int], n_writeback: int = 200,
             n_test: int = 100, epochs: int = 1, dataset: str | None = None, split: str = "report",
             progress: bool = True, log=logger.info, reading: str | Path | None = None,
             design: list[str | Path] | None = None) -> dict:
    """`reading`: reading labels of calibrate-split answers (`calibrate.load_reading`); the trust threshold is then
    chosen to reach the target precision by the gold rule and by reading. `design`: labeled answer files of the
    design split (`training.verifier_data`); their held-out (dev) answers join the calibrate split's in the
    threshold sweeps (`design_verdicts`)."""
    check_args(systems, seeds)
    for flag, given in (("--reading", reading), ("--design", design)):
        if given and (split != "calibrate" or "naive" not in systems):
            raise EvalError(f"{flag} is for choosing thresholds: use it with --split calibrate --systems naive")
    if split == "all" and dataset is None:
        raise EvalError("--split all: the default dataset's calibrate articles chose the thresholds, so its figures "
                        "come from --split report; use --split all only with --dataset FILE that nothing was "
                        "calibrated on")
    read = load_reading(reading) if reading is not None else None
    pool = design_verdicts(design) if design else []
    t_start = time.perf_counter()
    commit = git_commit()    # the code this invocation runs (HEAD may move while it runs)
    all_articles, desc = ds.load(dataset)
    articles = ds.split(all_articles, split)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    key = {"config": settings_digest(cfg), "dataset": ds.dataset_digest(all_articles), "split": split,
           "n_writeback": n_writeback, "n_test": n_test, "epochs": epochs}
    seed_store, n_paras = _seed_store(cfg, out, articles, progress)
    results: dict[str, list[dict]] = {s: [] for s in systems}
    for seed in seeds:
        w, test = sample(articles, seed, n_writeback, n_test)
        log_path, examples = _write_logs(out / f"seed-{seed}", w, test)
        labels = {q.qid: list(q.answers) for q in w}
        drep = _distill_once(cfg, out / f"seed-{seed}", seed_store, examples, systems, key, progress, log)
        for system in systems:
            results[system].append(_resumable(cfg, system, seed, out, seed_store, log_path, test, epochs, drep,
                                              key, labels, progress, log, commit))
    result = summarize_all(results, systems)
    result["protocol"] = _provenance(cfg, desc, split, n_paras, n_writeback, n_test, epochs, seeds, key,
                                     time.perf_counter() - t_start, results, commit)
    result["audit"] = audit_sample(results, articles, out / "audit.jsonl", n=60)
    write_reports(result, out)
    if "naive" in systems and split == "calibrate":   # thresholds are chosen on the calibrate split only
        result["calibration"] = _calibration(cfg, out, seeds, systems, read, reading, pool, design)
    return result


def design_verdicts(files: list[str | Path]) -> list[dict]:
    """The design split's held-out answers as naive verdicts: the dev articles of `training.verifier_data` files
    (`train_verifier.is_dev`, the 20% the trust model is never fitted on), each with its question, answer, scores,
    the generator's confidence, its retrieved doc texts (`docs`) and its gold answers (`gold`). A third article pool
    for the threshold sweeps: the calibrate split alone (8 articles) chose a threshold that did not carry over."""
    from bidirag.training.train_verifier import is_dev, read_rows

    try:
        rows = read_rows(files)
    except (OSError, ValueError) as e:
        raise EvalError(f"--design: {e}") from None
    out = [{"query_id": r["query_id"], "text": r["question"], "answer": r["answer"], "clean_text": r["clean_text"],
            "scores": {**r["scores"], "trust": 0.0},     # trust: scored by rescore_trust with the current model
            "confidence": r.get("confidence"), "docs": list(r["docs"]),
            "gold": list(r["gold"]), "pool": "design"} for r in rows if is_dev(r)]
    if not out:
        raise EvalError(f"--design: no answers of the design split's dev articles in {', '.join(map(str, files))}")
    return out


def _distill_once(cfg, seed_dir: Path, seed_store: Path, examples: Path, systems, key, progress, log) -> dict | None:
    """Knowledge units distilled once per seed from the labeled write-back stream; every writeback system starts
    from them (resumable like the systems)."""
    if not any(SYSTEMS[s][1] for s in systems):
        return None
    dist = seed_dir / "_distilled"
    done = dist / "report.json"
    if done.exists() and json.loads(done.read_text()).get("key") == key:
        return json.loads(done.read_text())["report"]
    shutil.rmtree(dist, ignore_errors=True)
    shutil.copytree(seed_store, dist / "store")
    log(f"[eval] {seed_dir.name}: distilling {sum(1 for _ in examples.open())} labeled examples")
    handlers.forget_outputs()
    rep = run_distill(_with(cfg, store={"uri": str(dist / "store")}, run={"runs_dir": str(dist / "runs")}),
                      examples, run_name="distill", progress=progress)
    done.write_text(json.dumps({"key": key, "report": rep}) + "\n")
    return rep


def settings_digest(cfg: Config) -> str:
    """The resume key's config digest: the config without the settings of checks that are not in
    `acceptance.checks` (an opt-in check's threshold, or a new check added to the code, changes no result of a
    run that does not list it) and without the name of the calibration file (informational)."""
    d = cfg.model_dump(mode="json")
    acc = d["acceptance"]
    for f in checks.idle_settings(cfg.acceptance):
        acc.pop(f, None)
    acc["thresholds"] = {n: v for n, v in acc.get("thresholds", {}).items()
                         if n in cfg.acceptance.checks or n not in checks.registered()}
    acc.pop("calibration", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def answering_digest(cfg: Config) -> str:
    """Digest of the settings a system that never writes (standard RAG, `writeback`) depends on: the config without
    the write-back side (acceptance checks, dedup, write form, experience store, how written docs are shown),
    which it never runs: its store holds no written doc."""
    d = cfg.model_dump(mode="json")
    for k in ("acceptance", "dedup", "writeback", "experience"):
        d.pop(k, None)
    d["retrieval"].pop("show_written", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def system_key(cfg: Config, system: str, key: dict) -> dict:
    """The resume key of one system's result: a system that never writes keeps its result when only write-back
    settings change (a new trust threshold does not re-run standard RAG)."""
    return {**key, "config": answering_digest(cfg)} if SYSTEMS[system][0] == "none" else key


def _resumable(cfg, system, seed, out: Path, seed_store, log_path, test, epochs, drep, key, labels, progress,
               log, commit: str | None = None) -> dict:
    key = system_key(cfg, system, key)
    sdir = out / f"seed-{seed}" / system
    saved = out / f"seed-{seed}" / f"{system}.result.json"
    if saved.exists():
        res = json.loads(saved.read_text())
        if res.get("key") == key:
            log(f"[eval] seed {seed} {system}: done earlier, reusing {saved.name}")
            if commit and res.get("git_commit") and res["git_commit"] != commit:
                log(f"[eval]   warning: it was computed by commit {res['git_commit']}, this is {commit}: the key "
                    "holds the config, models and data, not the code; delete it or use a new --out to recompute")
            return res
    base = seed_store if not SYSTEMS[system][1] else out / f"seed-{seed}" / "_distilled" / "store"
    t = time.perf_counter()
    log(f"[eval] seed {seed} {system}: {len(labels)} write-back queries x {epochs} epoch(s), {len(test)} test")
    res = run_system(cfg, system, sdir, base, log_path, test, epochs, drep, progress)
    for w in res["written"]:
        w["correct"] = contains_answer(checks.written_claim(w["text"]), labels.get(w["query_id"], []))
    res.update({"key": key, "seed": seed, "n_writeback": len(labels), "git_commit": commit,
                "wall_seconds": round(time.perf_counter() - t, 1)})
    saved.write_text(json.dumps(res, default=str) + "\n")
    f1 = sum(q["f1"] for q in res["per_query"]) / max(1, len(res["per_query"]))
    log(f"[eval]   seed {seed} {system}: F1 {f1:.3f}, written {len(res['written'])}, "
        f"{res['wall_seconds']:.0f} s")
    return res


def _group_means(per_q: list[dict]) -> dict:
    out = {}
    for g in (*GROUPS, "all"):
        rows = [q for q in per_q if g == "all" or q["group"] == g]
        out[g] = {m: (sum(q[m] for q in rows) / len(rows) if rows else 0.0) for m in MEANS}
        out[g]["n"] = len(rows)
    return out


def _paired(runs: list[dict], base: list[dict]) -> dict:
    """Paired per-query differences vs the base system over every seed, per group and metric."""
    res = {}
    for g in (*GROUPS, "all"):
        a, b = {m: [] for m in PAIRED}, {m: [] for m in PAIRED}
        for r, s in zip(runs, base, strict=True):
            sb = {q["qid"]: q for q in s["per_query"]}
            for q in r["per_query"]:
                if g in ("all", q["group"]) and q["qid"] in sb:
                    for m in PAIRED:
                        a[m].append(q[m])
                        b[m].append(sb[q["qid"]][m])
        res[g] = {m: paired_bootstrap(a[m], b[m]) for m in PAIRED}
    return res


def summarize_all(results: dict[str, list[dict]], systems: list[str]) -> dict:
    summary = {}
    for s in systems:
        runs = results[s]
        gm = [_group_means(r["per_query"]) for r in runs]
        groups = {g: {m: mean_std([x[g][m] for x in gm]) for m in MEANS} for g in (*GROUPS, "all")}
        for g in groups:
            groups[g]["n_per_seed"] = gm[0][g]["n"] if gm else 0
        written = [w for r in runs for w in r["written"]]
        epochs = [e for r in runs for e in r["epochs"]]
        generated = sum(e["generated"] for e in epochs)
        names = list(dict.fromkeys(c for e in epochs for c in e["rejected_by_check"]))
        summary[s] = {
            "groups": groups,
            "written": mean_std([len(r["written"]) for r in runs]),
            "write_share": mean_std([len(r["written"]) / max(1, r["n_writeback"]) for r in runs]),
            "precision_gold": {"correct": sum(w["correct"] for w in written), "written": len(written),
                               "share": sum(w["correct"] for w in written) / len(written) if written else None},
            "acceptance_rate": (sum(e["accepted"] - e["deduplicated"] for e in epochs) / generated) if generated
            else None,
            "rejected_by_check": {c: sum(e["rejected_by_check"].get(c, 0) for e in epochs) / len(runs) for c in names},
            "units_written": mean_std([r["units_written"] for r in runs]),
            "unit_retrieved_share": mean_std([r["unit_retrieved"] / max(1, len(r["per_query"])) for r in runs]),
            "seconds": {k: mean_std([r["seconds"][k] for r in runs]) for k in ("writeback", "answer", "distill")},
        }
        if "standard" in results and s != "standard":
            summary[s]["vs_standard"] = _paired(runs, results["standard"])
    return {"systems": summary}


def _provenance(cfg: Config, desc, split, n_paras, n_writeback, n_test, epochs, seeds, key, wall, results,
                commit: str | None) -> dict:
    g = cfg.models.generator
    return {"dataset": desc, "dataset_digest": key["dataset"], "split": split,
            "split_rule": ("every article (a dataset no threshold or model was chosen on)" if split == "all" else
                           "titles by sha256(title): first third calibrate, rest report "
                           "(bidirag/data/eval_split.json)"),
            "seed_corpus_paragraphs": n_paras, "writeback_queries_per_seed": n_writeback,
            "test_queries_per_seed": n_test, "test_groups": list(GROUPS), "epochs": epochs, "seeds": seeds,
            "config_hash": cfg.digest(), "git_commit": commit, "git_commit_note": "HEAD when this invocation started",
            "results_from_commits": sorted({str(r.get("git_commit")) for rs in results.values() for r in rs}),
            "models": json.loads(model_ids(cfg)),
            "generator": {"backend": g.backend, "path": g.path, "max_new_tokens": g.max_new_tokens,
                          "evidence_sentences": g.evidence_sentences, "max_doc_chars": g.max_doc_chars},
            "thresholds": checks.thresholds(cfg.acceptance), "checks": list(cfg.acceptance.checks),
            "calibration_file": cfg.acceptance.calibration, "top_k": cfg.retrieval.top_k,
            "written_extra": cfg.retrieval.written_extra, "show_written": cfg.retrieval.show_written,
            "experience_top_m": cfg.experience.top_m, "distill_top_k": cfg.distill.top_k,
            "wall_seconds": round(wall, 1), "wall_seconds_note": "this invocation; results reused from an "
                                                                "interrupted run keep their own wall_seconds",
            "results_wall_seconds": round(sum(r["wall_seconds"] for rs in results.values() for r in rs), 1),
            "seconds_per_phase": {s: {"writeback": sum(r["seconds"]["writeback"] for r in rs),
                                      "answer": sum(r["seconds"]["answer"] for r in rs),
                                      "distill": sum(r["seconds"]["distill"] for r in rs)}
                                  for s, rs in results.items()},
            "bootstrap": {"resamples": 2000, "seed": 0, "interval": "95% percentile, pairs resampled"}}


def _calibration(cfg: Config, out: Path, seeds: list[int], systems, reading=None, reading_file=None,
                 design: list[dict] | None = None, design_files=None) -> dict:
    """naive scores every answer without rejecting: the data for threshold sweeps (with `design` verdicts, the
    design split's held-out answers beside them)."""
    verdicts, labels = [], {}
    for seed in seeds:
        for f in (out / f"seed-{seed}" / "naive" / "runs").glob("*/epoch-*/verdicts.jsonl"):
            verdicts += [json.loads(x) for x in f.read_text().splitlines()]
        labels.update({json.loads(x)["query_id"]: json.loads(x)["answers"] for x in
                       (out / f"seed-{seed}" / "examples.jsonl").read_text().splitlines()})
    for v in design or []:
        verdicts.append(v)
        labels[v["query_id"]] = v["gold"]
    add_missing_scores(cfg, verdicts, out / "_seed_store")
    if "trust" in cfg.acceptance.checks:
        rescore_trust(cfg, verdicts, out / "_seed_store")
    if cfg.writeback.form == "extractive":
        add_extractive(cfg, verdicts, out / "_seed_store")
    if cfg.writeback.form == "quote":
        add_quote(cfg, verdicts, out / "_seed_store")
    res = calibrate_checks(cfg, verdicts, labels, out, reading)
    check = "trust" if "trust" in res else "grounding" if "grounding" in res else None
    if check:
        res["choice"] = choose(res[check])
        res["choice"].update({"split": "calibrate" + (" + design (dev articles)" if design else ""),
                              "seeds": seeds, "calibration_dir": str(out),
                              "design_files": [str(f) for f in design_files or []],
                              "design_answers": len(design or []),
                              "reading_file": None if reading_file is None else str(reading_file),
                              "set": f"acceptance.{checks.get(check).threshold_field}={res['choice']['threshold']}"})
        (out / "calibration-choice.json").write_text(json.dumps(res["choice"], indent=1) + "\n")
    return res


def add_missing_scores(cfg: Config, verdicts: list[dict], store_uri: Path) -> list[str]:
    """Score the configured checks that the verdicts' answers were never scored by (a check added after those
    answers were generated: `training.add_scores`), from each verdict's question, answer and retrieved doc ids,
    so calibration sweeps it on the same answers without generating them again. Returns the checks added."""
    from bidirag.models import handlers
    from bidirag.training.add_scores import REFUSED, add_scores

    scored = [v for v in verdicts if v.get("scores") and v.get("answer") is not None]
    missing = [c for c in cfg.acceptance.checks if c not in REFUSED and any(c not in v["scores"] for v in scored)]
    if not missing:
        return []
    texts = Store(store_uri, dim=None).texts(CORPUS)
    rows = [{"question": v["text"], "answer": v["answer"], "clean_text": v.get("clean_text") or "",
             "docs": v["docs"] if "docs" in v else [texts.get(d, "") for d in v.get("retrieved") or []],
             "scores": v["scores"]} for v in scored]
    logger.info("scoring check(s) %s on %d saved answers", ", ".join(missing), len(rows))
    add_scores(rows, missing, cfg, handlers.nli(cfg.models.nli))    # rows share each verdict's scores dict
    for v, r in zip(scored, rows, strict=True):
        if "source" in r:                   # the source check's premise (writeback.form: quote)
            v["source"] = r["source"]
    return missing


def rescore_trust(cfg: Config, verdicts: list[dict], store_uri: Path) -> None:
    """Score `trust` again with the configured trust model from what each verdict kept (question, answer, every
    other check's score, the generator's confidence, the retrieved doc ids), so a retrained trust model is
    calibrated on the same answers without generating them again."""
    from bidirag.checks.trust import Trust, features

    model = Trust.model(cfg.acceptance)
    texts = Store(store_uri, dim=None).texts(CORPUS)
    for v in verdicts:
        if not v.get("scores") or "trust" not in v["scores"] or not v.get("answer"):
            continue
        docs = v["docs"] if "docs" in v else [texts[d] for d in v.get("retrieved") or [] if d in texts]
        if model.needs_confidence and not v.get("confidence"):
            raise ValueError("these verdicts keep no generator confidence, which the trust model needs: run the "
                             "calibration again (its verdicts record it) or use a model without conf:* features")
        v["scores"]["trust"] = round(model.predict([features(v["text"], v["clean_text"], docs, v["scores"],
                                                             v.get("confidence"))])[0], 4)


def add_extractive(cfg: Config, verdicts: list[dict], store_uri: Path) -> None:
    """`writeback.form: extractive`: what each naive verdict would write (`written`, None when no retrieved
    sentence holds its short answer), so calibration judges the docs this form writes, not the free answers."""
    texts = Store(store_uri, dim=None).texts(CORPUS)
    for v in verdicts:
        if v.get("answer"):
            docs = [texts.get(d, "") for d in v.get("retrieved") or []]
            v["written"] = checks.extractive_doc(v["text"], v.get("short_answer"), docs)


def add_quote(cfg: Config, verdicts: list[dict], store_uri: Path) -> None:
    """`writeback.form: quote`: what each naive verdict would write (`written`: its question and the source the
    `source` check recorded, found here in one batched NLI call where the check was not run; None when there is
    none), so calibration judges the docs this form writes."""
    todo = [v for v in verdicts if v.get("answer") and "source" not in v]
    if todo:
        from bidirag.models import handlers
        from bidirag.stages.rag import clean_answer

        texts = Store(store_uri, dim=None).texts(CORPUS) if any("docs" not in v for v in todo) else {}
        docs = [v["docs"] if "docs" in v else [texts.get(d, "") for d in v.get("retrieved") or []] for v in todo]
        found = checks.best_sources(handlers.nli(cfg.models.nli),
                                    [v.get("clean_text") or clean_answer(v["answer"]) for v in todo], docs)
        for v, (src, _) in zip(todo, found, strict=True):
            v["source"] = src
    for v in verdicts:
        if v.get("answer"):
            v["written"] = checks.quote_doc(v["text"], v["source"]) if v.get("source") else None


def calibrate_checks(cfg: Config, verdicts: list[dict], labels: dict[str, list[str]], out: Path,
                     reading: dict | None = None) -> dict:
    """A threshold sweep for every configured check with a correctness score (its `calibrate` flag, from the
    registry), on verdicts that scored every answer without rejecting (the naive system)."""
    res = {}
    for check in [c.name for c in checks.enabled(cfg.acceptance) if c.calibrate]:
        cal = calibrate(verdicts, labels, checks.thresholds(cfg.acceptance), sweep=check, reading=reading)
        write_calibration(cal, out, "calibration" if check == "grounding" else f"calibration-{check}")
        res[check] = cal
    return res
