"""Run memo (incremental replay): a query answered and judged before is not generated or checked again.

Key = sha256 of (normalised query, retrieved doc ids in rank order, the warnings put in the prompt, model ids,
memo digest of the config). With greedy decoding the same key gives the same prompt, hence the same answer
and the same verdict, so reusing them is exact for an exact repeat. Case/punctuation variants share the
normalised query (`text.normalize_query`): they reuse the first variant's answer (an answer to the same words;
their own prompt would differ only in case/punctuation).

Where it sits: the `Recall` stage runs after Retrieve (and Screen, whose cheap pre-generation rejections are
not memoised) and before Generate. A hit gets status MEMO, which every later stage passes through untouched on
every runner; the driver's `settle` hook (this module's `settle`) gives it the recorded verdict as it leaves the
pipeline, before it is counted, so it is sorted, deduplicated and committed like any other record. A repeat
later in the same job follows its first copy (`memo_follow`): settled from that copy's verdict, which is
always settled first (records leave every runner in log order).

What is recorded: the verdict BEFORE within-epoch dedup (dedup depends on the other candidates of the job and
runs again). Written by the job's commit, as table `memo` (a `Target`), insert-if-absent by key: it survives
restarts and a crash before the commit leaves no row. A repeat of a query whose accepted answer is already in
the corpus is a hit even though its retrieval now includes that answer (the key's doc ids changed because of
it): it is recognised by (normalised query, model ids, digest) plus "the recorded answer's doc is among the
retrieved docs", and its row has the same content id, so the commit writes nothing new. Its critiques are not
written again either.

Invalidation: any change of key. The memo digest is the config digest without run-only settings (`run`,
`store`, `input`, `dedup`, `distill`, batch sizes, worker resources, endpoint timeouts/keys, the informational
`acceptance.calibration`): those do not change an answer or a verdict. Everything else (thresholds, checks,
prompt settings, models) does. (Batch sizes and thread counts change only the order of floating-point sums:
greedy outputs are the same unless two tokens are within rounding of each other.) Rows whose stored key fields
do not hash to their key, or whose verdict does not parse, are ignored with a warning.
Limit: model ids are the configured names/paths (`rag.model_ids`), not weight digests: retraining a model in
place at the same path needs a config change (or `bidirag` on a new store) to invalidate the memo.
"""

from __future__ import annotations

import hashlib
import json
import logging

from bidirag.config import Config, Resources
from bidirag.stages.base import Record, Stage, Status
from bidirag.stages.rag import model_ids
from bidirag.store import MEMO, Store, now
from bidirag.text import content_id, normalize_query

log = logging.getLogger("bidirag.memo")

VERDICT_FIELDS = ("answer", "confidence", "generator", "scores", "would_fail", "clean_text", "cited_doc_ids", "nli",
                  "status", "failed_check", "reason")
# recorded when present, restored as recorded; rows written before a field existed restore it as None (not corrupt)
OPTIONAL_FIELDS = ("source", "source_doc_id")
_RUN_ONLY_SECTIONS = ("run", "store", "input", "dedup", "distill")
_RUN_ONLY_MODEL_FIELDS = ("batch_size", "resources", "kv_cache_gb", "request_timeout_s", "api_key_env",
                          "omp_threads_bind")


def memo_digest(cfg: Config) -> str:
    """Digest of the settings that can change an answer or a verdict (the config digest minus run-only ones)."""
    d = cfg.model_dump(mode="json")
    for k in _RUN_ONLY_SECTIONS:
        d.pop(k, None)
    for m in d["models"].values():
        for k in _RUN_ONLY_MODEL_FIELDS:
            m.pop(k, None)
    d["acceptance"].pop("calibration", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _h(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def query_key(query_norm: str, models: str, digest: str) -> str:
    return _h("query", query_norm, models, digest)


def warnings_digest(warnings: list[str]) -> str:
    return _h("warnings", list(warnings or []))[:16]


def memo_key(query_norm: str, retrieved_ids: list[str], warn_digest: str, models: str, digest: str) -> str:
    return _h("memo", query_norm, list(retrieved_ids), warn_digest, models, digest)


def _payload(row: dict, dim: int) -> dict | None:
    """A stored row's verdict, or None (with a warning) when the row is corrupt."""
    try:
        key = memo_key(row["query_norm"], list(row["retrieved_ids"]), row["warnings_digest"], row["model_ids"],
                       row["config_digest"])
        if key != row["doc_id"] or query_key(row["query_norm"], row["model_ids"], row["config_digest"]) != \
                row["query_key"]:
            raise ValueError("its key fields do not hash to its key")
        v = json.loads(row["verdict"])
        if not isinstance(v, dict) or any(f not in v for f in VERDICT_FIELDS):
            missing = [f for f in VERDICT_FIELDS if not isinstance(v, dict) or f not in v]
            raise ValueError(f"its verdict lacks {missing}")
        if v["status"] not in (Status.OK, Status.REJECTED):
            raise ValueError(f"its verdict status is {v['status']!r}")
        vec = row["vector"]
        if vec is None or len(vec) != dim or not all(x == x for x in vec):
            raise ValueError("its answer vector is missing or malformed")
        v["vector"] = [float(x) for x in vec]
        return v
    except (KeyError, TypeError, ValueError) as e:
        log.warning("memo row %s ignored (corrupt: %s); the query is generated and checked again",
                    str(row.get("doc_id"))[:16], e)
        return None


class Recall(Stage):
    """Memo lookup before generation (see the module doc). Hits get status MEMO and `memo` (the recorded
    verdict) or `memo_follow` (an earlier copy in this job); misses get `memo_key` and go on."""

    name = "recall"
    reads = frozenset({"text", "retrieved"})
    writes = frozenset({"memo_key"})

    def __init__(self, cfg: Config) -> None:
        # a keyed table lookup per batch, no model: it reserves no CPU, so a cluster that fits the model stages
        # (retrieve, screen, generate, validate: 4 x 0.5 on 2 CPUs) still fits with the memo on
        super().__init__(Resources(num_cpus=0.0))
        self.cfg = cfg
        self.models = model_ids(cfg)
        self.digest = memo_digest(cfg)
        self._seen: set[str] = set()
        self._tbl = None

    def setup(self) -> None:
        store = Store.from_config(self.cfg.store, self.cfg.models.embedder.dim)
        self._dim = store.dim
        self._tbl = store.table(MEMO) if MEMO in store._names() else None   # read-only here; the commit writes

    def _stored(self, keys: set[str], qkeys: set[str]) -> tuple[dict, dict]:
        by_key, by_query = {}, {}
        if self._tbl is None or not keys or self._tbl.count_rows() == 0:
            return by_key, by_query
        q = lambda xs: ",".join("'" + x.replace("'", "''") + "'" for x in sorted(xs))  # noqa: E731
        where = (f"(doc_id IN ({q(keys)}) OR query_key IN ({q(qkeys)})) AND config_digest = '{self.digest}'")
        rows = self._tbl.search().where(where).limit(max(1000, 50 * len(keys))).to_arrow().to_pylist()
        for row in rows:
            if row.get("model_ids") != self.models:
                continue
            p = _payload(row, self._dim)
            if p is None:
                continue
            by_key[row["doc_id"]] = p
            if p["status"] == Status.OK and row.get("answer_doc_id"):
                by_query.setdefault(row["query_key"], []).append((row["answer_doc_id"], p))
        return by_key, by_query

    def process_active(self, records: list[Record]) -> None:
        norms = [normalize_query(r["text"]) for r in records]
        keys = [memo_key(n, [d["doc_id"] for d in r["retrieved"]], warnings_digest(r.get("warnings", [])),
                         self.models, self.digest) for n, r in zip(norms, records, strict=True)]
        qkeys = [query_key(n, self.models, self.digest) for n in norms]
        by_key, by_query = self._stored(set(keys), set(qkeys))
        for r, k, qk in zip(records, keys, qkeys, strict=True):
            r["memo_key"] = k
            # a written doc shown as its paragraph (`retrieval.show_written` source/missing_source) is its `via`
            ids = {x for d in r["retrieved"] for x in (d["doc_id"], d.get("via")) if x}
            written = next((p for doc, p in by_query.get(qk, []) if doc in ids), None)
            if k in by_key or written is not None:
                r["status"], r["memo"] = Status.MEMO, by_key.get(k) or written
            elif k in self._seen:
                r["status"], r["memo_follow"] = Status.MEMO, True
            else:
                self._seen.add(k)


def _snapshot(r: Record) -> dict:
    v = {f: r.get(f) for f in (*VERDICT_FIELDS, *OPTIONAL_FIELDS)}
    v["status"] = str(r["status"])
    v["vector"] = r.get("vector")
    return v


def settle(st, r: Record) -> None:
    """Driver hook: record each fresh verdict of this job; give MEMO records their recorded verdict."""
    fresh = st.extra.setdefault("memo_fresh", {})
    key = r.get("memo_key")
    if r.get("status") != Status.MEMO:
        if key and key not in fresh and r.get("status") in (Status.OK, Status.REJECTED, Status.FAILED):
            fresh[key] = _snapshot(r)
        return
    v = r.pop("memo", None)
    if r.pop("memo_follow", False):
        v = fresh.get(key)
        if v is None:             # cannot happen in log order; never guess a verdict
            v = {"status": Status.FAILED, "reason": "memo: the first copy of this query was not seen"}
    r.pop("pre_scores", None)
    if v["status"] == Status.FAILED:
        r["status"], r["failed_check"] = Status.FAILED, "recall"
        r["reason"] = f"the first copy of this query failed: {v.get('reason')}"[:500]
        return
    for f in (*VERDICT_FIELDS, *OPTIONAL_FIELDS):
        if f == "status":
            continue
        if v.get(f) is None and f in ("failed_check", "reason"):
            r.pop(f, None)
        else:
            r[f] = v.get(f)
    r["vector"] = v["vector"]
    r["status"] = Status(v["status"])
    r["memo_hit"] = True
    st.counts["memo_hits"] += 1


def memo_rows(st) -> list[dict]:
    """The job's fresh verdicts (accepted or rejected, never failed) as memo rows."""
    if not st.cfg.run.memo:
        return []
    models, digest = model_ids(st.cfg), memo_digest(st.cfg)
    out = []
    seen = set()
    for r in [*st.candidates, *st.rejected]:
        key = r.get("memo_key")
        v = st.extra.get("memo_fresh", {}).get(key)
        if not key or r.get("memo_hit") or key in seen or v is None or v["status"] == Status.FAILED:
            continue
        if v.get("vector") is None:
            continue
        seen.add(key)
        norm = normalize_query(r["text"])
        out.append({"doc_id": key, "query_key": query_key(norm, models, digest), "query_norm": norm,
                    "retrieved_ids": [d["doc_id"] for d in r["retrieved"]],
                    "warnings_digest": warnings_digest(r.get("warnings", [])), "model_ids": models,
                    "config_digest": digest, "verdict": json.dumps({k: x for k, x in v.items() if k != "vector"},
                                                                   sort_keys=True, ensure_ascii=False),
                    "answer_doc_id": content_id(v["clean_text"]) if v["status"] == Status.OK and v.get("clean_text")
                    else None,
                    "vector": v["vector"], "epoch": st.n, "created_at": now()})
    return out
