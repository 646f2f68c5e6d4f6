"""The benchmark's own parts on small inputs (the figures come from `make bench`, not from tests)."""

from bench.paper_loop import run_paper_loop
from bench.store_scaling import measure
from bidirag.ingest import ingest
from bidirag.store import CORPUS, Store


def test_store_sweep_reports_exact_and_ann_figures(tmp_path):
    res = measure(tmp_path, 3000, dim=16, new_docs=20, queries=20, log=lambda *_: None)
    assert res["size"] == 3000 and res["unindexed_rows_during_search"] == 120
    actions = [a["action"].split(" (")[0] for a in res["index_build"]]
    assert actions == ["build key index", "build ANN index"]
    assert res["novelty_recall_at_1_vs_exact"] >= 0.9
    assert res["novelty_cosine_error_on_hits_max"] < 1e-3      # IVF_FLAT keeps exact distances
    # a miss can only be farther than the exact nearest doc (k-means partitions vary run to run, so the
    # mean error is not 0 whenever recall is below 1)
    assert res["novelty_cosine_error_mean"] >= -1e-3
    assert res["rebuild_needed_after_100_new"] is False
    assert Store(tmp_path / "scale-3000", dim=16).table(CORPUS).count_rows() == 3180   # 3 commits of 20 x 3 ways


def test_paper_loop_commits_once_per_written_answer(fake_cfg, corpus_file, query_log):
    from bidirag.data.querylog import DeadLetter, read_log

    ingest(fake_cfg, corpus_file, progress=False)
    st = Store(fake_cfg.store.uri, dim=384)
    v0 = st.table(CORPUS).version
    res = run_paper_loop(fake_cfg, list(read_log(query_log, DeadLetter(None))))
    assert res["queries"] == 5 and res["written"] >= 1
    assert st.table(CORPUS).version == v0 + res["written"]      # the paper writes each answer on its own


def test_replay_bench_runs_features_on_and_off_over_one_zipf_log(tmp_path, corpus_file):
    from bench.replay_bench import markdown, replay_compare
    from bench.replay_log import LogSpec
    from tests.conftest import ROOT

    questions = [{"question_id": "p", "text": "What is the capital of Poland?", "answers": ["Warsaw"]},
                 {"question_id": "e", "text": "When was the Eiffel Tower completed?", "answers": ["1889"]},
                 {"question_id": "s", "text": "Who won Super Bowl 50?", "answers": ["Denver Broncos"]},
                 {"question_id": "a", "text": "What does the Amazon rainforest cover?", "answers": ["Amazon basin"]}]
    res = replay_compare(tmp_path / "w", corpus_file, [ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml"],
                         ["experience.top_m=0"], LogSpec(shards=2, per_shard=15), questions=questions,
                         log=lambda *_: None)
    on, off = res["runs"]["on"], res["runs"]["off"]
    assert on["queries"] == off["queries"] == 30 and on["epochs"] == off["epochs"] == 2
    assert off["memo_hits"] == 0 and off["generated"] == 30
    assert on["memo_hits"] >= 30 - 2 * len(questions) and on["generated"] + on["memo_hits"] == 30
    for x in (on, off):     # the gold rule over the written docs: each written doc is a query's answer
        assert 0 < x["correct_written"] <= x["written"]
        assert x["precision"] == round(x["correct_written"] / x["written"], 4)
        assert x["correct_written_per_cpu_hour"] > 0
    assert res["ratios"]["generated"] == round(on["generated"] / 30, 2)
    assert "| on |" in markdown(res, "d", "m")


def test_replay_variants_switch_exactly_their_feature():
    from bench.replay_bench import FEATURE, variant_overrides
    from bidirag.config import load_config
    from tests.conftest import ROOT

    def cfg(name):
        return load_config(ROOT / "configs/default.yaml", overrides=variant_overrides(name, 2))

    on, off, memo = cfg("on"), cfg("off"), cfg("memo")
    assert on.run.memo and on.models.generator.evidence_sentences == 2 and on.models.generator.stop_at_first_sentence
    assert on.acceptance.screen_before_generation and on.models.generator.omp_threads_bind == "all"
    assert not off.run.memo and off.models.generator.evidence_sentences is None
    assert not off.acceptance.screen_before_generation and off.models.generator.omp_threads_bind is None
    assert memo.run.memo and memo.model_dump(exclude={"run"}) == off.model_dump(exclude={"run"})
    assert set(FEATURE) == {"screen", "memo", "evidence", "stop", "bind"}
    import pytest

    with pytest.raises(ValueError, match="unknown replay variant"):
        variant_overrides("fast", 2)
