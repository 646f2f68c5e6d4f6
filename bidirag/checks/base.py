"""The acceptance-check plugin contract, its registry and the batched context checks score on.

A check is one subclass of `Check` in one file: its `name`, the reason words of a rejection, the config
field(s) its threshold comes from, and `score(ctx)`: one float per record, in order, higher is better. A
check that needs NLI asks for its pairs in `request(ctx)`; `Validate` gathers every check's pairs into one
batched NLI call before any `score` runs. Registration is `@register`; nothing else names a check, so the
verdict order, rejection counts, critiques, reports and calibration all follow the registry and
`acceptance.checks` (the configured order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from bidirag.config import AcceptanceConfig

Items = list[tuple[list[str], list[str]]]   # (hypothesis sentences, premises) per NLI request


class Check:
    """One acceptance check. Subclasses set the class attributes and implement `score`."""

    name: ClassVar[str] = ""
    reason_text: ClassVar[str] = "the check failed"
    threshold_field: ClassVar[str | None] = None    # the AcceptanceConfig field holding the min score (a bool
    #                                                 field: True = 1.0, the check must pass fully; False = off)
    config_fields: ClassVar[tuple[str, ...]] = ()   # other AcceptanceConfig fields this check reads
    default_threshold: ClassVar[float] = 0.5        # used when no config field names the threshold
    critique: ClassVar[bool] = False                # a generator mistake: stored as a critique when it rejects
    calibrate: ClassVar[bool] = True                # a continuous score worth a threshold sweep
    needs_answer: ClassVar[bool] = True             # False: reads only the query and the retrieved docs, so it
    #                                                 can run before generation (`pre_generation`)
    uses_scores: ClassVar[bool] = False             # True: scored after the others, reading `ctx.scores`

    def threshold(self, acc: AcceptanceConfig) -> float:
        """The min passing score: the `threshold_field` of the config, else `acceptance.thresholds[name]`
        (plugin checks), else `default_threshold`."""
        if self.threshold_field:
            value = getattr(acc, self.threshold_field)
            return (1.0 if value else 0.0) if isinstance(value, bool) else float(value)
        return float(acc.thresholds.get(self.name, self.default_threshold))

    def validate(self, cfg: Any) -> None:
        """Raise ValueError naming the problem and the fix when this configuration cannot run the check (called
        once when a stage that scores checks starts, before any record)."""

    def request(self, ctx: CheckContext) -> None:
        """Ask for NLI work (`ctx.request_nli`) before the batched call; most checks need none."""

    def score(self, ctx: CheckContext) -> list[float]:
        raise NotImplementedError

    def reason(self, score: float, threshold: float) -> str:
        return f"{self.reason_text} ({self.name} {score:.2f} < {threshold:.2f})"


_REGISTRY: dict[str, type[Check]] = {}


def register(cls: type[Check]) -> type[Check]:
    """Class decorator: make a check available by its name (a later registration of a name replaces it)."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a `name`")
    _REGISTRY[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def registered() -> dict[str, type[Check]]:
    return dict(_REGISTRY)


def get(name: str) -> Check:
    if name not in _REGISTRY:
        raise KeyError(f"unknown acceptance check {name!r}; registered: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]()


def enabled(acc: AcceptanceConfig) -> list[Check]:
    """The configured checks, in the configured order (`acceptance.checks`)."""
    return [get(n) for n in acc.checks]


def pre_generation(acc: AcceptanceConfig) -> list[str]:
    """The leading run of configured checks that need no answer: run before generation, they reject exactly
    the records they would reject after it (no earlier check in the order could have named the rejection)."""
    out = []
    for name in acc.checks:
        if get(name).needs_answer:
            break
        out.append(name)
    return out


def idle_settings(acc: AcceptanceConfig) -> set[str]:
    """The AcceptanceConfig fields that only checks *not* in `acc.checks` read (their `threshold_field` and
    `config_fields`): changing one cannot change a verdict of this configuration."""
    fields = lambda c: {f for f in (c.threshold_field, *c.config_fields) if f}  # noqa: E731
    used = set().union(*(fields(c) for c in enabled(acc)))
    return set().union(*(fields(c) for n, c in _REGISTRY.items() if n not in acc.checks)) - used


def thresholds(acc: AcceptanceConfig) -> dict[str, float]:
    """Min score of every configured check."""
    return {c.name: c.threshold(acc) for c in enabled(acc)}


def verdict(scores: dict[str, float], thresholds: dict[str, float], order: Sequence[str] | None = None) -> str | None:
    """The first failing check (in `order`, default the thresholds' own order), or None when all pass."""
    for name in order or list(thresholds):
        if name in thresholds and name in scores and scores[name] < thresholds[name]:
            return name
    return None


def reason(check: str, score: float, threshold: float) -> str:
    return get(check).reason(score, threshold)


@dataclass
class CheckContext:
    """What a batch of checks may read: one entry per record, in order, plus batched model access.

    `docs` are the texts a check judges against (the retrieved docs for answers, the kept docs for
    knowledge units); `texts` what would be written; `sentences` its sentences. Vectors and the nearest
    stored doc are computed once, when first asked for, by the callbacks the stage provides."""

    records: list[dict]
    queries: list[str]
    answers: list[str]
    texts: list[str]
    sentences: list[list[str]]
    docs: list[list[str]]
    cited: list[list[int]]
    acceptance: Any
    nli: Any = None
    cfg: Any = None                                  # the whole Config (a check may load its own model handler)
    embed: Callable[[list[str]], np.ndarray] | None = None
    nearest: Callable[[np.ndarray], list[float | None]] | None = None
    scores: dict[str, list[float]] = field(default_factory=dict)   # scores of the checks that ran before
    _requests: dict[str, Items] = field(default_factory=dict)
    _aggs: dict[str, str] = field(default_factory=dict)
    _results: dict[str, list[float]] = field(default_factory=dict)
    _pair_requests: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    _pair_results: dict[str, np.ndarray] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.records)

    # ---- NLI: requested by checks, run once for all of them ------------------------------------------
    def request_nli(self, key: str, items: Items, agg: str = "mean") -> None:
        """Ask for grounding-style scores of `items`: `agg` ("mean" or "min") over sentences of max over premises
        of P(entail)."""
        if agg not in ("mean", "min"):
            raise ValueError(f"unknown NLI aggregation {agg!r}: use 'mean' or 'min'")
        self._requests[key] = items
        self._aggs[key] = agg

    def request_pairs(self, key: str, pairs: list[tuple[str, str]]) -> None:
        """Ask for the raw NLI probabilities of (premise, hypothesis) `pairs` (rows: contradiction, entailment,
        neutral), computed in the same batched call as every grounding-style request."""
        self._pair_requests[key] = list(pairs)

    def run_nli(self) -> None:
        from bidirag.checks.grounding import grounding_scores

        keys = list(self._requests)
        flat = [it for k in keys for it in self._requests[k]]
        aggs = [self._aggs.get(k, "mean") for k in keys for _ in self._requests[k]]
        pkeys = list(self._pair_requests)
        raw = [p for k in pkeys for p in self._pair_requests[k]]
        got: dict[str, np.ndarray] = {}
        nli = self.nli

        class _OneCall:          # the grounding pairs and the raw pairs go to the model in one predict call
            def predict(self, pairs):
                probs = nli.predict(list(pairs) + raw)
                got["raw"] = probs[len(pairs):]
                return probs[:len(pairs)]

        scores = grounding_scores(_OneCall(), flat, aggs) if flat else []
        if "raw" not in got:                    # no grounding pair at all (or no raw pair)
            got["raw"] = nli.predict(raw) if raw else np.zeros((0, 3), np.float32)
        at = 0
        for k in keys:
            n = len(self._requests[k])
            self._results[k], at = scores[at:at + n], at + n
        at = 0
        for k in pkeys:
            n = len(self._pair_requests[k])
            self._pair_results[k], at = got["raw"][at:at + n], at + n
        self._requests.clear()
        self._pair_requests.clear()

    def pair_probs(self, key: str) -> np.ndarray:
        return self._pair_results[key]

    def nli_scores(self, key: str) -> list[float]:
        return self._results[key]

    # ---- embeddings and the nearest stored doc, computed once --------------------------------------
    @property
    def answer_vectors(self) -> np.ndarray:
        if "answer_vectors" not in self._cache:
            self._cache["answer_vectors"] = self.embed(self.texts)
        return self._cache["answer_vectors"]

    @property
    def query_vectors(self) -> np.ndarray:
        if "query_vectors" not in self._cache:
            vecs = [r.get("query_vector") for r in self.records]
            self._cache["query_vectors"] = (np.asarray(vecs, np.float32) if all(v is not None for v in vecs)
                                            else self.embed(self.queries))
        return self._cache["query_vectors"]

    @property
    def nearest_cosine(self) -> list[float | None]:
        if "nearest" not in self._cache:
            self._cache["nearest"] = self.nearest(self.answer_vectors)
        return self._cache["nearest"]
