"""Ray runner: each stage becomes a pool of actors (resources and pool size from the stage's config).

Batches flow actor to actor as object refs, so stages overlap and the driver only holds `max_in_flight`
batches; outputs are yielded in log order. Per-batch failures are handled inside the actor exactly as
in the local runner (retry in halves, then 'failed' records). A batch that exceeds `batch_timeout_s`
is failed as a whole with the timeout as reason.
"""

from __future__ import annotations

import os
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator

from bidirag.config import RayConfig
from bidirag.pipeline import Pipeline
from bidirag.runners.common import apply_stage, finish_on_driver, number
from bidirag.stages.base import Record, Stage


class RayUnavailable(RuntimeError):
    pass


def _ray():
    try:
        import ray
    except ImportError as e:
        raise RayUnavailable("the ray runner needs Ray: pip install 'ray[data]==2.60.0'") from e
    return ray


def ensure_ray(cfg: RayConfig):
    ray = _ray()
    if not ray.is_initialized():
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        kw = dict(include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        if cfg.address:
            ray.init(address=cfg.address, **kw)
        else:
            ray.init(num_cpus=cfg.num_cpus, **kw)
    return ray


class _StageActor:
    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.stats: dict[str, float] = defaultdict(float)
        stage.setup()

    def process(self, batch: list[Record]) -> list[Record]:
        return apply_stage(self.stage, batch, self.stats)

    def ready(self) -> bool:
        return True

    def stats_(self) -> dict[str, float]:
        return dict(self.stats)


class RayRunner:
    def __init__(self, cfg: RayConfig | None = None) -> None:
        self.cfg = cfg or RayConfig()
        self.stage_seconds: dict[str, float] = defaultdict(float)

    def stream(self, pipeline: Pipeline, batches: Iterable[list[Record]]) -> Iterator[list[Record]]:
        ray = ensure_ray(self.cfg)
        actor_cls = ray.remote(_StageActor)
        pools = []
        for st in pipeline.stages:
            res = st.resources
            opts = {"num_cpus": res.num_cpus, "num_gpus": res.num_gpus}
            pools.append([actor_cls.options(**opts).remote(st) for _ in range(res.pool_size)])
        for st, pool in zip(pipeline.stages, pools, strict=True):
            try:
                ray.get([a.ready.remote() for a in pool], timeout=self.cfg.batch_timeout_s)
            except Exception as e:
                for p in pools:
                    for a in p:
                        ray.kill(a)
                raise RuntimeError(f"stage {st.name!r} could not start on Ray ({type(e).__name__}: {e}). "
                                   "Check its model path and resources (num_cpus/num_gpus in the config "
                                   "must fit the cluster).") from e
        inflight: deque = deque()
        seq, k = 0, 0

        def drain_one():
            ref, raw = inflight.popleft()
            try:
                return ray.get(ref, timeout=self.cfg.batch_timeout_s)
            except Exception as e:  # noqa: BLE001 - timeout / actor death -> the batch's records fail
                for r in raw:
                    if r.get("status", "ok") == "ok":
                        r["status"], r["failed_check"] = "failed", "ray"
                        r["reason"] = f"ray batch failed: {type(e).__name__}: {e}"[:500]
                return raw

        try:
            for batch in batches:
                number(batch, seq)
                seq += len(batch)
                ref = ray.put(batch)
                for pool in pools:
                    ref = pool[k % len(pool)].process.remote(ref)
                k += 1
                inflight.append((ref, batch))
                if len(inflight) >= self.cfg.max_in_flight:
                    yield drain_one()
            while inflight:
                yield drain_one()
        finally:
            for st, pool in zip(pipeline.stages, pools, strict=True):
                for a in pool:
                    try:
                        for key, v in ray.get(a.stats_.remote(), timeout=30).items():
                            self.stage_seconds[key if "." in key else st.name] += v
                    except Exception:  # noqa: BLE001 - stats are best effort on shutdown
                        pass
                    ray.kill(a)

    def finish(self, pipeline: Pipeline, records: list[Record]) -> list[Record]:
        return finish_on_driver(pipeline, records, self.stage_seconds)
