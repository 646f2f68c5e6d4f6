"""Within-epoch near-duplicate removal among accepted candidates (a global stage)."""

from __future__ import annotations

import numpy as np

from bidirag.stages.base import GlobalStage, Record, Status, is_ok
from bidirag.text import content_id


class NearDuplicateFilter(GlobalStage):
    """Greedy in log order: keep a candidate unless its text id was kept already or its cosine to a kept
    candidate is >= `max_cosine`. Dropped records get status 'deduplicated' and name the kept one."""

    name = "dedup"
    reads = frozenset({"clean_text", "vector", "query_id"})

    def __init__(self, max_cosine: float) -> None:
        self.max_cosine = max_cosine

    def process_all(self, records: list[Record]) -> list[Record]:
        cands = [r for r in records if is_ok(r)]
        cands.sort(key=lambda r: r["_seq"])
        kept_ids: dict[str, str] = {}
        kept_vecs: list[np.ndarray] = []
        kept_q: list[str] = []
        for r in cands:
            cid = content_id(r["clean_text"])
            v = np.asarray(r["vector"], dtype=np.float32)
            if cid in kept_ids:
                r["status"], r["reason"] = Status.DEDUPLICATED, f"same text as the answer to {kept_ids[cid]}"
                continue
            if kept_vecs:
                sims = np.stack(kept_vecs) @ v
                j = int(sims.argmax())
                if sims[j] >= self.max_cosine:
                    r["status"] = Status.DEDUPLICATED
                    r["reason"] = f"near-duplicate of the answer to {kept_q[j]} (cosine {sims[j]:.3f})"
                    continue
            kept_ids[cid] = r["query_id"]
            kept_vecs.append(v)
            kept_q.append(r["query_id"])
        return records
