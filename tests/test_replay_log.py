"""The Zipf replay log of the realistic benchmark (bench/replay_log.py): deterministic, sized, shares as set."""

import json
from collections import Counter
from datetime import datetime

import pytest

from bench.replay_log import LogSpec, make_log, read_gold
from bidirag.replay import plan_files
from bidirag.text import normalize_query

QUESTIONS = [{"question_id": f"id{i}", "text": f"What did the council of town {i} decide, in the end?",
              "answers": [f"plan {i}"]} for i in range(400)]


def _lines(out):
    return [json.loads(x) for f in plan_files(out / "nights") for x in f.read_text().splitlines()]


def test_same_seed_same_bytes_other_seed_other_log(tmp_path):
    make_log(QUESTIONS, tmp_path / "a", LogSpec(seed=3))
    make_log(QUESTIONS, tmp_path / "b", LogSpec(seed=3))
    make_log(QUESTIONS, tmp_path / "c", LogSpec(seed=4))
    for name in ("nights/night-2026-12-01.jsonl", "nights/night-2026-12-04.jsonl", "gold.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes()


def test_four_nights_of_500_with_sorted_timestamps_of_their_night(tmp_path):
    s = make_log(QUESTIONS, tmp_path, LogSpec())
    files = plan_files(tmp_path / "nights")          # what `bidirag replay` would read, in order
    assert [f.name for f in files] == [f"night-2026-12-0{d}.jsonl" for d in range(1, 5)] == s["files"]
    for d, f in enumerate(files, 1):
        rows = [json.loads(x) for x in f.read_text().splitlines()]
        assert len(rows) == 500 and set(rows[0]) == {"query_id", "text", "timestamp"}   # no answers in the log
        ts = [datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")) for r in rows]
        assert ts == sorted(ts) and all(t.day == d and t.hour < 4 for t in ts)
    assert s["queries"] == 2000 and len({r["query_id"] for r in _lines(tmp_path)}) == 2000


@pytest.mark.parametrize("share", [0.0, 0.3, 1.0])
def test_repeats_and_variants_are_what_the_gold_file_says_and_shares_as_configured(tmp_path, share):
    s = make_log(QUESTIONS, tmp_path, LogSpec(variant_share=share))
    gold = [json.loads(x) for x in (tmp_path / "gold.jsonl").read_text().splitlines()]
    text = {q["question_id"]: q["text"] for q in QUESTIONS}
    lines = {r["query_id"]: r["text"] for r in _lines(tmp_path)}
    firsts = Counter(g["question_id"] for g in gold if g["kind"] == "first")
    assert set(firsts.values()) == {1} and len(firsts) == s["distinct_questions"]
    for g in gold:
        got = lines[g["query_id"]]
        if g["kind"] == "variant":
            assert got != text[g["question_id"]] and normalize_query(got) == normalize_query(text[g["question_id"]])
        else:
            assert got == text[g["question_id"]]
    kinds = Counter(g["kind"] for g in gold)
    repeats = kinds["repeat"] + kinds["variant"]
    assert repeats == 2000 - len(firsts) and s["repeat_share"] == round(repeats / 2000, 4)
    assert abs(kinds["variant"] / repeats - share) < 0.05 and s["variant_share_of_repeats"] == round(
        kinds["variant"] / repeats, 4)
    assert read_gold(tmp_path)[gold[0]["query_id"]] == gold[0]["answers"]


def test_popularity_is_zipf(tmp_path):
    flat = make_log(QUESTIONS, tmp_path / "flat", LogSpec(s=0.0))
    zipf = make_log(QUESTIONS, tmp_path / "zipf", LogSpec(s=1.1))
    steep = make_log(QUESTIONS, tmp_path / "steep", LogSpec(s=2.0))
    assert flat["repeat_share"] < zipf["repeat_share"] < steep["repeat_share"]
    gold = [json.loads(x) for x in (tmp_path / "zipf" / "gold.jsonl").read_text().splitlines()]
    top = Counter(g["question_id"] for g in gold).most_common(1)[0][1] / 2000
    expected = 1 / sum(1 / r ** 1.1 for r in range(1, 401))      # share of the rank-1 question
    assert abs(top - expected) < 0.03


def test_the_eval_stream_has_no_repeats_and_refuses_a_log_longer_than_its_questions(tmp_path):
    s = make_log(QUESTIONS, tmp_path, LogSpec(shards=3, per_shard=100, unique=True))
    rows = _lines(tmp_path)
    gold = [json.loads(x) for x in (tmp_path / "gold.jsonl").read_text().splitlines()]
    assert len(rows) == 300 and len({normalize_query(r["text"]) for r in rows}) == 300
    assert {g["kind"] for g in gold} == {"first"} and s["repeat_share"] == 0.0 and s["distinct_questions"] == 300
    with pytest.raises(ValueError, match="needs as many questions; there are 400"):
        make_log(QUESTIONS, tmp_path / "big", LogSpec(shards=4, per_shard=101, unique=True))
