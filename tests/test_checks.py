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


def test_question_detail_rejects_a_repeated_detail_no_sentence_backs():
    from bidirag.checks.question_detail import details, question_detail

    docs = ["Katharina von Bora escaped from the Nimbschen Cistercian convent in April 1523 with other nuns. "
            "She later married Martin Luther."]
    q = "Why did Katharina von Bora flee the Nimbschen convent in April 1532?"
    assert details(q) >= {"1532", "april", "katharina", "nimbschen"} and "why" not in details(q)
    # the false year, repeated by the answer: stated by no sentence
    assert question_detail(q, "Katharina von Bora fled the Nimbschen convent in April 1532 to escape.", docs) < 1
    # the true details the documents state about the question's subject pass; not repeating the year passes
    assert question_detail(q, "Katharina von Bora left the Nimbschen convent with other nuns in April.", docs) == 1
    assert question_detail(q, "She escaped in 1523.", docs) == 1.0
    # a detail present only in a sentence about something else is not backed ("1532" beside no question words)
    other = docs + ["The city walls were rebuilt in 1532."]
    assert question_detail(q, "She fled the Nimbschen convent in April 1532.", other) < 1
    # whole tokens only: "15" in the question is not "1523" in the answer
    assert question_detail("What happened to the 15 nuns at Nimbschen?", "They escaped in 1523.", docs) == 1.0


def test_question_detail_is_a_default_check_with_a_hard_threshold():
    from bidirag.config import AcceptanceConfig

    acc = AcceptanceConfig()
    assert "question_detail" in acc.checks and checks.thresholds(acc)["question_detail"] == 1.0
    assert checks.get("question_detail").critique
