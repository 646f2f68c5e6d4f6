"""bidirag command line. Every error names the problem and the fix; no traceback for user errors."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path

from bidirag import __version__
from bidirag.cli_models import CliError, add_models_commands
from bidirag.output import emit, reserved_stdout, setup_logging, take_results

logger = logging.getLogger("bidirag.cli")

DEFAULT_CONFIG = "configs/default.yaml"


def _config(args):
    from bidirag.config import load_config

    paths = args.config or ([DEFAULT_CONFIG] if Path(DEFAULT_CONFIG).exists() else [])
    extra = [f"run.runner={args.runner}"] if getattr(args, "runner", None) else []
    extra += [f"run.base={json.dumps(args.base)}"] if getattr(args, "base", None) else []
    return load_config(*paths, overrides=list(args.set) + extra)


def cmd_init(args) -> int:
    from bidirag.store import Store

    cfg = _config(args)
    versions = Store.from_config(cfg.store, cfg.models.embedder.dim).init()
    emit({"uri": cfg.store.uri, "versions": versions} if args.json else
         f"store ready at {cfg.store.uri}: " + ", ".join(f"{k} v{v}" for k, v in versions.items()), args.json)
    return 0


def cmd_ingest(args) -> int:
    from bidirag.ingest import ingest

    res = ingest(_config(args), args.corpus, progress=not args.quiet)
    emit(res)
    return 0


def cmd_run(args) -> int:
    from bidirag.epoch import format_report, run_epoch

    cfg = _config(args)
    rep = run_epoch(cfg, args.queries, run_name=args.run_name, progress=not args.quiet)
    _render_html(cfg, rep)
    emit(rep if args.json else format_report(rep), args.json, indent=None)
    return 0


def _render_html(cfg, rep: dict) -> None:
    """The HTML report, from the committed report and snapshot; a failure to render never fails the epoch."""
    from bidirag.htmlreport import write_epoch_html

    try:
        rep["html"] = str(write_epoch_html(_store(cfg), rep, cfg.acceptance))
    except Exception as e:  # noqa: BLE001 - the epoch is committed; the report is a convenience
        logger.warning("report.html not written (%s: %s); report.json is complete", type(e).__name__, e)


def cmd_eval(args) -> int:
    from bidirag.evaluation.dataset import EvalError
    from bidirag.evaluation.harness import run_eval

    try:
        seeds = [int(x) for x in args.seeds.split(",")]
    except ValueError:
        raise EvalError(f"--seeds {args.seeds!r}: give distinct integers separated by commas, e.g. 42,43,44") from None
    res = run_eval(_config(args), args.out, systems=[s.strip() for s in args.systems.split(",")], seeds=seeds,
                   n_writeback=args.writeback_queries, n_test=args.test_queries, epochs=args.epochs,
                   dataset=args.dataset, split=args.split, progress=not args.quiet, log=logger.info,
                   reading=args.reading, design=args.design or None)
    emit(res["systems"] if args.json else (Path(args.out) / "eval.md").read_text(), args.json, indent=None)
    return 0


def writer_lock(uri, enabled, what):
    from bidirag.lock import writer_lock as lock

    return lock(uri, enabled, what)


def _store(cfg):
    """The store for operator commands: the vector size comes from its tables (no model is loaded)."""
    from bidirag.store import Store

    return Store.from_config(cfg.store, None)


def cmd_replay(args) -> int:
    from bidirag.replay import replay

    cfg = _config(args)
    res = replay(cfg, args.log, since=args.since, until=args.until, epoch_size=args.epoch_size,
                 progress=not args.quiet, on_report=lambda rep: _render_html(cfg, rep), date=args.date)
    emit(res)
    return 0


def cmd_diff(args) -> int:
    from bidirag import ops

    d = ops.diff(_store(_config(args)), args.ref_from, args.ref_to, table=args.table, limit=args.limit)
    emit(d if args.json else ops.format_diff(d), args.json)
    return 0


def cmd_promote(args) -> int:
    from bidirag import ops

    cfg = _config(args)
    with writer_lock(cfg.store.uri, cfg.store.lock, what="promote"):
        emit(ops.promote(_store(cfg), args.ref, reason=args.reason, force=args.force, units=args.units,
                         require=args.require), indent=None)
    return 0


def cmd_rollback(args) -> int:
    from bidirag import ops

    cfg = _config(args)
    with writer_lock(cfg.store.uri, cfg.store.lock, what="rollback"):
        emit(ops.rollback(_store(cfg), reason=args.reason, restore_head=not args.tag_only), indent=None)
    return 0


def cmd_gc(args) -> int:
    from bidirag import ops
    from bidirag.store import CORPUS, EXPERIENCE

    cfg = _config(args)
    with writer_lock(cfg.store.uri, cfg.store.lock, what="gc"):
        st = _store(cfg)
        tables = (CORPUS, EXPERIENCE, *(p for p in ("corpus_production", "knowledge_units_production")
                                        if p in st._names()))
        res = {t: {"gc": ops.gc(st, args.keep, table=t), "indexes": st.ensure_indexes(t)} for t in tables}
    _emit_per_table(res, args.json)
    return 0


def _emit_per_table(res: dict, as_json: bool) -> None:
    """One JSON document with --json; else a JSON line per table and step (the text form)."""
    if as_json:
        emit(res)
    else:
        for steps in res.values():
            for v in steps.values():
                emit(v, indent=None)


def cmd_index(args) -> int:
    from bidirag.store import CORPUS, EXPERIENCE, UNITS

    cfg = _config(args)
    with writer_lock(cfg.store.uri, cfg.store.lock, what="index"):
        st = _store(cfg)
        res = {t: {"indexes": st.ensure_indexes(t)} for t in (CORPUS, UNITS, EXPERIENCE)}
    _emit_per_table(res, args.json)
    return 0


def cmd_distill(args) -> int:
    from bidirag.distill import run_distill

    rep = run_distill(_config(args), args.examples, run_name=args.run_name, progress=not args.quiet)
    emit(rep)
    return 0


def cmd_units(args) -> int:
    from bidirag import ops
    from bidirag.store import UNITS

    st = _store(_config(args))
    if args.action == "drop":
        st.drop(UNITS)
        emit({"table": UNITS, "dropped": True} if args.json else
             "knowledge_units dropped; the corpus is untouched", args.json)
    else:
        if not args.ref:
            raise ops.OpsError("`bidirag units restore` needs a version or tag, e.g. units-1")
        tbl = st.table(UNITS)
        v = ops.resolve(tbl, args.ref)
        tbl.restore(v)
        head = st.table(UNITS).version
        emit({"table": UNITS, "restored": v, "head": head} if args.json else
             f"knowledge_units restored to v{v} (new head v{head}); the corpus is untouched", args.json)
    return 0


def cmd_poison(args) -> int:
    from bidirag.evaluation.poison import rescore, run_poison

    if args.rescore:
        res = rescore(_config(args), Path(args.out))
    else:
        res = run_poison(_config(args), Path(args.out), n_per_type=args.per_type, seed=args.seed,
                         progress=not args.quiet)
    emit(res)
    return 0


def cmd_adversarial(args) -> int:
    from bidirag.evaluation.adversarial import run_adversarial

    res = run_adversarial(_config(args), Path(args.out), progress=not args.quiet)
    if args.json:
        emit(res)
        return 0
    for name, f in res["by_family"].items():
        if name.startswith("_"):
            lo, hi = f["interval95"]
            emit(f"{name[1:]:>8}: {f['planted']} of {f['queries']} queries planted a false claim "
                 f"({100 * (f['planted_share'] or 0):.1f}%, 95% CI {100 * lo:.1f}-{100 * hi:.1f}%), "
                 f"{f['written']} docs written", False)
        else:
            emit(f"{name:<28} {f['split']:<8} written {f['written']:>3}  planted {f['planted']:>3} / {f['queries']}",
                 False)
    return 0


def cmd_snapshots(args) -> int:
    store = _store(_config(args))
    snaps = store.snapshots()
    if args.json:
        emit(snaps)
        return 0
    emit(f"{'version':>7}  {'rows':>7}  {'tags':<24} timestamp", False)
    for s in snaps:
        emit(f"{s['version']:>7}  {s['rows']:>7}  {','.join(s['tags']):<24} {s['timestamp']}", False)
    for m in store.manifests():
        emit(f"epoch {m['epoch']}: corpus v{m['corpus_version']} (pinned v{m['pinned_version']}), "
             f"config {m['config_hash']}, input {m['input']}, counts {m['counts']}", False)
    from bidirag.release import history

    for r in history(store):
        emit(f"release-{r['release']} ({r['action']} {r['ref']}, {r['when']}, {r['who']}): corpus "
             f"v{r['corpus_version']}, experience v{r['experience_version']}, units v{r['units_version']}; "
             f"readers: corpus_production v{r['corpus_production_version']}, knowledge_units_production "
             f"v{r['units_production_version']}; reason {r['reason']!r}", False)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bidirag", description=__doc__)
    p.add_argument("--version", action="version", version=f"bidirag {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--config", action="append", help="YAML config (repeat to layer; later wins). "
                                                         f"Default: {DEFAULT_CONFIG}")
        sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one field, e.g. --set retrieval.top_k=5")
        sp.add_argument("--quiet", action="store_true", help="no progress bars; warnings only on stderr")
        sp.add_argument("--json", action="store_true", help="stdout holds one JSON document and nothing else "
                                                            "(also on failure: {status, error, exit_code})")

    sp = sub.add_parser("init", help="create the store's tables")
    common(sp)
    sp.set_defaults(fn=cmd_init)
    sp = sub.add_parser("ingest", help="embed and add a seed corpus (Parquet with a 'text' column)")
    common(sp)
    sp.add_argument("corpus")
    sp.set_defaults(fn=cmd_ingest)
    sp = sub.add_parser("run", help="run one epoch over a query log and commit one snapshot")
    common(sp)
    sp.add_argument("--queries", required=True, help="query log (.jsonl or .parquet)")
    sp.add_argument("--run-name", help="name of the run folder under run.runs_dir")
    sp.add_argument("--runner", choices=["local", "ray", "beam"], help="override run.runner")
    sp.add_argument("--base", help="build on this instead of production: head, production, or a corpus tag/version")
    sp.set_defaults(fn=cmd_run)
    sp = sub.add_parser("eval", help="compare systems on a SQuAD-format dataset (default: SQuAD rag_eval "
                                     "articles); writes eval.json/eval.md; resumable")
    common(sp)
    sp.add_argument("--out", default="runs/eval")
    sp.add_argument("--systems", default="standard,naive,bidirectional")
    sp.add_argument("--seeds", default="42,43,44")
    sp.add_argument("--writeback-queries", type=int, default=200, help="write-back stream per seed")
    sp.add_argument("--test-queries", type=int, default=100, help="test queries per seed (three groups)")
    sp.add_argument("--epochs", type=int, default=1)
    sp.add_argument("--dataset", default=None, help="a SQuAD v1.1-format JSON file (default: SQuAD-dev rag_eval)")
    sp.add_argument("--split", default="report", choices=["report", "calibrate", "all"],
                    help="report: the figures; calibrate: where thresholds and models are chosen (make calibrate); "
                         "all: every article of a --dataset nothing was calibrated on")
    sp.add_argument("--reading", default=None, help="--split calibrate: reading labels of calibrate-split answers "
                                                    "(JSONL: query_id, doc, judgement); the trust threshold must "
                                                    "then reach the target by reading too")
    sp.add_argument("--design", action="append", default=[],
                    help="--split calibrate: labeled answers of the design split (training.verifier_data files); "
                         "their held-out dev answers join the threshold sweeps (repeat for several files)")
    sp.set_defaults(fn=cmd_eval)
    sp = sub.add_parser("distill", help="WriteBack-RAG: distill labeled examples into knowledge units")
    common(sp)
    sp.add_argument("--examples", required=True, help="JSONL/Parquet with question (or text) and answers")
    sp.add_argument("--run-name")
    sp.set_defaults(fn=cmd_distill)
    sp = sub.add_parser("units", help="manage the knowledge_units table without touching the corpus")
    common(sp)
    sp.add_argument("action", choices=["restore", "drop"])
    sp.add_argument("ref", nargs="?", help="version or tag for restore (e.g. units-1)")
    sp.set_defaults(fn=cmd_units)
    sp = sub.add_parser("poison", help="adversarial query log through one epoch; pollution per attack type")
    common(sp)
    sp.add_argument("--out", default="runs/poison")
    sp.add_argument("--per-type", type=int, default=40)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--rescore", action="store_true", help="score the docs an earlier run in --out wrote again "
                                                           "(no new epoch)")
    sp.set_defaults(fn=cmd_poison)
    sp = sub.add_parser("adversarial", help="the hand-written adversarial families through one epoch: false "
                                            "claims planted per family, design vs held out")
    common(sp)
    sp.add_argument("--out", default="runs/adversarial")
    sp.set_defaults(fn=cmd_adversarial)
    sp = sub.add_parser("snapshots", help="list corpus versions, tags and epoch manifests")
    common(sp)
    sp.set_defaults(fn=cmd_snapshots)

    sp = sub.add_parser("replay", help="replay query logs epoch by epoch (resumable)")
    common(sp)
    sp.add_argument("--log", required=True, help="a log file, a folder of logs, or a quoted glob")
    sp.add_argument("--since", help="ISO 8601 start of the time window (inclusive)")
    sp.add_argument("--until", help="ISO 8601 end of the time window (exclusive)")
    sp.add_argument("--date", help="logical date YYYY-MM-DD: replay that UTC day (instead of --since/--until); "
                                   "re-running a date resumes or does nothing")
    sp.add_argument("--epoch-size", type=int, default=500, help="queries per epoch")
    sp.add_argument("--base", help="the first epoch builds on this instead of production: head, production, "
                                   "or a corpus tag/version")
    sp.set_defaults(fn=cmd_replay)
    sp = sub.add_parser("diff", help="docs added/removed between two snapshots (versions or tags)")
    common(sp)
    sp.add_argument("ref_from")
    sp.add_argument("ref_to")
    sp.add_argument("--table", default="corpus")
    sp.add_argument("--limit", type=int, default=None, help="at most this many rows per side")
    sp.set_defaults(fn=cmd_diff)
    sp = sub.add_parser("promote", help="release a corpus snapshot (and/or --units) to the production tables "
                                        "readers open")
    common(sp)
    sp.add_argument("ref", nargs="?", help="corpus tag or version (e.g. epoch-3, head); omit to release only --units")
    sp.add_argument("--units", help="knowledge_units tag or version to release with it (default: unchanged)")
    sp.add_argument("--require", action="append", default=[], metavar="min_FIGURE=N|max_FIGURE=N",
                    help="refuse unless the epoch report's figure passes, e.g. min_written=10 (repeatable)")
    sp.add_argument("--reason", default="")
    sp.add_argument("--force", action="store_true", help="allow promoting a snapshot older than production")
    sp.set_defaults(fn=cmd_promote)
    sp = sub.add_parser("rollback", help="go back to the previous release (corpus, critiques and units together)")
    common(sp)
    sp.add_argument("--reason", default="")
    sp.add_argument("--tag-only", action="store_true", help="leave the work tables' heads as they are")
    sp.set_defaults(fn=cmd_rollback)
    sp = sub.add_parser("gc", help="compact and delete old versions (tagged versions are kept)")
    common(sp)
    sp.add_argument("--keep", type=int, required=True, help="newest versions to keep")
    sp.set_defaults(fn=cmd_gc)

    sp = sub.add_parser("index", help="build or rebuild the key and ANN indexes of the store's tables "
                                      "(between epochs; see store.ann_* in the config)")
    common(sp)
    sp.set_defaults(fn=cmd_index)

    add_models_commands(sub)
    return p


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill PID`, a scheduler's stop): handled like Ctrl-C, so the command unwinds and the model engines
    it started (vLLM's engine-core and worker processes) are shut down by their exit hooks instead of being
    left running without a parent."""


def _terminate(signum, frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """Run one command. Its results go to stdout (with --json: one JSON document, also when it fails); logs,
    progress and warnings go to stderr (`bidirag.output`). Exit 0 done, 1 job failed (nothing committed),
    2 bad input (one line naming the problem and the fix), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = parser().parse_args(argv)
    setup_logging(quiet=getattr(args, "quiet", False))
    take_results()
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with reserved_stdout():
            code, failure = _run(args)
    finally:
        signal.signal(signal.SIGTERM, previous)
    results = take_results()
    if getattr(args, "json", False) and failure is not None:
        results = [json.dumps(failure, indent=1, default=str)]
    for text in results:
        print(text)
    sys.stdout.flush()
    return code


def _run(args) -> tuple[int, dict | None]:
    """The command's exit code, and for a failure the JSON document --json prints instead of a result."""
    from bidirag.config import ConfigError
    from bidirag.data.querylog import QueryLogError
    from bidirag.driver import JobFailed
    from bidirag.evaluation.dataset import EvalError
    from bidirag.ingest import IngestError
    from bidirag.lock import StoreBusy
    from bidirag.models.nli import LabelOrderError
    from bidirag.ops import OpsError
    from bidirag.store import StoreError

    try:
        return args.fn(args), None
    except (ConfigError, QueryLogError, IngestError, StoreError, LabelOrderError, OpsError, StoreBusy,
            FileNotFoundError, EvalError, CliError) as e:
        print(f"bidirag: error: {e}", file=sys.stderr)
        return 2, {"status": "error", "error": str(e), "exit_code": 2}
    except JobFailed as e:
        print(f"bidirag: error: {e}", file=sys.stderr)
        return 1, {**e.report, "exit_code": 1}
    except KeyboardInterrupt as e:
        code = 143 if isinstance(e, Terminated) else 130
        msg = (f"{'terminated' if code == 143 else 'interrupted'}; nothing of the current epoch was committed. "
               "Committed epochs stay; `bidirag replay` resumes after the last one (`bidirag eval` after the last "
               "finished seed and system).")
        print(f"bidirag: {msg}", file=sys.stderr)
        return code, {"status": "interrupted", "error": msg, "exit_code": code}
    except Exception as e:
        logger.exception("%s failed unexpectedly", args.cmd)
        return 1, {"status": "error", "error": f"{type(e).__name__}: {e}", "exit_code": 1}


if __name__ == "__main__":
    sys.exit(main())
