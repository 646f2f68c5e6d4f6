"""Ray runner: each stage becomes a pool of actors (resources and pool size from the stage's config).

Batches flow actor to actor as object refs, so stages overlap and the driver only holds `max_in_flight`
batches; outputs are yielded in log order. Per-batch failures are handled inside the actor exactly as
in the local runner (retry in halves, then 'failed' records). A batch that exceeds `batch_timeout_s` (a
model call that hangs or is too slow for the batch) has its actors killed and restarted and is retried in
halves; a single record that still times out fails with the timeout as reason, and the job goes on.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator

from bidirag.config import RayConfig
from bidirag.pipeline import Pipeline
from bidirag.runners.common import RunStats, apply_stage, finish_on_driver, number, retry_in_halves, setup_stages
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
        self.stats = RunStats()
        setup_stages([stage], self.stats)

    def process(self, batch: list[Record]) -> list[Record]:
        return apply_stage(self.stage, batch, self.stats)

    def ready(self) -> bool:
        return True

    def stats_(self) -> dict:
        return self.stats.as_dict()


class RayRunner:
    def __init__(self, cfg: RayConfig | None = None) -> None:
        self.cfg = cfg or RayConfig()
        self.stats = RunStats()

    def stream(self, pipeline: Pipeline, batches: Iterable[list[Record]]) -> Iterator[list[Record]]:
        pipeline.check_contract()
        ray = ensure_ray(self.cfg)
        from ray.exceptions import GetTimeoutError, RayActorError

        actor_cls = ray.remote(_StageActor)
        stages = pipeline.stages
        timeout = self.cfg.batch_timeout_s

        def start(st: Stage):
            return actor_cls.options(num_cpus=st.resources.num_cpus, num_gpus=st.resources.num_gpus).remote(st)

        pools = [[start(st) for _ in range(st.resources.pool_size)] for st in stages]

        def wait_ready(actors: list, what: str) -> None:
            try:
                ray.get([a.ready.remote() for a in actors], timeout=self.cfg.start_timeout_s)
            except Exception as e:
                for p in pools:
                    for a in p:
                        ray.kill(a)
                raise RuntimeError(f"{what} could not start on Ray ({type(e).__name__}: {e}). Check its model "
                                   "path and resources (num_cpus/num_gpus in the config must fit the cluster).") from e

        for st, pool in zip(stages, pools, strict=True):
            wait_ready(pool, f"stage {st.name!r}")

        def submit(batch: list[Record], k: int) -> tuple:
            """Send a batch through one actor of every pool; returns its ref and the (pool, slot, actor) used."""
            ref, used = ray.put(batch), []
            for i, pool in enumerate(pools):
                j = k % len(pool)
                ref = pool[j].process.remote(ref)
                used.append((i, j, pool[j]))
            return ref, used

        def replace(used: list) -> None:
            """Kill the actors a batch went through (the only way to stop a call that hangs) and start new ones;
            batches queued on them fail with RayActorError and are sent again."""
            fresh = []
            for i, j, actor in used:
                if pools[i][j] is actor:      # not already replaced for another batch
                    ray.kill(actor)
                    pools[i][j] = start(stages[i])
                    fresh.append(pools[i][j])
            wait_ready(fresh, "a restarted actor")

        def drain_one() -> list[Record]:
            """The next batch's output. A batch that times out is retried in halves on restarted actors, down
            to single records, which then fail with the timeout; a batch whose actor died is sent again
            whole once (it may only have queued behind a hung batch), then in halves; any other error
            (e.g. a lost object) fails the batch's records and the job goes on."""
            ref, used, raw, k = inflight.popleft()
            last = {"used": used}

            def run(part: list[Record], first: bool) -> list[Record]:
                r, last["used"] = (ref, used) if first else submit(part, k)
                return ray.get(r, timeout=timeout)

            def decide(e: Exception, part: list[Record], resent: bool) -> str:
                if isinstance(e, GetTimeoutError | RayActorError):
                    self.stats.errors["ray_timeout.errors" if isinstance(e, GetTimeoutError)
                                      else "ray_actor_died.errors"] += 1
                    replace(last["used"])
                    return "halve" if isinstance(e, GetTimeoutError) else "resend"
                return "fail"

            def why(e: Exception) -> str:
                if isinstance(e, GetTimeoutError):
                    return (f"ray batch timed out after {timeout:g} s (run.ray.batch_timeout_s); the actors "
                            "were restarted")
                if isinstance(e, RayActorError):
                    return f"ray batch: its actor died twice ({type(e).__name__}); the actors were restarted"
                return f"ray failed: {type(e).__name__}: {e}"

            return retry_in_halves(raw, run, decide, why, "ray")

        inflight: deque = deque()
        seq, k = 0, 0
        try:
            for batch in batches:
                number(batch, seq)
                seq += len(batch)
                inflight.append((*submit(batch, k), batch, k))
                k += 1
                if len(inflight) >= self.cfg.max_in_flight:
                    yield drain_one()
            while inflight:
                yield drain_one()
        finally:
            for pool in pools:
                for a in pool:
                    try:
                        self.stats.merge(ray.get(a.stats_.remote(), timeout=30))
                    except Exception:  # noqa: BLE001 - stats are best effort on shutdown
                        pass
                    ray.kill(a)

    def finish(self, pipeline: Pipeline, records: list[Record]) -> list[Record]:
        return finish_on_driver(pipeline, records, self.stats)
