"""bidirag on object storage: a real S3 API server (moto, `moto[server]` from requirements.txt) started here on a
free localhost port, with authentication on (an IAM user's key; a wrong key is refused). Store, query logs, run
folders (reports, verdicts, dead letters) and the releases all live in the bucket; nothing is written locally.

What this does not cover: moto is not AWS (no eventual-consistency or throttling behaviour, no real IAM policy
evaluation beyond allow-all for the test user); gs:// and az:// go through the same code paths but are untested
here (no emulator on the package registries)."""

import json
import os
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bidirag.cli import main
from tests.conftest import BUCKET, DOCS, ROOT
from tests.conftest import free_port as _free_port

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")

KEY_ENV, SECRET_ENV = "BIDIRAG_TEST_S3_KEY", "BIDIRAG_TEST_S3_SECRET"


def _keys(s3, prefix=""):
    out = s3["client"].list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in out.get("Contents", []))


def _get(s3, key) -> bytes:
    return s3["client"].get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _put(s3, key, data: bytes) -> str:
    s3["client"].put_object(Bucket=BUCKET, Key=key, Body=data)
    return f"s3://{BUCKET}/{key}"


def _config(tmp_path, s3, store=f"s3://{BUCKET}/store", runs=f"s3://{BUCKET}/runs", endpoint=None) -> str:
    """Fake models; the store and the run folders in the bucket; credentials only by environment variable."""
    p = tmp_path / f"s3-{abs(hash((store, runs, endpoint)))}.yaml"
    p.write_text(json.dumps({
        "store": {"uri": store, "storage_options": {
            "aws_endpoint": endpoint or s3["endpoint"], "allow_http": True, "aws_region": "us-east-1",
            "aws_access_key_id": f"${{{KEY_ENV}}}", "aws_secret_access_key": f"${{{SECRET_ENV}}}"}},
        "run": {"runs_dir": runs}}))
    return str(p)


def _cli(cfg, *args) -> list[str]:
    return [*args, "--config", str(ROOT / "configs/default.yaml"), "--config", str(ROOT / "configs/test-fakes.yaml"),
            "--config", cfg, "--quiet"]


@pytest.fixture
def creds(s3, monkeypatch, tmp_path):
    monkeypatch.setenv(KEY_ENV, s3["key"])
    monkeypatch.setenv(SECRET_ENV, s3["secret"])
    monkeypatch.chdir(tmp_path)          # a local folder named 's3:' would show up here
    return s3


def _lines(s3, key) -> list[dict]:
    return [json.loads(x) for x in _get(s3, key).decode().splitlines()]


def test_s3_end_to_end_and_rollback_from_a_second_process(creds, tmp_path, capsys):
    s3 = creds
    cfg = _config(tmp_path, s3)
    buf = pa.BufferOutputStream()
    pq.write_table(pa.table({"text": DOCS, "source": [f"t#{i}" for i in range(len(DOCS))]}), buf)
    corpus = _put(s3, "in/corpus.parquet", buf.getvalue().to_pybytes())
    log = _put(s3, "logs/q.jsonl", b"".join((json.dumps(r) + "\n").encode() for r in [
        {"query_id": "q1", "text": "What is the capital of Poland?"},
        {"query_id": "q2", "text": "When was the Eiffel Tower completed?"}]) + b"{broken\n")
    for day in (1, 2):
        _put(s3, f"logs/replay/day-{day}.jsonl", (json.dumps(
            {"query_id": f"r{day}", "text": "Which river flows through Warsaw, the capital of Poland?"
             if day == 1 else "Who won Super Bowl 50?"}) + "\n").encode())

    assert main(_cli(cfg, "init")) == 0
    capsys.readouterr()
    assert any(k.startswith("store/corpus.lance/") for k in _keys(s3))
    assert main(_cli(cfg, "ingest", corpus)) == 0
    assert json.loads(capsys.readouterr().out)["inserted"] == 5
    assert main(_cli(cfg, "promote", "head", "--reason", "seed")) == 0
    assert main(_cli(cfg, "run", "--queries", log, "--run-name", "night1", "--json")) == 0
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rep["report_dir"] == f"s3://{BUCKET}/runs/night1/epoch-1" and rep["written"] >= 1
    saved = json.loads(_get(s3, "runs/night1/epoch-1/report.json"))
    assert saved["written"] == rep["written"] and saved["dead_lettered"] == 1
    assert len(_lines(s3, "runs/night1/epoch-1/verdicts.jsonl")) == 2
    dead = _lines(s3, "runs/night1/epoch-1/dead_letter.jsonl")
    assert dead[0]["line"] == 3 and "malformed JSON" in dead[0]["reason"]
    assert "runs/night1/epoch-1/report.html" in _keys(s3, "runs/")

    # readers (LanceDB over S3) see the seed only: epoch 1 is not promoted
    import lancedb

    opts = {"aws_endpoint": s3["endpoint"], "allow_http": "true", "aws_region": "us-east-1",
            "aws_access_key_id": s3["key"], "aws_secret_access_key": s3["secret"]}
    db = lancedb.connect(f"s3://{BUCKET}/store", storage_options=opts)
    assert set(db.open_table("corpus_production").to_arrow().column("origin").to_pylist()) == {"seed"}

    # replay a glob of logs in the bucket: two epochs, built on production (epoch 1 is dropped)
    assert main(_cli(cfg, "replay", "--log", f"s3://{BUCKET}/logs/replay/day-*.jsonl", "--epoch-size", "1")) == 0
    out = capsys.readouterr().out
    res = json.loads(out[out.index("{"):])          # log lines (if any) carry no braces
    assert res["epochs_run"] == 2 and len(res["files"]) == 2
    assert f"runs/replay-{res['plan']}/replay.json" in _keys(s3, "runs/")
    assert main(_cli(cfg, "diff", "production", "epoch-3", "--json")) == 0
    d = json.loads(capsys.readouterr().out)
    assert {r["epoch"] for r in d["added"]} <= {2, 3} and d["removed_count"] == 0
    assert main(_cli(cfg, "promote", "epoch-3", "--require", "max_failed=0", "--reason", "replay ok")) == 0
    capsys.readouterr()
    promoted = db.open_table("corpus_production").count_rows()
    assert promoted == 5 + d["added_count"]

    # rollback from another process that knows only the config file and the environment
    env = {**os.environ, KEY_ENV: s3["key"], SECRET_ENV: s3["secret"], "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "bidirag.cli", *_cli(cfg, "rollback", "--reason", "from elsewhere")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rb = json.loads(out.stdout)
    assert rb["action"] == "rollback" and rb["reason"] == "from elsewhere"
    assert db.open_table("corpus_production").count_rows() == 5

    assert main(_cli(cfg, "gc", "--keep", "1")) == 0
    capsys.readouterr()
    assert main(_cli(cfg, "snapshots")) == 0
    snap = capsys.readouterr().out
    assert "release-3 (rollback release-1" in snap and "release-2 (promote epoch-3" in snap
    assert main(_cli(cfg, "diff", "release-1", "release-2")) == 0      # released snapshots survive gc
    assert f"+{d['added_count']} -0" in capsys.readouterr().out
    assert not (tmp_path / "s3:").exists() and not list(tmp_path.glob("runs*"))   # nothing written locally


@pytest.mark.parametrize("case", ["wrong secret", "missing bucket", "missing env var", "runs bucket missing",
                                  "unreachable"])
def test_bad_object_store_input_is_one_line_exit_2_nothing_written(creds, tmp_path, capsys, monkeypatch, case):
    s3 = creds
    before = _keys(s3)
    cfg, says = {
        "wrong secret": (_config(tmp_path, s3), "refused the credentials"),
        "missing bucket": (_config(tmp_path, s3, store="s3://no-such-bucket/store"),
                           "bucket 'no-such-bucket' does not exist"),
        "missing env var": (_config(tmp_path, s3), f"refers to ${{{KEY_ENV}}}, which is not set"),
        "runs bucket missing": (_config(tmp_path, s3, store=f"s3://{BUCKET}/bad-runs-store",
                                        runs="s3://no-runs-bucket/runs"), "bucket 'no-runs-bucket' does not exist"),
        "unreachable": (_config(tmp_path, s3, endpoint=f"http://127.0.0.1:{_free_port()}"),
                        "cannot reach the object store"),
    }[case]
    if case == "wrong secret":
        monkeypatch.setenv(SECRET_ENV, "not-the-secret")
    if case == "missing env var":
        monkeypatch.delenv(KEY_ENV)
    log = tmp_path / "q.jsonl"
    log.write_text(json.dumps({"query_id": "q1", "text": "What is the capital of Poland?"}) + "\n")
    cmd = ["run", "--queries", str(log)] if case == "runs bucket missing" else ["init"]
    t = time.time()
    assert main(_cli(cfg, *cmd)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err, err
    assert time.time() - t < 30
    assert _keys(s3) == before           # nothing half-written
    assert not (tmp_path / "s3:").exists() and not (tmp_path / "no-such-bucket").exists()


_WRITER = """
import sys, time
from bidirag.store import CORPUS, Store, now
opts = dict(aws_endpoint=sys.argv[1], allow_http="true", aws_region="us-east-1", aws_access_key_id=sys.argv[2],
            aws_secret_access_key=sys.argv[3])
st = Store(sys.argv[4], dim=4, storage_options=opts)
st.table(CORPUS)
rows = [{"doc_id": f"k{i}", "text": "t", "vector": [1.0, 0, 0, 0], "source_doc_ids": [], "created_at": now()}
        for i in range(int(sys.argv[5]), int(sys.argv[5]) + 40)]
print("ready", flush=True)
sys.stdin.readline()                       # both processes are loaded: go at the same moment
print(st.insert_new(CORPUS, rows)[0], flush=True)
"""


def test_two_writers_on_s3_at_once_never_duplicate(creds):
    """No writer lock on object storage: two processes insert overlapping new keys at the same moment; the
    unenforced primary key (merge_insert on doc_id, conflicts retried by Lance's commit) keeps one row per key."""
    s3 = creds
    uri = f"s3://{BUCKET}/concurrent-{time.time_ns()}"
    from bidirag.store import CORPUS, Store

    opts = {"aws_endpoint": s3["endpoint"], "allow_http": "true", "aws_region": "us-east-1",
            "aws_access_key_id": s3["key"], "aws_secret_access_key": s3["secret"]}
    Store(uri, dim=4, storage_options=opts).init()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, s3["endpoint"], s3["key"], s3["secret"], uri,
                               str(first)], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for first in (0, 20)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    ids = Store(uri, dim=4, storage_options=opts).table(CORPUS).to_arrow().column("doc_id").to_pylist()
    assert len(ids) == len(set(ids)) == 60 and sum(int(o[0]) for o in outs) == 60
