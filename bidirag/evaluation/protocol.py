"""Which questions a seed writes back and which it tests, in three groups.

Per seed (fixed RNG): `n_writeback` questions of the split form the write-back stream W. Test queries T come
in three groups of (about) a third each:
- `reask`: questions of W asked again, word for word (what write-back should serve best);
- `related`: other questions whose gold paragraph is the gold paragraph of some question in W (the knowledge
  written for W may answer them, or mislead them);
- `unrelated`: questions whose gold paragraph no question of W has.
Every system of a seed answers the same T.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bidirag.data.squad import Article, Question
from bidirag.evaluation.dataset import EvalError

GROUPS = ("reask", "related", "unrelated")


@dataclass(frozen=True)
class TestQuery:
    qid: str            # unique within T ("<question id>@reask" for re-asks)
    question: Question
    group: str


def sample(articles: list[Article], seed: int, n_writeback: int, n_test: int) -> tuple[list[Question], list[TestQuery]]:
    qs = [q for a in articles for q in a.questions]
    rng = random.Random(seed)
    rng.shuffle(qs)
    if len(qs) < n_writeback + n_test:
        raise EvalError(f"the split has {len(qs)} questions; {n_writeback} write-back + {n_test} test need more "
                         "(lower --writeback-queries / --test-queries or use a larger dataset)")
    w = qs[:n_writeback]
    rest = qs[n_writeback:]
    paras = {(q.title, q.paragraph_index) for q in w}
    related = [q for q in rest if (q.title, q.paragraph_index) in paras]
    unrelated = [q for q in rest if (q.title, q.paragraph_index) not in paras]
    k = n_test // 3
    want = {"reask": k, "related": k, "unrelated": n_test - 2 * k}
    pools = {"reask": list(w), "related": related, "unrelated": unrelated}
    for g in GROUPS:                      # a small split: a short group's share goes to groups with room
        extra = want[g] - len(pools[g])
        if extra > 0:
            want[g] = len(pools[g])
            for h in GROUPS:
                take = min(extra, len(pools[h]) - want[h]) if h != g else 0
                if take > 0:
                    want[h] += take
                    extra -= take
    if sum(want.values()) < n_test:
        raise EvalError(f"cannot draw {n_test} test queries from this split; lower --test-queries")
    test = []
    for g in GROUPS:
        for q in rng.sample(pools[g], want[g]):
            test.append(TestQuery(f"{q.qid}@{g}" if g == "reask" else q.qid, q, g))
    return w, test
