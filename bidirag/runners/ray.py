"""Ray runner: each stage becomes a pool of actors (resources and pool size from the stage's config).

Batches flow actor to actor as object refs, so stages overlap and the driver only holds `max_in_flight`
batches; outputs are yielded in log order. Per-batch failures are handled inside the actor exactly as
in the local runner (retry in halves, then 'failed' records). A batch that exceeds `batch_timeout_s` (a
model call that hangs or is too slow for the batch) has its actors killed and restarted and is retried in
halves; a single record that still times out fails with the timeout as reason, and the job goes on.

Before any actor starts, the runner checks that the actor pools fit the cluster (`check_fits`): the sum of
every stage's `num_cpus`/`num_gpus` x `pool_size` against `ray.cluster_resources()`, and each actor against
the largest node. An actor that cannot fit would stay pending until `start_timeout_s`; this fails at once,
with the numbers (`run.ray.check_resources: false` skips it on an autoscaling cluster).

Actors' output reaches the driver's log (`log_to_driver=True`): each actor sends its stdout to its stderr and
logs through `logging`, so an actor's warnings and errors (a failed batch's exception, a model that will not
load) appear on the driver's stderr with the actor's pid, and never among the driver's results on stdout.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator

from bidirag.config import ConfigError, RayConfig
from bidirag.models.nli import LabelOrderError
from bidirag.pipeline import Pipeline
from bidirag.runners.common import RunStats, apply_stage, finish_on_driver, number, retry_in_halves, setup_stages
from bidirag.stages.base import Record, Stage


class RayUnavailable(RuntimeError):
    pass


class ClusterTooSmall(ConfigError):
    """The configured actor pools ask for more CPUs/GPUs than the Ray cluster has (a config error: exit 2)."""


# which config section sets a stage's resources (for the message; other stages use the defaults)
_RESOURCE_FIELDS = {"retrieve": "models.embedder", "generate": "models.generator", "validate": "models.nli",
                    "utility_gate": "models.generator", "document_gate": "models.generator",
                    "distill": "models.generator", "unit_check": "models.nli"}
_KINDS = (("GPU", "num_gpus", "GPUs"), ("CPU", "num_cpus", "CPUs"))


def stage_demand(stages: list[Stage]) -> list[dict]:
    """The actor pools the runner starts: stage name, pool size and per-actor CPUs/GPUs."""
    return [{"stage": st.name, "pool_size": st.resources.pool_size, "num_cpus": st.resources.num_cpus,
             "num_gpus": st.resources.num_gpus} for st in stages]


def _num(x: float) -> str:
    return f"{x:g}"


def check_fits(demand: list[dict], total: dict, nodes: list[dict]) -> None:
    """Raise ClusterTooSmall (one line: the numbers and the fix) if the pools cannot all be placed: their summed
    CPUs/GPUs exceed the cluster's `total`, or one actor asks for more than the largest of `nodes` (each a
    resource dict such as {"CPU": 12, "GPU": 1})."""
    problems, fixes = [], set()
    for key, field, unit in _KINDS:
        need = sum(d["pool_size"] * d[field] for d in demand)
        have = float(total.get(key, 0))
        if need > have + 1e-9:
            parts = ", ".join(f"{d['stage']} {d['pool_size']}x{_num(d[field])}" for d in demand if d[field])
            problems.append(f"the stage actors ask for {_num(need)} {unit} ({parts}) but the cluster has "
                            f"{_num(have)}")
            fixes.add(key)
        largest = max((float(n.get(key, 0)) for n in nodes), default=have)
        for d in demand:
            if d[field] > largest + 1e-9 and need <= have + 1e-9:
                problems.append(f"stage {d['stage']!r} asks for {_num(d[field])} {key} per actor but the largest "
                                f"node has {_num(largest)}")
                fixes.add(key)
    if problems:
        fields = sorted({f"{_RESOURCE_FIELDS.get(d['stage'], 'stage ' + d['stage'])}.resources" for d in demand
                         if any(d[f] for k, f, _ in _KINDS if k in fixes)})
        raise ClusterTooSmall(
            "Ray cluster too small for this config: " + "; ".join(problems) + ". Lower pool_size/num_gpus/num_cpus "
            f"in {', '.join(fields)}, or add workers (infra/k8s/rayjob-nightly.yaml: workerGroupSpecs replicas); "
            "on an autoscaling cluster set run.ray.check_resources=false")


def check_cluster(ray, stages: list[Stage]) -> None:
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    check_fits(stage_demand(stages), ray.cluster_resources(), nodes)


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
        kw = dict(include_dashboard=False, log_to_driver=True, logging_level="ERROR")
        if cfg.address:
            ray.init(address=cfg.address, **kw)
        else:
            ray.init(num_cpus=cfg.num_cpus, **kw)
    return ray


class StageStartError(ConfigError):
    """A stage's model could not load on Ray because of its configuration (wrong path, label order, size)."""


# errors of a stage's setup that come from its configuration: reported in one line (exit 2), not a traceback
_CONFIG_ERRORS = (ConfigError, LabelOrderError, FileNotFoundError, ValueError)


def _actor_output_to_stderr() -> None:
    """In an actor process: stdout (Python and fd 1) to stderr, bidirag's logging on; Ray streams the actor's
    stderr to the driver's stderr."""
    import sys

    from bidirag.output import setup_logging

    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    setup_logging()


class _StageActor:
    def __init__(self, stage: Stage) -> None:
        _actor_output_to_stderr()
        self.stage = stage
        self.stats = RunStats()
        self.error: str | None = None
        try:
            setup_stages([stage], self.stats)
        except _CONFIG_ERRORS as e:     # kept for ready(): Ray would keep only its text inside a traceback
            self.error = f"{type(e).__name__}: {e}"

    def process(self, batch: list[Record]) -> list[Record]:
        return apply_stage(self.stage, batch, self.stats)

    def ready(self) -> str | None:
        return self.error

    def stats_(self) -> dict:
        return self.stats.as_dict()


class _Pools:
    """One actor pool per stage; a batch goes through one actor of each pool, chained by object refs."""

    def __init__(self, ray, stages: list[Stage], cfg: RayConfig) -> None:
        self.ray, self.stages, self.cfg = ray, stages, cfg
        self.actor_cls = ray.remote(_StageActor)
        self.pools = [[self.start(st) for _ in range(st.resources.pool_size)] for st in stages]
        for st, pool in zip(stages, self.pools, strict=True):
            self.wait_ready(pool, f"stage {st.name!r}")

    def start(self, st: Stage):
        return self.actor_cls.options(num_cpus=st.resources.num_cpus, num_gpus=st.resources.num_gpus).remote(st)

    def wait_ready(self, actors: list, what: str) -> None:
        try:
            errors = [e for e in self.ray.get([a.ready.remote() for a in actors], timeout=self.cfg.start_timeout_s)
                      if e]
        except Exception as e:
            self.kill_all()
            raise RuntimeError(f"{what} could not start on Ray ({type(e).__name__}: {e}). Check its model "
                               "path and resources (num_cpus/num_gpus in the config must fit the cluster).") from e
        if errors:
            self.kill_all()
            raise StageStartError(f"{what} could not start on Ray: {errors[0]}")

    def submit(self, batch: list[Record], k: int) -> tuple:
        """Send a batch through one actor of every pool; returns its ref and the (pool, slot, actor) used."""
        ref, used = self.ray.put(batch), []
        for i, pool in enumerate(self.pools):
            j = k % len(pool)
            ref = pool[j].process.remote(ref)
            used.append((i, j, pool[j]))
        return ref, used

    def replace(self, used: list) -> None:
        """Kill the actors a batch went through (the only way to stop a call that hangs) and start new ones;
        batches queued on them fail with RayActorError and are sent again."""
        fresh = []
        for i, j, actor in used:
            if self.pools[i][j] is actor:      # not already replaced for another batch
                self.ray.kill(actor)
                self.pools[i][j] = self.start(self.stages[i])
                fresh.append(self.pools[i][j])
        self.wait_ready(fresh, "a restarted actor")

    def collect(self, stats: RunStats) -> None:
        for pool in self.pools:
            for a in pool:
                try:
                    stats.merge(self.ray.get(a.stats_.remote(), timeout=30))
                except Exception:  # noqa: BLE001 - stats are best effort on shutdown
                    pass

    def kill_all(self) -> None:
        for pool in self.pools:
            for a in pool:
                self.ray.kill(a)


class RayRunner:
    def __init__(self, cfg: RayConfig | None = None) -> None:
        self.cfg = cfg or RayConfig()
        self.stats = RunStats()

    def stream(self, pipeline: Pipeline, batches: Iterable[list[Record]]) -> Iterator[list[Record]]:
        pipeline.check_contract()
        ray = ensure_ray(self.cfg)
        if self.cfg.check_resources:
            check_cluster(ray, pipeline.stages)
        pools = _Pools(ray, pipeline.stages, self.cfg)
        inflight: deque = deque()
        seq, k = 0, 0
        try:
            for batch in batches:
                number(batch, seq)
                seq += len(batch)
                inflight.append((*pools.submit(batch, k), batch, k))
                k += 1
                if len(inflight) >= self.cfg.max_in_flight:
                    yield self._drain_one(ray, pools, inflight.popleft())
            while inflight:
                yield self._drain_one(ray, pools, inflight.popleft())
        finally:
            pools.collect(self.stats)
            pools.kill_all()

    def _drain_one(self, ray, pools: _Pools, item: tuple) -> list[Record]:
        """A batch's output. A batch that times out is retried in halves on restarted actors, down to single
        records, which then fail with the timeout; a batch whose actor died is sent again whole once (it may
        only have queued behind a hung batch), then in halves; any other error (e.g. a lost object) fails the
        batch's records and the job goes on."""
        from ray.exceptions import GetTimeoutError, RayActorError

        ref, used, raw, k = item
        timeout = self.cfg.batch_timeout_s
        last = {"used": used}

        def run(part: list[Record], first: bool) -> list[Record]:
            r, last["used"] = (ref, used) if first else pools.submit(part, k)
            return ray.get(r, timeout=timeout)

        def decide(e: Exception, part: list[Record], resent: bool) -> str:
            if isinstance(e, GetTimeoutError | RayActorError):
                timed_out = isinstance(e, GetTimeoutError)
                self.stats.errors["ray_timeout.errors" if timed_out else "ray_actor_died.errors"] += 1
                pools.replace(last["used"])
                return "halve" if timed_out else "resend"
            return "fail"

        def why(e: Exception) -> str:
            if isinstance(e, GetTimeoutError):
                return f"ray batch timed out after {timeout:g} s (run.ray.batch_timeout_s); the actors were restarted"
            if isinstance(e, RayActorError):
                return f"ray batch: its actor died twice ({type(e).__name__}); the actors were restarted"
            return f"ray failed: {type(e).__name__}: {e}"

        return retry_in_halves(raw, run, decide, why, "ray")

    def finish(self, pipeline: Pipeline, records: list[Record]) -> list[Record]:
        return finish_on_driver(pipeline, records, self.stats)
