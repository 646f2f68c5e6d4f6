from bidirag.evaluation.metrics import aggregate, mean_std, pollution, query_metrics


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


def test_mean_std():
    assert mean_std([1.0, 3.0]) == {"mean": 2.0, "std": 1.0}


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
