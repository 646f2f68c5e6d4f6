"""Runner mechanics: alignment, retry in halves, failures as data."""

from collections import defaultdict

from bidirag.runners.common import apply_stage, number
from bidirag.stages.base import AlignmentError, Stage


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

    stats = defaultdict(float)
    out = apply_stage(Poisonable(), batch, stats)
    assert [r["_seq"] for r in out] == list(range(100, 106))
    assert [r["status"] for r in out] == ["ok", "ok", "failed", "ok", "ok", "ok"]
    assert "MemoryError" in out[2]["reason"] and out[2]["failed_check"] == "poisonable"
    assert all(r.get("done") and not r.get("half_done") for r in out if r["status"] == "ok")
    assert stats["poisonable.retries"] >= 2


class Dropper(Stage):
    name = "dropper"

    def process_batch(self, batch):
        return batch[:-1]

    def process_active(self, records):
        pass


def test_a_stage_that_drops_records_is_caught():
    batch = [{"text": "a"}, {"text": "b"}]
    number(batch, 0)
    out = apply_stage(Dropper(), batch)
    assert all(r["status"] == "failed" and AlignmentError.__name__ in r["reason"] for r in out)
