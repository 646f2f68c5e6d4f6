import numpy as np

from bidirag import checks


def test_grounding_is_mean_over_sentences_of_max_over_docs():
    ent = np.array([[0.2, 0.9, 0.1],    # sentence 1: best doc 0.9
                    [0.5, 0.3, 0.4]])   # sentence 2: best doc 0.5
    assert abs(checks.grounding(ent) - 0.7) < 1e-9
    assert checks.grounding(np.zeros((0, 0))) == 0.0


def test_attribution_share_of_citations_among_retrieved():
    assert checks.attribution([1, 2], 3) == 1.0
    assert checks.attribution([1, 5], 3) == 0.5
    assert checks.attribution([], 3) == 0.0   # no citation fails


def test_novelty_is_one_minus_max_cosine():
    assert abs(checks.novelty(0.85) - 0.15) < 1e-9
    assert checks.novelty(None) == 1.0


def test_verdict_names_first_failing_check_in_order():
    th = {"grounding": 0.65, "attribution": 1.0, "novelty": 0.1}
    assert checks.verdict({"grounding": 0.7, "attribution": 1.0, "novelty": 0.5}, th) is None
    assert checks.verdict({"grounding": 0.1, "attribution": 0.0, "novelty": 0.0}, th) == "grounding"
    assert checks.verdict({"grounding": 0.9, "attribution": 0.5, "novelty": 0.0}, th) == "attribution"
    assert checks.verdict({"grounding": 0.9, "attribution": 1.0, "novelty": 0.05}, th) == "novelty"
