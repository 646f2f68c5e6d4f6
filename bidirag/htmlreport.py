"""One self-contained HTML file per epoch (inline CSS and SVG; no scripts, no external assets)."""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path

from bidirag import checks, ops
from bidirag.stages.base import Status
from bidirag.store import CORPUS, Store
from bidirag.uri import location

CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;
vertical-align:top}th{background:#f4f4f4}.num{text-align:right}.small{font-size:12px;color:#555}
.grid{display:flex;flex-wrap:wrap;gap:16px}"""


def _e(x) -> str:
    return html.escape(f"{x:.3f}" if isinstance(x, float) else str(x))


def bars(items: list[tuple[str, float]], width: int = 420, color: str = "#4a7bd0", fmt: str = "{:.0f}") -> str:
    """Horizontal bar chart as inline SVG."""
    h = 22 * len(items) + 10
    top = max([v for _, v in items] + [1e-9])
    out = [f'<svg width="{width}" height="{h}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, v) in enumerate(items):
        w = (width - 190) * v / top
        y = 5 + 22 * i
        out.append(f'<text x="0" y="{y + 14}" font-size="12">{_e(label)}</text>'
                   f'<rect x="130" y="{y}" width="{w:.1f}" height="16" fill="{color}"/>'
                   f'<text x="{135 + w:.1f}" y="{y + 13}" font-size="12">{_e(fmt.format(v))}</text>')
    out.append("</svg>")
    return "".join(out)


def histogram(values: list[float], title: str, threshold: float | None = None, bins: int = 20,
              width: int = 320, height: int = 150) -> str:
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int(v * bins)))] += 1
    top = max(counts + [1])
    bw = (width - 20) / bins
    out = [f'<svg width="{width}" height="{height + 40}" role="img" xmlns="http://www.w3.org/2000/svg">',
           f'<text x="0" y="14" font-size="13" font-weight="bold">{_e(title)} (n={len(values)})</text>']
    for i, c in enumerate(counts):
        h = (height - 30) * c / top
        out.append(f'<rect x="{10 + i * bw:.1f}" y="{20 + height - 30 - h:.1f}" width="{bw - 1:.1f}" '
                   f'height="{h:.1f}" fill="#6a9f58"/>')
    if threshold is not None:
        x = 10 + threshold * (width - 20)
        out.append(f'<line x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="{height - 10}" stroke="#c33" '
                   f'stroke-dasharray="4"/><text x="{x + 3:.1f}" y="30" font-size="11" fill="#c33">'
                   f'threshold {threshold}</text>')
    out.append(f'<text x="10" y="{height + 5}" font-size="11">0</text>'
               f'<text x="{width - 20}" y="{height + 5}" font-size="11">1</text></svg>')
    return "".join(out)


def composition(store: Store) -> list[dict]:
    """Per epoch: docs by origin at its snapshot and the share of generated docs (alpha)."""
    import lance

    tbl = store.table(CORPUS)
    out = []
    for m in store.manifests():
        try:
            ds = lance.dataset(tbl.uri, version=m["corpus_version"])
        except Exception:  # noqa: BLE001 - a garbage-collected version is simply left out
            continue
        total = ds.count_rows()
        gen = ds.count_rows(filter="origin = 'writeback' OR origin = 'knowledge_unit'")
        out.append({"epoch": m["epoch"], "version": m["corpus_version"], "rows": total, "generated": gen,
                    "alpha": gen / total if total else 0.0})
    return out


def render(report: dict, verdicts: list[dict], comp: list[dict], added: list[dict], thresholds: dict) -> str:
    rb = report["rejected_by_check"]
    counts = [("queries", report["queries"]), ("dead-lettered", report["dead_lettered"]),
              ("generated", report["generated"]), ("failed", report["failed"]), ("accepted", report["accepted"]),
              ("deduplicated", report["deduplicated"]), ("written", report["written"]),
              ("critiques", report.get("critiques_written", 0))]
    scored = [v for v in verdicts if v.get("scores")]
    hists = "".join(histogram([v["scores"][c] for v in scored if c in v["scores"]], c, thresholds.get(c))
                    for c in thresholds if c in checks.registered() and checks.get(c).calibrate)
    reasons = Counter()
    examples: dict[str, dict] = {}
    for v in verdicts:
        if v.get("status") in (Status.REJECTED, Status.FAILED, Status.DEDUPLICATED):
            key = f"{v['status']}: {v.get('failed_check') or 'near-duplicate'}"
            reasons[key] += 1
            examples.setdefault(key, v)
    rej_rows = "".join(
        f"<tr><td>{_e(k)}</td><td class=num>{n}</td><td>{_e((examples[k].get('text') or '')[:120])}</td>"
        f"<td>{_e((examples[k].get('answer') or '')[:160])}</td><td>{_e(examples[k].get('reason'))}</td></tr>"
        for k, n in reasons.most_common())
    add_rows = "".join(
        f"<tr><td>{_e(a.get('text', '')[:220])}</td><td>{_e(a.get('query') or a.get('source') or '')}</td>"
        f"<td class=small>origin {_e(a.get('origin'))}, epoch {_e(a.get('epoch'))}, "
        f"{len(a.get('source_doc_ids') or [])} sources<br>grounding {_e(a.get('grounding'))}, attribution "
        f"{_e(a.get('attribution'))}, novelty {_e(a.get('novelty'))}</td></tr>" for a in added)
    comp_items = [(f"epoch {c['epoch']} (v{c['version']})", 100 * c["alpha"]) for c in comp]
    stage = [(k, v) for k, v in report["stage_seconds"].items()]
    errs = report.get("stage_errors") or {}
    errors = bars([(k, float(v)) for k, v in errs.items()], color="#c33") if errs else "<p>none</p>"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>bidirag epoch {report['epoch']} report</title><style>{CSS}</style></head><body>
<h1>bidirag — epoch {report['epoch']} <span class=small>({_e(report['run'])})</span></h1>
<p class=small>input {_e(report['input'])} · snapshot corpus v{report['snapshot_version']} tag
<b>{_e(report['tag'])}</b> (pinned at start v{report['pinned_version']}) · mode {_e(report.get('mode'))} ·
config {_e(report['config_hash'])} · {report['wall_seconds']:.1f} s wall</p>
<h2>Counts</h2><div class=grid>{bars(counts)}
{bars([(k, float(v)) for k, v in rb.items()], color="#c9733b")}</div>
<p class=small>The second chart: rejections by the first failing check ({_e(" → ".join(rb))}).</p>
<h2>Score distributions</h2><div class=grid>{hists}</div>
<h2>Corpus composition over epochs (α = share of generated docs, %)</h2>
{bars(comp_items, fmt="{:.2f}%") if comp_items else "<p>no epochs</p>"}
<h2>Top added docs with provenance</h2>
<table><tr><th>text</th><th>query / source</th><th>provenance</th></tr>{add_rows or
"<tr><td colspan=3>nothing written this epoch</td></tr>"}</table>
<h2>Rejects by reason</h2>
<table><tr><th>reason</th><th>count</th><th>example query</th><th>answer</th><th>detail</th></tr>{rej_rows or
"<tr><td colspan=5>no rejects</td></tr>"}</table>
<h2>Time per stage (s)</h2>{bars(stage, fmt="{:.1f}")}
<h2>Stage errors and retries</h2>{errors}
</body></html>"""


def write_epoch_html(store: Store, report: dict, acceptance, top: int = 20) -> Path:
    """Render `report.html` beside a committed epoch's report.json (called after the commit, by the CLI)."""
    thresholds = checks.thresholds(acceptance)
    run_dir = location(report["report_dir"], store.storage_options)
    vpath = run_dir / "verdicts.jsonl"
    verdicts = [json.loads(x) for x in vpath.read_text().splitlines()] if vpath.exists() else []
    added = []
    if report["snapshot_version"] != report["pinned_version"]:
        added = ops.diff(store, report["pinned_version"], report["snapshot_version"], limit=top)["added"]
    out = run_dir / "report.html"
    out.write_text(render(report, verdicts, composition(store), added, thresholds), encoding="utf-8")
    return out
