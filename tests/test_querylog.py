import gzip
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


def test_gzipped_jsonl_is_read_and_checked(tmp_path):
    p = tmp_path / "q.jsonl.gz"
    with gzip.open(p, "wb") as f:
        f.write(b'{"query_id": "a", "text": "hello"}\n{broken\n{"query_id": "b", "text": "again"}\n')
    dead = DeadLetter(None)
    assert [r["query_id"] for r in read_log(p, dead)] == ["a", "b"]
    assert dead.count == 1


def test_a_truncated_gzip_log_keeps_what_it_could_read_and_dead_letters_the_rest(tmp_path):
    whole = gzip.compress(b"".join(b'{"query_id": "q%d", "text": "question number %d"}\n' % (i, i)
                                   for i in range(2000)))
    p = tmp_path / "q.jsonl.gz"
    p.write_bytes(whole[:len(whole) // 2])          # a log copied while it was still being written
    dead = DeadLetter(tmp_path / "dead.jsonl")
    ids = [r["query_id"] for r in read_log(p, dead)]
    dead.close()
    assert 0 < len(ids) < 2000 and ids == [f"q{i}" for i in range(len(ids))]
    row = json.loads((tmp_path / "dead.jsonl").read_text())
    assert dead.count == 1 and "unreadable gzip stream" in row["reason"]


@pytest.mark.parametrize(("head", "kind", "fix"), [
    (b"\x1f\x8b\x08\x00", "gzip", "q.jsonl.gz"), (b"PAR1\x15\x04", "Parquet", "q.parquet"),
    (b"\x89PNG\r\n\x1a\n", "PNG", "JSONL or Parquet")])
def test_a_binary_file_given_as_jsonl_is_a_clear_error(tmp_path, head, kind, fix):
    p = tmp_path / "q.jsonl"
    p.write_bytes(head + bytes(range(256)) * 4)
    dead = DeadLetter(tmp_path / "dead.jsonl")
    with pytest.raises(QueryLogError, match=f"this is a {kind} file, not JSON lines") as e:
        list(read_log(p, dead))
    assert fix in str(e.value) and dead.count == 0     # refused as a whole, not dead-lettered line by line


def test_a_text_log_with_a_binary_line_keeps_its_good_lines(tmp_path):
    log = write_log(tmp_path / "q.jsonl", [{"query_id": "a", "text": "fine"}, b"\x1f\x8b\x00\xff junk\n",
                                          {"query_id": "b", "text": "also fine"}])
    dead = DeadLetter(None)
    assert [r["query_id"] for r in read_log(log, dead)] == ["a", "b"] and dead.count == 1
