"""`python -m bench.run --replay`: the realistic replay benchmark (issue #23 item 1).

One Zipf log (`bench/replay_log.py`, fixed seed) is replayed night by night (`bidirag replay`, one epoch per
night) from the same seed store, in this one process, with the same models: once with the model-work features
ON (pre-generation screen, run memo, evidence selection, stop at the first sentence, vLLM on every core), once
OFF, and optionally once per feature alone (`--replay-variants memo,evidence,...`) to measure each.
Per run: queries/s, model seconds per stage, generated / skipped before generation / memo-hit counts, written
docs, correct written docs (gold rule: the doc contains a gold answer of its query) per CPU-hour, precision, peak
memory. The ON/OFF ratios measure the features whatever the log generator does. Wall and CPU time include
everything a nightly job does after its models are loaded (both runs' models are loaded before timing).
"""

from __future__ import annotations

import json
import resource
import shutil
import time
from pathlib import Path

from bench.replay_log import LogSpec, make_log, rag_eval_questions, read_gold
from bidirag.checks.answer_span import written_claim
from bidirag.config import load_config
from bidirag.ingest import ingest
from bidirag.models import handlers, timing
from bidirag.replay import replay
from bidirag.store import CORPUS, Store
from bidirag.text import contains_answer

FEATURE = {   # each model-work feature: its setting ON and OFF
    "screen": ("acceptance.screen_before_generation=true", "acceptance.screen_before_generation=false"),
    "memo": ("run.memo=true", "run.memo=false"),
    "evidence": ("models.generator.evidence_sentences={k}", "models.generator.evidence_sentences=null"),
    "stop": ("models.generator.stop_at_first_sentence=true", "models.generator.stop_at_first_sentence=false"),
    "bind": ("models.generator.omp_threads_bind=all", "models.generator.omp_threads_bind=null"),   # vLLM on CPU
}


def variant_overrides(name: str, k: int) -> list[str]:
    """`on` = every feature on, `off` = every feature off, a feature's name = only that one on."""
    if name not in ("on", "off", *FEATURE):
        raise ValueError(f"unknown replay variant {name!r}: on, off or one of {', '.join(FEATURE)}")
    return [(on if name in ("on", f) else off).format(k=k) for f, (on, off) in FEATURE.items()]


def _cpu_seconds() -> float:
    """CPU seconds of this process and its live children (vLLM's engine runs in a child process)."""
    try:
        import psutil

        me = psutil.Process()
        total = sum(me.cpu_times()[:2])
        for c in me.children(recursive=True):
            try:
                total += sum(c.cpu_times()[:2])
            except psutil.Error:
                pass
        return total
    except ImportError:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime


def _written(store_uri: str, dim: int, gold: dict[str, list[str]]) -> tuple[int, int]:
    tbl = Store(store_uri, dim=dim).table(CORPUS)
    rows = tbl.search().where("origin = 'writeback'").select(["text", "query_id"]).limit(10**7).to_arrow().to_pylist()
    return len(rows), sum(contains_answer(written_claim(r["text"]), gold.get(r["query_id"], [])) for r in rows)


def run_one(name: str, cfg, nights: Path, per_shard: int, gold: dict, log=print) -> dict:
    handlers.forget_outputs()          # nothing decoded by the other run is reused
    timing.reset()
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    summary = replay(cfg, nights, epoch_size=per_shard, progress=False,
                     log=lambda m: log(f"[bench replay] {name}: {m}"))
    wall, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
    reps = [json.loads((Path(d) / "report.json").read_text()) for d in summary["reports"]]
    tot = lambda k: sum(r.get(k, 0) for r in reps)  # noqa: E731
    stage: dict[str, float] = {}
    for r in reps:
        for k, v in r["stage_seconds"].items():
            stage[k] = round(stage.get(k, 0) + v, 2)
    written, correct = _written(cfg.store.uri, cfg.models.embedder.dim, gold)
    model = {k: round(v, 2) for k, v in timing.MODEL_SECONDS.items()}
    screened = sum(r["rejected_by_check"].get(c, 0) for r in reps for c in ("query_safety", "answerable")) \
        if cfg.acceptance.screen_before_generation else 0
    out = {"name": name, "queries": tot("queries"), "epochs": len(reps), "wall_seconds": round(wall, 2),
           "cpu_seconds": round(cpu, 2), "queries_per_second": round(tot("queries") / wall, 3),
           "generated": tot("generated"), "memo_hits": tot("memo_hits"), "skipped_before_generation": screened,
           "accepted": tot("accepted"), "written": written, "correct_written": correct,
           "precision": round(correct / written, 4) if written else None,
           "correct_written_per_cpu_hour": round(correct / (cpu / 3600), 1) if cpu else None,
           "stage_seconds": stage, "model_seconds": model,
           "overhead_share": round(1 - sum(timing.MODEL_SECONDS.values()) / wall, 4) if wall else None,
           "written_per_night": [r["written"] for r in reps], "generated_per_night": [r["generated"] for r in reps]}
    log(f"[bench replay] {name}: {out['queries_per_second']} q/s, generated {out['generated']}, memo hits "
        f"{out['memo_hits']}, written {written} ({correct} correct), {out['correct_written_per_cpu_hour']} correct "
        f"written docs per CPU-hour")
    return out


def replay_compare(work: Path, corpus: Path, configs: list[str], extra: list[str], spec: LogSpec,
                   evidence_sentences: int = 2, questions: list[dict] | None = None, log=print,
                   variants: tuple[str, ...] = ("off", "on")) -> dict:
    log_dir = work / "replay-log"
    log_summary = make_log(questions if questions is not None else rag_eval_questions(), log_dir, spec)
    gold = read_gold(log_dir)
    base = [str(c) for c in configs]

    def cfg(name: str):
        feats = variant_overrides(name, evidence_sentences) if name != "seed" else []
        return load_config(*base, overrides=[f"store.uri={work / ('store-' + name)}",
                                             f"run.runs_dir={work / ('runs-' + name)}", *feats, *extra])

    seed = work / "store-seed"
    ingest(cfg("seed"), corpus, progress=False)
    variants = tuple(dict.fromkeys(("off", "on", *variants)))
    res = {"log": log_summary, "evidence_sentences": evidence_sentences, "configs": base, "overrides": extra,
           "features": {v: variant_overrides(v, evidence_sentences) for v in variants}, "runs": {}}
    cfgs = {}
    handlers.clear()
    for name in variants:          # each run from its own copy of the seed store, models loaded before timing
        shutil.copytree(seed, work / f"store-{name}")
        cfgs[name] = c = cfg(name)
        handlers.embedder(c.models.embedder)
        handlers.generator(c.models.generator)
        handlers.nli(c.models.nli)
        res["runs"][name] = run_one(name, c, log_dir / "nights", spec.per_shard, gold, log=log)
        handlers.clear()           # free this run's models (a vLLM engine each) before the next run loads its own
    on, off = res["runs"]["on"], res["runs"]["off"]
    ratio = lambda k: round(on[k] / off[k], 2) if on.get(k) and off.get(k) else None  # noqa: E731
    res["ratios"] = {"queries_per_second": ratio("queries_per_second"),
                     "correct_written_per_cpu_hour": ratio("correct_written_per_cpu_hour"),
                     "generated": ratio("generated"),
                     "precision_difference": (round(on["precision"] - off["precision"], 4)
                                              if on["precision"] is not None and off["precision"] is not None
                                              else None)}
    res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    res["generator"] = {k: v for k, v in cfgs["on"].models.generator.model_dump(mode="json").items()
                        if k in ("backend", "name", "path", "batch_size")}
    return res


def markdown(res: dict, date: str, machine: str) -> str:
    lg, r = res["log"], res["ratios"]
    runs = list(res["runs"].values())
    lines = [f"# bidirag realistic replay benchmark {date}", "", f"Machine: {machine}",
             f"Configs: {', '.join(res['configs'])}; overrides: {' '.join(res['overrides']) or 'none'}; generator: "
             f"{json.dumps(res['generator'])}", "",
             f"Log: {lg['queries']} queries over {len(lg['files'])} nights (seed {lg['spec']['seed']}, Zipf s "
             f"{lg['spec']['s']}, {lg['questions']} questions, {lg['distinct_questions']} distinct asked), repeats "
             f"{100 * lg['repeat_share']:.1f}% (of them variants {100 * lg['variant_share_of_repeats']:.1f}%).", "",
             *[f"Run {v}: " + " ".join(f) for v, f in res["features"].items()],
             "", "| run | q/s | generated | skipped before generation | memo hits | written | correct written | "
             "precision | correct written / CPU-hour | CPU s | wall s | overhead share |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for x in runs:
        prec = f"{100 * x['precision']:.1f}%" if x["precision"] is not None else "-"
        lines.append(f"| {x['name']} | {x['queries_per_second']} | {x['generated']} | "
                     f"{x['skipped_before_generation']} | {x['memo_hits']} | {x['written']} | {x['correct_written']} | "
                     f"{prec} | {x['correct_written_per_cpu_hour']} | {x['cpu_seconds']} | {x['wall_seconds']} | "
                     f"{x['overhead_share']} |")
    lines += ["", f"Ratios ON/OFF: q/s {r['queries_per_second']}x, correct written docs per CPU-hour "
              f"{r['correct_written_per_cpu_hour']}x, generations {r['generated']}x; precision difference "
              f"{r['precision_difference']}.", "",
              "Model seconds: " + "; ".join(f"{x['name']}: " + ", ".join(f"{k} {v}" for k, v in
                                                                            x["model_seconds"].items())
                                            for x in runs),
              "Stage seconds: " + "; ".join(f"{x['name']}: " + ", ".join(f"{k} {v}" for k, v in
                                                                            x["stage_seconds"].items())
                                            for x in runs),
              "Generated per night: " + "; ".join(f"{x['name']} {x['generated_per_night']}" for x in runs) + ".",
              "", f"Peak memory of the bench process: {res['peak_rss_mb']:.0f} MB.", ""]
    return "\n".join(lines)
