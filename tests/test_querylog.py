import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bidirag.data.querylog import DeadLetter, QueryLogError, batched, read_log
from tests.conftest import write_log


def test_bad_lines_go_to_dead_letter_with_line_and_reason(tmp_path):
    log = write_log(tmp_path / "q.jsonl", [
        {"query_id": "a", "text": "good one"},
        b"{not json\n",
        {"query_id": "b", "text": ""},
        b"\xff\xfe\xfd\n",
        {"query_id": "c", "text": 7},
        ["a", "list"],
        {"query_id": "d", "text": "x" * 50},
        {"text": "no id given"},
    ])
    dead = DeadLetter(tmp_path / "dead.jsonl")
    recs = list(read_log(log, dead, max_chars=20))
    dead.close()
    assert [r["text"] for r in recs] == ["good one", "no id given"]
    assert recs[1]["query_id"].startswith("q-")
    rows = [json.loads(x) for x in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rows] == [2, 3, 4, 5, 6, 7]
    reasons = " | ".join(r["reason"] for r in rows)
    for word in ("malformed JSON", "empty query", "invalid UTF-8", "must be a string", "not a JSON object",
                 "longer than 20"):
        assert word in reasons


def test_oversized_line_is_skipped_without_losing_the_next(tmp_path):
    log = write_log(tmp_path / "q.jsonl", [
        {"query_id": "big", "text": "y" * 5000}, {"query_id": "ok", "text": "fine"}])
    dead = DeadLetter(None)
    recs = list(read_log(log, dead, max_chars=10_000, max_line_bytes=1000))
    assert [r["query_id"] for r in recs] == ["ok"]
    assert dead.count == 1


def test_parquet_log_is_streamed_and_checked(tmp_path):
    p = tmp_path / "q.parquet"
    pq.write_table(pa.table({"query_id": ["a", "b"], "text": ["hello", "  "]}), p)
    dead = DeadLetter(None)
    assert [r["query_id"] for r in read_log(p, dead)] == ["a"]
    assert dead.count == 1


def test_missing_and_unknown_logs_are_clear_errors(tmp_path):
    with pytest.raises(QueryLogError, match="not found"):
        list(read_log(tmp_path / "missing.jsonl", DeadLetter(None)))
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(QueryLogError, match="unknown log format"):
        list(read_log(tmp_path / "x.csv", DeadLetter(None)))


def test_batched_keeps_order_and_remainder():
    assert [len(b) for b in batched(iter([{"i": i} for i in range(7)]), 3)] == [3, 3, 1]
