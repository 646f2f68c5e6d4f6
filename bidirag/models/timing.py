"""Wall time spent inside model forward calls, per handler (for the benchmark's overhead figure)."""

from __future__ import annotations

import time
from collections import defaultdict

MODEL_SECONDS: dict[str, float] = defaultdict(float)
METHODS = {"encode": "embedder", "_decode": "generator", "predict": "nli"}


def instrument(handler, kind: str) -> None:
    """Wrap the handler's model call so its wall time adds to MODEL_SECONDS[kind]."""
    for meth, k in METHODS.items():
        if k == kind and hasattr(handler, meth) and not getattr(getattr(handler, meth), "_timed", False):
            orig = getattr(handler, meth)

            def timed(*a, _orig=orig, **kw):
                t = time.perf_counter()
                try:
                    return _orig(*a, **kw)
                finally:
                    MODEL_SECONDS[kind] += time.perf_counter() - t

            timed._timed = True
            setattr(handler, meth, timed)


def reset() -> None:
    MODEL_SECONDS.clear()
