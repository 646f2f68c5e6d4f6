from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bidirag.config import load_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def ray_cluster():
    """One real local Ray cluster for the whole test run (start-up takes seconds)."""
    ray = pytest.importorskip("ray")
    from bidirag.config import RayConfig
    from bidirag.runners.ray import ensure_ray

    ensure_ray(RayConfig(num_cpus=2))
    yield ray
    ray.shutdown()


@pytest.fixture
def fake_cfg(tmp_path):
    """Fake models (unit tests only) over a real LanceDB in a temp dir."""
    return load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml",
                       overrides=[f"store.uri={tmp_path / 'store'}", f"run.runs_dir={tmp_path / 'runs'}"])


DOCS = [
    "Warsaw is the capital and largest city of Poland. It stands on the Vistula River.",
    "The Eiffel Tower is a wrought-iron lattice tower in Paris, completed in 1889.",
    "Nikola Tesla was a Serbian-American inventor known for alternating current systems.",
    "The Amazon rainforest covers much of the Amazon basin of South America.",
    "Super Bowl 50 was won by the Denver Broncos, who defeated the Carolina Panthers.",
]


@pytest.fixture
def corpus_file(tmp_path):
    p = tmp_path / "corpus.parquet"
    pq.write_table(pa.table({"text": DOCS, "source": [f"test#{i}" for i in range(len(DOCS))]}), p)
    return p


def answers_say(answers: list[str], golds: list[list[str]]) -> int:
    """How many answers state their gold answer in the text that would be written (the generator's own
    'According to [n],' prefix and citation markers removed, so the prefix alone counts for nothing)."""
    from bidirag.stages.rag import clean_answer
    from bidirag.text import contains_answer

    return sum(contains_answer(clean_answer(a), g) for a, g in zip(answers, golds, strict=True))


def epoch_spec(builder):
    """The epoch job with its pipeline built by `builder(cfg, pinned, experience, units)` (to inject faults)."""
    import dataclasses

    from bidirag import jobs

    return dataclasses.replace(jobs.get("epoch"), build=lambda cfg, pins: builder(
        cfg, pins["corpus"], pins["experience"], pins["units"]))


def write_log(path: Path, rows: list) -> Path:
    with path.open("wb") as f:
        for r in rows:
            f.write(r if isinstance(r, bytes) else (json.dumps(r) + "\n").encode())
    return path


@pytest.fixture
def query_log(tmp_path):
    return write_log(tmp_path / "queries.jsonl", [
        {"query_id": "q1", "text": "What is the capital of Poland?"},
        {"query_id": "q2", "text": "When was the Eiffel Tower completed?"},
        {"query_id": "q3", "text": "Who won Super Bowl 50?"},
        {"query_id": "q4", "text": "Which river flows through Warsaw, the capital of Poland?"},
        {"query_id": "q5", "text": "This one is unanswerable: who was Tesla?"},
    ])


BUCKET = "bidirag-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server (`moto[server]`) in its own process on a free port, bucket BUCKET made; the first 3
    requests (make a user, its policy, its key) are unauthenticated, every later one must be signed with that key.
    Used by tests/test_s3.py and tests/test_beam_io.py."""
    boto3 = pytest.importorskip("boto3")
    pytest.importorskip("moto")
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
            break
        except Exception:  # noqa: BLE001 - not up yet
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("moto S3 server did not start")
            time.sleep(0.1)
    kw = {"endpoint_url": endpoint, "region_name": "us-east-1"}
    iam = boto3.client("iam", aws_access_key_id="setup", aws_secret_access_key="setup", **kw)
    iam.create_user(UserName="bidirag")
    iam.put_user_policy(UserName="bidirag", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="bidirag")["AccessKey"]
    client = boto3.client("s3", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                          **kw)
    client.create_bucket(Bucket=BUCKET)
    yield {"endpoint": endpoint, "key": key["AccessKeyId"], "secret": key["SecretAccessKey"], "client": client}
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(autouse=True, scope="module")
def _free_models_after_each_module():
    """Models are cached per process (bidirag.models.handlers): drop them after each test module, so a vLLM engine
    loaded by one module does not hold memory while a later module starts its own (e.g. inside a Ray actor)."""
    yield
    import gc

    from bidirag.models import handlers

    handlers.clear()
    gc.collect()
