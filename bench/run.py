"""`make bench`: bidirag vs the paper's per-query loop, stage breakdown, store scaling, peak memory.

Writes bench/results/<date>.json and .md. Everything runs in this one process on this machine, with the
same models and queries for both systems; figures are ratios from one run (another process may share
the cores, so absolute numbers move between runs).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bench.gen_profile import profile
from bench.paper_loop import run_paper_loop
from bench.store_scaling import measure
from bidirag.config import load_config
from bidirag.data.querylog import DeadLetter, read_log
from bidirag.epoch import run_epoch
from bidirag.ingest import ingest
from bidirag.models import handlers, timing

ROOT = Path(__file__).resolve().parent.parent


def _cfg(store: Path, runs: Path, backend: str, extra: list[str]):
    over = [f"store.uri={store}", f"run.runs_dir={runs}", f"models.generator.backend={backend}"]
    if backend == "vllm":
        over += ["models.generator.batch_size=64", "run.batch_size=128", "models.generator.max_model_len=2048"]
    return load_config(ROOT / "configs/default.yaml", overrides=over + extra)   # --set comes last: it wins


def compare(work: Path, corpus: Path, queries_file: Path, n: int, backend: str, extra: list[str], log=print,
            gen_profile: bool = True) -> dict:
    queries = list(read_log(queries_file, DeadLetter(None)))[:n]
    qfile = work / f"queries-{n}.jsonl"
    qfile.write_text("".join(json.dumps(q) + "\n" for q in queries))
    seed = work / "seed-store"
    if not seed.exists():
        ingest(_cfg(seed, work / "runs", "transformers", extra), corpus, progress=False)
    out = {"backend": backend, "queries": len(queries)}
    # paper loop first, so bidirag cannot profit from anything it leaves in memory
    shutil.copytree(seed, work / f"paper-{backend}")
    cfg_p = _cfg(work / f"paper-{backend}", work / "runs", backend, extra)
    handlers.generator(cfg_p.models.generator)        # load outside the timed loop, as bidirag's setup is
    handlers.nli(cfg_p.models.nli)
    log(f"[bench] paper loop, {backend}, {len(queries)} queries")
    out["paper_loop"] = run_paper_loop(cfg_p, queries)
    handlers.forget_outputs()      # bidirag decodes everything itself too (memo and vLLM prefix cache dropped)
    shutil.copytree(seed, work / f"bidirag-{backend}")
    cfg_b = _cfg(work / f"bidirag-{backend}", work / "runs", backend, extra)
    timing.reset()
    log(f"[bench] bidirag epoch, {backend}")
    t = time.perf_counter()
    rep = run_epoch(cfg_b, qfile, run_name=f"bench-{backend}", progress=False)
    wall = time.perf_counter() - t
    model = dict(timing.MODEL_SECONDS)
    out["bidirag"] = {"wall_seconds": wall, "queries_per_second": len(queries) / wall,
                      "written": rep["written"], "accepted": rep["accepted"], "stage_seconds": rep["stage_seconds"],
                      "model_seconds": model, "model_share": sum(model.values()) / wall,
                      "overhead_share": 1 - sum(model.values()) / wall}
    out["ratio"] = out["bidirag"]["queries_per_second"] / out["paper_loop"]["queries_per_second"]
    log(f"[bench] {backend}: bidirag {out['bidirag']['queries_per_second']:.3f} q/s vs paper loop "
        f"{out['paper_loop']['queries_per_second']:.3f} q/s -> {out['ratio']:.1f}x; "
        f"overhead {100 * out['bidirag']['overhead_share']:.1f}%")
    if gen_profile:     # the same prompts the epoch rendered (retrieval from the seed snapshot)
        out["generation"] = profile(_cfg(seed, work / "runs", backend, extra), queries, log=log)
    out["generator_dtype"] = getattr(handlers.generator(cfg_b.models.generator), "dtype", "float32")
    handlers.clear()
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def markdown(res: dict) -> str:
    lines = [f"# bidirag benchmark {res['date']}", "", f"Machine: {res['machine']}", ""]
    lines += ["## Epoch throughput vs the paper's per-query loop", "",
              "| generator | queries | paper loop q/s | bidirag q/s | ratio | model time share | overhead share |",
              "|---|---|---|---|---|---|---|"]
    for c in res["compare"]:
        b, p = c["bidirag"], c["paper_loop"]
        lines.append(f"| {c['backend']} ({c.get('generator_dtype', '?')}) | {c['queries']} | "
                     f"{p['queries_per_second']:.3f} | "
                     f"{b['queries_per_second']:.3f} | {c['ratio']:.1f}x | {100 * b['model_share']:.1f}% | "
                     f"{100 * b['overhead_share']:.1f}% |")
    if res["compare"]:
        lines += ["", "Model seconds inside the bidirag epoch: " + "; ".join(
            f"{c['backend']}: " + ", ".join(f"{k} {v:.1f}" for k, v in c["bidirag"]["model_seconds"].items())
            for c in res["compare"])]
    gp = [c["generation"] for c in res["compare"] if c.get("generation")]
    if gp:
        lines += ["", "## Generation: prefill vs decode (same prompts; `bench/gen_profile.py`)", "",
                  "| generator | prompt tokens (mean / max) | batch 1: prefill / full (s/query) | batch 1 decode share "
                  "| batched: prefill / full (s/query) | batched decode share | generation speed-up batched | "
                  "bound if decoding were free |", "|---|---|---|---|---|---|---|---|"]
        for g in gp:
            lines.append(f"| {g['backend']} | {g['prompt_tokens_mean']} / {g['prompt_tokens_max']} | "
                         f"{g['batch1_prefill_s_per_query']} / {g['batch1_full_s_per_query']} | "
                         f"{100 * g['batch1_decode_share']:.0f}% | {g['batched_prefill_s_per_query']} / "
                         f"{g['batched_full_s_per_query']} | {100 * g['batched_decode_share']:.0f}% | "
                         f"{g['generation_speedup_batched']}x | {g['generation_speedup_bound_if_decode_were_free']}x |")
    if res["store"]:
        s0 = res["store"][0]
        lines += ["", f"## Store scaling ({s0['vectors']}, 384-d; {s0['queries']} queries; {s0['index']}, "
                  f"nprobes {s0['nprobes']}, refine x{s0['refine_factor']})", "",
                  "| rows | commit 100 new, no index (s) | commit 100 new, indexed, unlocked merge (s) | "
                  "commit 100 new, indexed, under the writer lock (s) | key index build (s) | "
                  "ANN build (s) | novelty exact (ms/q) | novelty ANN (ms/q) | ANN recall@1 | max-cosine error "
                  "(mean / max) | retrieval exact (ms/q) | retrieval ANN (ms/q) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in res["store"]:
        build = {a["action"].split(" (")[0].split(" ", 1)[1]: a["seconds"] for a in s["index_build"]}
        lines.append(f"| {s['size']:,} | {s['commit_seconds_no_index']} | {s['commit_seconds_with_indexes']} | "
                     f"{s.get('commit_seconds_locked', '-')} | {build.get('key index', '-')} | "
                     f"{build.get('ANN index', '-')} | "
                     f"{s['novelty_ms_per_query_flat']} | {s['novelty_ms_per_query_ann']} | "
                     f"{s['novelty_recall_at_1_vs_exact']} | {s['novelty_cosine_error_mean']} / "
                     f"{s['novelty_cosine_error_max']} | {s['retrieval_ms_per_query_flat']} | "
                     f"{s['retrieval_ms_per_query_ann']} |")
    lines += ["", f"Peak memory of the job: {res['peak_rss_mb']:.0f} MB (ru_maxrss of this process).", ""]
    return "\n".join(lines)


def _replay(args, work: Path, res: dict) -> int:
    from bench.replay_bench import markdown as replay_md
    from bench.replay_bench import replay_compare
    from bench.replay_log import LogSpec

    try:
        spec = LogSpec(seed=args.replay_seed, shards=args.replay_shards, per_shard=args.replay_per_shard,
                       unique=args.replay_unique)
        res["replay"] = replay_compare(work, Path(args.corpus), [ROOT / "configs/default.yaml", *args.config],
                                       args.set, spec, evidence_sentences=args.evidence_sentences,
                                       variants=tuple(v for v in args.replay_variants.split(",") if v))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = replay_md(res["replay"], res["date"], res["machine"])
    name = f"{res['date']}-replay" + ("-unique" if args.replay_unique else "")
    (out / f"{name}.json").write_text(json.dumps(res, indent=1) + "\n")
    (out / f"{name}.md").write_text(text)
    print(text)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--queries", type=int, default=64)
    ap.add_argument("--backends", default="transformers")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--index", default="IVF_FLAT")
    ap.add_argument("--corpus", default="data/squad/corpus.parquet")
    ap.add_argument("--log", default="data/squad/queries.jsonl")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--out", default=str(ROOT / "bench/results"))
    ap.add_argument("--no-gen-profile", action="store_true", help="skip the prefill/decode profile")
    ap.add_argument("--replay", action="store_true", help="only the realistic replay benchmark (Zipf log, features "
                                                          "on vs off): bench/results/<date>-replay.json/.md")
    ap.add_argument("--config", action="append", default=[], help="--replay: config files over "
                                                                  "configs/default.yaml (e.g. configs/test-fakes.yaml)")
    ap.add_argument("--replay-seed", type=int, default=0)
    ap.add_argument("--replay-shards", type=int, default=4)
    ap.add_argument("--replay-per-shard", type=int, default=500)
    ap.add_argument("--replay-unique", action="store_true", help="--replay: the eval stream, every query a different "
                                                                 "question (no repeats): <date>-replay-unique.json/.md")
    ap.add_argument("--evidence-sentences", type=int, default=2, help="--replay: evidence_sentences when ON")
    ap.add_argument("--replay-variants", default="off,on", help="--replay: runs besides off and on, each one "
                                                                "feature alone: screen, memo, evidence, stop, bind")
    ap.add_argument("--merge", action="store_true", help="keep the parts of today's results file this run "
                                                        "does not measure (run compare and store separately)")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bidirag-bench-"))
    from bidirag.models.generator import cpu_has_bf16

    res = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {_cpu_model()}, "
           f"{__import__('os').cpu_count()} cores, bf16 instructions: {'yes' if cpu_has_bf16() else 'no'}",
           "compare": [], "store": []}
    if args.replay:
        return _replay(args, work, res)
    try:
        for b in [x for x in args.backends.split(",") if x]:
            res["compare"].append(compare(work, Path(args.corpus), Path(args.log), args.queries, b, args.set,
                                         gen_profile=not args.no_gen_profile))
        for size in [int(x) for x in args.sizes.split(",") if x]:
            res["store"].append(measure(work, size, index=args.index))
            shutil.rmtree(work / f"scale-{size}", ignore_errors=True)
    finally:
        res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        old = out / f"{res['date']}.json"
        if args.merge and old.exists():
            prev = json.loads(old.read_text())
            for part in ("compare", "store"):
                if not res[part]:
                    res[part] = prev.get(part, [])
            res["peak_rss_mb"] = max(res["peak_rss_mb"], prev.get("peak_rss_mb", 0))
        (out / f"{res['date']}.json").write_text(json.dumps(res, indent=1) + "\n")
        (out / f"{res['date']}.md").write_text(markdown(res))
        shutil.rmtree(work, ignore_errors=True)
    print(markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
