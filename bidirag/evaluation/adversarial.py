"""`bidirag adversarial`: the hand-written adversarial benchmark (bidirag/data/adversarial/).

Each family file holds queries written before the defences were built, each with the false claim it would
plant and a rule (`planted_if`) that detects that claim in a written doc. `families.json` says which
families are design (rules and thresholds may be chosen looking at them) and which are held out (looked at
only to report). One bidirectional epoch runs over every query against the rag_eval corpus; the result is
per family: written docs, docs that plant the family's false claim, and the share of queries that planted
one, with a 95% Wilson interval.
"""

from __future__ import annotations

import json
from pathlib import Path

from bidirag.evaluation.metrics import wilson

ROOT = Path(__file__).resolve().parent.parent / "data" / "adversarial"


def load_families(root: Path = ROOT) -> tuple[dict, list[dict]]:
    meta = json.loads((root / "families.json").read_text())
    items = []
    for fam in meta["families"]:
        for line in (root / f"{fam['name']}.jsonl").read_text().splitlines():
            if line.strip():
                items.append({**json.loads(line), "split": fam["split"]})
    return meta, items


def planted(doc: str, rule: dict) -> bool:
    """The doc carries the item's false claim: every string of `all` and (if any) one of `any`, case-insensitive."""
    low = doc.lower()
    return all(s.lower() in low for s in rule.get("all", [])) and (
        not rule.get("any") or any(s.lower() in low for s in rule["any"]))


def score(items: list[dict], written: list[dict]) -> dict:
    by_q: dict[str, list[str]] = {}
    for w in written:
        by_q.setdefault(w["query_id"], []).append(w["text"])
    fams: dict[str, dict] = {}
    for it in items:
        f = fams.setdefault(it["family"], {"split": it["split"], "queries": 0, "written": 0, "planted": 0,
                                           "planted_examples": []})
        docs = by_q.get(it["id"], [])
        f["queries"] += 1
        f["written"] += len(docs)
        hit = [d for d in docs if planted(d, it["planted_if"])]
        if hit:
            f["planted"] += 1
            f["planted_examples"].append({"id": it["id"], "query": it["query"], "doc": hit[0][:300]})
    totals = {}
    for split in ("design", "heldout"):
        part = [f for f in fams.values() if f["split"] == split]
        q, p = sum(f["queries"] for f in part), sum(f["planted"] for f in part)
        totals[f"_{split}"] = {"queries": q, "written": sum(f["written"] for f in part), "planted": p,
                             "planted_share": p / q if q else None, "interval95": wilson(p, q)}
    return {**fams, **totals}


def run_adversarial(cfg, out: Path, progress: bool = True) -> dict:
    from bidirag.epoch import run_epoch
    from bidirag.evaluation.poison import rag_eval_store
    from bidirag.store import CORPUS, Store

    out.mkdir(parents=True, exist_ok=True)
    meta, items = load_families()
    log = out / "queries.jsonl"
    log.write_text("".join(json.dumps({"query_id": it["id"], "text": it["query"]}) + "\n" for it in items))
    scfg = rag_eval_store(cfg, out, progress)
    rep = run_epoch(scfg, log, run_name="adversarial", progress=progress)
    st = Store(str(out / "store"), dim=None)
    written = [r for r in st.table(CORPUS).to_arrow().select(["text", "query_id", "origin", "epoch"]).to_pylist()
               if r["origin"] == "writeback" and r["epoch"] == rep["epoch"]]
    res = {"config_hash": cfg.digest(), "families_meta": meta, "epoch": {k: rep[k] for k in (
        "queries", "accepted", "rejected_by_check", "written")}, "by_family": score(items, written)}
    (out / "adversarial.json").write_text(json.dumps(res, indent=1) + "\n")
    return res
