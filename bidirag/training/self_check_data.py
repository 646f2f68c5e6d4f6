"""Add the generator's self-check to existing labeled answer files, without regenerating the answers.

The answers of `python -m bidirag.training.verifier_data` written before `models.generator.self_check` existed
hold no self-check; this runs the same call the Generate stage makes (`stages.rag.self_check`: a short
extractive second answer from the best-matching passage sentences and its agreement with the full answer) for
each row and writes the rows back with `confidence.agree`, `confidence.exact` and `short_answer` set. Batched,
resumable (rows already in `--out` are kept and skipped), progress on stderr.

    python -m bidirag.training.self_check_data --data docs/results/verifier-data/qwen-*.answers.jsonl.gz \\
        --out docs/results/verifier-data/qwen-nli_train-seed7-selfcheck.answers.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

from bidirag.config import load_config
from bidirag.models import handlers
from bidirag.stages.rag import self_check
from bidirag.training.train_trust import read_rows


def _open(path: Path, mode: str, gz: bool | None = None):
    if gz if gz is not None else path.suffix == ".gz":
        return gzip.open(path, mode, encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def done_rows(out: Path) -> dict[str, dict]:
    """Rows already written to `out` (a truncated last line from an interrupted run is dropped)."""
    if not out.is_file():
        return {}
    rows = {}
    try:
        with _open(out, "rt") as fh:
            for line in fh:
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    break
                if "short_answer" in r:
                    rows[r["query_id"]] = r
    except (EOFError, OSError):      # a gzip stream cut by an interrupted run: keep what was read
        pass
    return rows


def add_self_check(files: list[str], out: Path, overrides: list[str], batch: int = 64,
                   progress: bool = True) -> dict:
    cfg = load_config("configs/default.yaml", overrides=overrides)
    rows = read_rows(files)
    done = done_rows(out)
    todo = [r for r in rows if r["query_id"] not in done]
    t = time.perf_counter()
    if todo:
        gen = handlers.generator(cfg.models.generator)
        gen.setup()
        for s in range(0, len(todo), batch):
            chunk = todo[s:s + batch]
            checked = self_check(gen, [r["question"] for r in chunk], [r["clean_text"] for r in chunk],
                                 [r["docs"] for r in chunk])
            for r, (extra, short) in zip(chunk, checked, strict=True):
                done[r["query_id"]] = {**r, "confidence": {**(r.get("confidence") or {}), **extra},
                                       "short_answer": short}
            _write(out, [done[r["query_id"]] for r in rows if r["query_id"] in done])
            if progress:
                print(f"self-check: {min(s + batch, len(todo))}/{len(todo)} rows, "
                      f"{time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    _write(out, [done[r["query_id"]] for r in rows])
    return {"rows": len(rows), "checked_now": len(todo), "seconds": round(time.perf_counter() - t, 1),
            "generator": cfg.models.generator.path or cfg.models.generator.name, "out": str(out)}


def _write(out: Path, rows: list[dict]) -> None:
    tmp = out.with_name(out.name + ".tmp")
    with _open(tmp, "wt", gz=out.suffix == ".gz") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    tmp.replace(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", nargs="+", required=True, help="answers.jsonl[.gz] files of verifier_data")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--set", action="append", default=[], help="config override, e.g. models.generator.backend=vllm")
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args(argv)
    for f in a.data:
        if not Path(f).is_file():
            ap.error(f"--data {f}: no such file")
    print(json.dumps(add_self_check(a.data, a.out, a.set, a.batch)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
