"""Runner mechanics: alignment, retry in halves, failures as data, timeouts on Ray."""

import os
import time

import pytest

from bidirag.config import RayConfig
from bidirag.pipeline import Pipeline
from bidirag.runners.common import RunStats, apply_stage, number
from bidirag.runners.local import LocalRunner
from bidirag.stages.base import AlignmentError, ContractError, Stage, Status


class Poisonable(Stage):
    name = "poisonable"

    def __init__(self):
        super().__init__()
        self.calls = []

    def process_active(self, records):
        self.calls.append(len(records))
        if any(r["text"] == "poison" for r in records):
            for r in records:
                r["half_done"] = True      # a failing call may leave partial updates behind
            raise MemoryError("out of memory")
        for r in records:
            r["done"] = True


def test_a_failing_batch_is_retried_in_halves_and_only_the_bad_record_fails():
    batch = [{"text": t} for t in ["a", "b", "poison", "c", "d", "e"]]
    number(batch, 100)

    stats = RunStats()
    out = apply_stage(Poisonable(), batch, stats)
    assert [r["_seq"] for r in out] == list(range(100, 106))
    assert [r["status"] for r in out] == ["ok", "ok", "failed", "ok", "ok", "ok"]
    assert "MemoryError" in out[2]["reason"] and out[2]["failed_check"] == "poisonable"
    assert all(r.get("done") and not r.get("half_done") for r in out if r["status"] == "ok")
    assert stats.errors["poisonable.retries"] >= 2 and stats.errors["poisonable.errors"] >= 3
    assert stats.seconds["poisonable"] > 0 and not any(k.endswith("errors") for k in stats.seconds)


class Dropper(Stage):
    name = "dropper"

    def process_batch(self, batch):
        return batch[:-1]

    def process_active(self, records):
        pass


class Reads(Stage):
    name = "reads_answer"
    reads = frozenset({"answer"})
    writes = frozenset({"length"})

    def process_active(self, records):
        for r in records:
            if r["text"] != "forget":
                r["length"] = len(r["answer"])


class WritesAnswer(Stage):
    name = "writes_answer"
    reads = frozenset({"text"})
    writes = frozenset({"answer"})

    def process_active(self, records):
        for r in records:
            r["answer"] = r["text"].upper()


def test_the_runner_checks_the_declared_record_contract():
    # a stage that reads what no earlier stage writes is refused before any record moves
    with pytest.raises(ContractError, match="reads_answer.*answer"):
        list(LocalRunner().stream(Pipeline("t", [Reads()]), iter([[{"text": "a"}]])))
    # a stage that leaves a declared field unset fails those records, naming the field
    out = [r for b in LocalRunner().stream(Pipeline("t", [WritesAnswer(), Reads()]),
                                           iter([[{"text": "ab"}, {"text": "forget"}]])) for r in b]
    assert out[0]["status"] == Status.OK and out[0]["length"] == 2
    assert out[1]["status"] == Status.FAILED and "length" in out[1]["reason"]


def test_a_stage_that_drops_records_is_caught():
    batch = [{"text": "a"}, {"text": "b"}]
    number(batch, 0)
    out = apply_stage(Dropper(), batch)
    assert all(r["status"] == "failed" and AlignmentError.__name__ in r["reason"] for r in out)


class Misbehaves(Stage):
    """Calls `fault` on a batch that holds the record `trigger`; otherwise marks its records done."""

    name = "misbehaves"

    def __init__(self, trigger, fault):
        super().__init__()
        self.trigger, self.fault = trigger, fault

    def process_active(self, records):
        if any(r["text"] == self.trigger for r in records):
            self.fault()
        for r in records:
            r["done"] = True


def _hang():       # a model call stuck in a driver or a lock
    time.sleep(3600)


def _crash():      # what the kernel's OOM killer does to an actor
    os._exit(1)


def _ray_runner(**cfg):
    import sys

    from ray import cloudpickle

    from bidirag.runners.ray import RayRunner

    cloudpickle.register_pickle_by_value(sys.modules[__name__])   # Ray workers cannot import this test module
    return RayRunner(RayConfig(**cfg))


def test_ray_a_batch_that_hangs_is_retried_in_halves_on_restarted_actors(ray_cluster):
    runner = _ray_runner(batch_timeout_s=4, max_in_flight=2)
    batches = [[{"text": t} for t in ["a", "b", "hang", "c"]], [{"text": t} for t in ["d", "e"]]]
    out = [r for b in runner.stream(Pipeline("t", [Misbehaves("hang", _hang)]), iter(batches)) for r in b]
    assert [r["text"] for r in out] == ["a", "b", "hang", "c", "d", "e"]          # nothing lost, log order
    assert [r["status"] for r in out] == ["ok", "ok", "failed", "ok", "ok", "ok"]
    assert "timed out after 4 s" in out[2]["reason"] and out[2]["failed_check"] == "ray"
    assert all(r.get("done") for r in out if r["status"] == "ok")
    # [a b hang c] -> [hang c] -> [hang]: three timeouts; the 2nd batch was queued on the killed actor
    assert runner.stats.errors["ray_timeout.errors"] == 3 and runner.stats.errors["ray_actor_died.errors"] >= 1


def test_ray_an_actor_that_dies_is_restarted_and_only_the_record_that_kills_it_fails(ray_cluster):
    runner = _ray_runner(batch_timeout_s=120, max_in_flight=2)
    batches = [[{"text": t} for t in ["a", "crash", "b", "c"]], [{"text": "d"}]]
    out = [r for b in runner.stream(Pipeline("t", [Misbehaves("crash", _crash)]), iter(batches)) for r in b]
    assert [r["text"] for r in out] == ["a", "crash", "b", "c", "d"]
    assert [r["status"] for r in out] == ["ok", "failed", "ok", "ok", "ok"]
    assert "actor died twice" in out[1]["reason"]
    assert runner.stats.errors["ray_timeout.errors"] == 0 and runner.stats.errors["ray_actor_died.errors"] >= 6
