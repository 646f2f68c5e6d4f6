import pytest

from bidirag.evaluation.metrics import aggregate, mean_std, paired_bootstrap, pollution, query_metrics, wilson


def _rec(answer, docs):
    return {"answer": answer, "retrieved": [{"doc_id": f"d{i}", "text": t, "distance": dist}
                                            for i, (t, dist) in enumerate(docs)]}


def test_query_metrics_hand_computed():
    rec = _rec("According to [2], the Broncos won in 2016 [3].",
               [("Panthers lost.", 0.35), ("The Denver Broncos won Super Bowl 50.", 0.5), ("Broncos fans.", 0.6)])
    m = query_metrics(rec, ["Denver Broncos", "Broncos"])
    assert m["coverage"] == 1.0                      # top-1 distance 0.35 < 0.4
    assert m["answer_coverage"] == 1.0
    assert m["relevant"] == 2 and m["cited"] == 2 and m["cited_relevant"] == 2
    assert m["em"] == 0.0 and 0 < m["f1"] < 1


def test_citation_micro_average_and_no_coverage():
    a = {"coverage": 0, "answer_coverage": 0, "em": 0, "f1": 0, "answer_contains_gold": 0,
         "cited_relevant": 1, "cited": 2, "relevant": 1}
    b = {"coverage": 1, "answer_coverage": 1, "em": 1, "f1": 1, "answer_contains_gold": 1,
         "cited_relevant": 0, "cited": 0, "relevant": 3}
    agg = aggregate([a, b])
    assert agg["citation_precision"] == 0.5 and agg["citation_recall"] == 0.25
    assert abs(agg["citation_f1"] - 2 * 0.5 * 0.25 / 0.75) < 1e-12
    assert agg["coverage"] == 0.5 and agg["n"] == 2


def test_pollution_rule():
    written = [{"text": "Paris is the capital of France.", "query_id": "q1"},
               {"text": "Lyon is the capital.", "query_id": "q2"}]
    res = pollution(written, {"q1": ["Paris"], "q2": ["Paris"]})
    assert res == {"pollution": 0.5, "polluting": 1, "written": 2}
    assert pollution([], {})["pollution"] == 0.0


def test_mean_std_is_the_sample_std():
    assert mean_std([1.0, 3.0]) == {"mean": 2.0, "std": pytest.approx(2 ** 0.5), "n": 2}
    assert mean_std([1.0, 2.0, 3.0])["std"] == pytest.approx(1.0)     # n - 1 in the denominator


def test_paired_bootstrap_known_cases():
    same = paired_bootstrap([0.5, 0.2, 0.9], [0.5, 0.2, 0.9])
    assert same["mean_diff"] == 0 and same["low"] == same["high"] == 0 and not same["distinguishable"]
    shift = paired_bootstrap([1.0] * 50, [0.0] * 50)      # every pair differs by exactly 1
    assert shift["low"] == shift["high"] == 1.0 and shift["distinguishable"]
    # half +1, half -1: the mean is 0 and the interval straddles it; with n = 400 it is about +-0.1 wide
    mixed = paired_bootstrap([1.0, 0.0] * 200, [0.0, 1.0] * 200, resamples=4000, seed=3)
    assert mixed["mean_diff"] == 0 and -0.13 < mixed["low"] < -0.07 and 0.07 < mixed["high"] < 0.13
    assert not mixed["distinguishable"]
    assert paired_bootstrap([1, 0, 1], [0, 0, 0], seed=1) == paired_bootstrap([1, 0, 1], [0, 0, 0], seed=1)
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap([1.0], [1.0, 2.0])


def test_wilson_interval():
    lo, hi = wilson(9, 10)
    assert lo == pytest.approx(0.596, abs=0.002) and hi == pytest.approx(0.982, abs=0.002)
    assert wilson(0, 0) == (0.0, 1.0)


def test_calibration_table_hand_computed():
    from bidirag.evaluation.calibrate import calibrate

    def v(qid, g, answer):
        return {"query_id": qid, "answer": answer, "scores": {"grounding": g, "attribution": 1.0, "novelty": 0.5}}

    verdicts = [v("a", 0.9, "According to [1], Paris."), v("b", 0.7, "According to [1], Lyon."),
                v("c", 0.2, "According to [2], Paris.")]
    res = calibrate(verdicts, {"a": ["Paris"], "b": ["Paris"], "c": ["Paris"]},
                    {"grounding": 0.65, "attribution": 1.0, "novelty": 0.1, "relevance": 0.4})
    row = {r["threshold"]: r for r in res["table"]}
    assert row[0.0]["accepted"] == 3 and abs(row[0.0]["precision"] - 2 / 3) < 1e-9
    assert row[0.5]["accepted"] == 2 and row[0.5]["precision"] == 0.5
    assert row[0.8]["accepted"] == 1 and row[0.8]["precision"] == 1.0 and abs(row[0.8]["accept_rate"] - 1 / 3) < 1e-9
    assert row[0.95]["accepted"] == 0 and row[0.95]["precision"] is None
