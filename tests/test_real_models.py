"""Real models end to end (slow): SmolLM2 generator, MiniLM embedder, the shipped NLI model, LanceDB."""

import json

import pytest

from bidirag.config import load_config
from bidirag.epoch import run_epoch
from bidirag.ingest import ingest
from bidirag.models.generator import Prompt, TransformersGenerator
from bidirag.models.prepare import generator_dir, prepare_generator
from bidirag.store import CORPUS, Store
from tests.conftest import DOCS, ROOT, answers_say

pytestmark = pytest.mark.slow


def test_batched_generation_matches_one_by_one():
    prepare_generator()
    gen = TransformersGenerator(generator_dir(), batch_size=2, max_new_tokens=16)
    gen.setup()
    prompts = [Prompt("What is the capital of Poland?", DOCS[:2]),
               Prompt("When was the Eiffel Tower completed?", DOCS[1:3]),
               Prompt("Who won Super Bowl 50?", [DOCS[4]])]
    together = gen.generate(prompts)
    alone = []
    for p in prompts:
        gen._memo.clear()              # decode again for real, batch of one
        alone.append(gen.generate([p])[0])
    assert together == alone
    assert answers_say(together, [["Warsaw"], ["1889"], ["Denver Broncos", "Broncos"]]) >= 2, together
    gen._memo.clear()
    conf = [a.confidence for a in gen.answer(prompts)]        # padded batches: log-probabilities stop at EOS
    assert all(c and c["lp_min"] <= c["lp_mean3low"] <= 0 for c in conf), conf
    gen._memo.clear()
    alone_conf = gen.answer(prompts[:1])[0].confidence             # padding does not change them
    assert all(abs(alone_conf[k] - conf[0][k]) < 0.05 for k in conf[0]), (alone_conf, conf[0])


def test_real_epoch_on_squad_questions(tmp_path, corpus_file, query_log):
    cfg = load_config(ROOT / "configs/default.yaml",
                      overrides=[f"store.uri={tmp_path / 'store'}", f"run.runs_dir={tmp_path / 'runs'}",
                                 "models.generator.max_new_tokens=32"])
    ingest(cfg, corpus_file, progress=False)
    rep = run_epoch(cfg, query_log, run_name="real", progress=False)
    assert rep["queries"] == 5 and rep["generated"] == 5 and rep["failed"] == 0
    assert rep["accepted"] + sum(rep["rejected_by_check"].values()) == 5
    st = Store(cfg.store.uri, dim=384)
    written = [r for r in st.table(CORPUS).to_arrow().to_pylist() if r["origin"] == "writeback"]
    assert len(written) == rep["written"]
    th = cfg.acceptance
    for r in written:
        assert r["grounding"] >= th.grounding_threshold and r["novelty"] >= th.novelty_threshold
    verdicts = [json.loads(x) for x in (tmp_path / "runs/real/epoch-1/verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == 5 and all(v["scores"] for v in verdicts)


def test_real_distill_gates_and_units(tmp_path, corpus_file):
    """WriteBack-RAG with the real models: counts add up, units are grounded, the corpus is untouched."""
    from bidirag.distill import run_distill
    from bidirag.store import UNITS
    from tests.conftest import write_log

    cfg = load_config(ROOT / "configs/default.yaml",
                      overrides=[f"store.uri={tmp_path / 'store'}", f"run.runs_dir={tmp_path / 'runs'}",
                                 "models.generator.max_new_tokens=32", "distill.scorer=contains"])
    ingest(cfg, corpus_file, progress=False)
    st = Store(cfg.store.uri, dim=384)
    corpus_v = st.table(CORPUS).version
    ex = write_log(tmp_path / "ex.jsonl", [
        {"query_id": "e1", "question": "Which river does Warsaw stand on?", "answers": ["Vistula"]},
        {"query_id": "e2", "question": "Which team won Super Bowl 50?", "answers": ["Denver Broncos"]},
        {"query_id": "e3", "question": "In what year was the Eiffel Tower completed?", "answers": ["1889"]},
    ])
    rep = run_distill(cfg, ex, run_name="d", progress=False)
    assert rep["examples"] == 3 and rep["failed"] == 0
    assert sum(rep["rejected_by_check"].values()) + rep["written"] + rep["deduplicated"] == 3
    assert st.table(CORPUS).version == corpus_v
    units = st.table(UNITS).to_arrow().to_pylist()
    assert len(units) == rep["written"]
    for u in units:
        assert u["grounding"] >= cfg.distill.grounding_threshold and u["source_doc_ids"]


def test_generation_profile_splits_prefill_from_decode(tmp_path, corpus_file, query_log):
    from bench.gen_profile import profile
    from bidirag.data.querylog import DeadLetter, read_log

    cfg = load_config(ROOT / "configs/default.yaml",
                      overrides=[f"store.uri={tmp_path / 'store'}", f"run.runs_dir={tmp_path / 'runs'}",
                                 "models.generator.max_new_tokens=12", "models.generator.batch_size=4"])
    ingest(cfg, corpus_file, progress=False)
    res = profile(cfg, list(read_log(query_log, DeadLetter(None)))[:4], single=2, log=lambda *_: None)
    assert res["queries"] == 4 and res["single_queries"] == 2 and res["prompt_tokens_mean"] > 20
    # one token is cheaper than twelve, at batch 1 and batched; the generator's cap is restored
    assert res["batch1_prefill_s_per_query"] < res["batch1_full_s_per_query"]
    assert res["batched_prefill_s_per_query"] < res["batched_full_s_per_query"]
    assert 0 < res["batch1_decode_share"] < 1
    from bidirag.models import handlers
    assert handlers.generator(cfg.models.generator).max_new_tokens == 12
