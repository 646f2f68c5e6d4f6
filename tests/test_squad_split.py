from collections import Counter

from bidirag.data.squad import compute_split, load_articles, load_split
from bidirag.data.statements import statement
from bidirag.training.nli_data import ENTAIL, qa_pairs, span_type


def test_split_is_disjoint_complete_and_reproducible():
    split = load_split()
    train, evals = set(split["nli_train"]), set(split["rag_eval"])
    titles = [a.title for a in load_articles()]
    assert not train & evals
    assert train | evals == set(titles)
    again = compute_split(titles)
    assert again["nli_train"] == split["nli_train"] and again["rag_eval"] == split["rag_eval"]


def test_qa_training_pairs_come_only_from_training_articles():
    split = load_split()
    arts = load_articles()
    train_arts = [a for a in arts if a.title in set(split["nli_train"])]
    eval_paras = {p for a in arts if a.title in set(split["rag_eval"]) for p in a.paragraphs}
    pairs = qa_pairs(train_arts[:3])
    assert pairs and not any(p.premise in eval_paras for p in pairs)
    assert set(Counter(p.label for p in pairs)) == {0, 1, 2}
    assert all(p.label != ENTAIL or p.premise for p in pairs)


def test_statement_rules():
    assert statement("Which NFL team represented the AFC at Super Bowl 50?", "Denver Broncos") == (
        "Denver Broncos is the NFL team that represented the AFC at Super Bowl 50.")
    assert statement("What is the capital of France?", "Paris") == "The capital of France is Paris."
    assert statement("When was the tower completed?", "1889") == "The tower completed was in 1889."
    assert span_type("1889") == "year" and span_type("Paris") == "proper" and span_type("34%") == "number"


def test_third_stage_pairs_are_hard_and_leave_earlier_pairs_unchanged():
    from bidirag.data.squad import articles_for
    from bidirag.training.nli_data import _EVALUATIVE, CONTRA, NEUTRAL, extra_pairs

    arts = articles_for("nli_train")[:6]
    before = qa_pairs(arts, seed=3)
    extra = extra_pairs(arts, seed=3)
    assert qa_pairs(arts, seed=3) == before          # own random stream: stage-1/2 pairs do not move
    assert extra_pairs(arts, seed=3) == extra        # reproducible
    swaps = [p for p in extra if p.source == "qa_sentswap"]
    evals = [p for p in extra if p.source == "qa_evaluative"]
    assert swaps and evals
    assert all(p.label == CONTRA and p.hypothesis not in p.premise for p in swaps)
    paras = {p for a in arts for p in a.paragraphs}
    # a swapped sentence differs from a sentence of its own paragraph by one answer span: most words are there
    for p in swaps:
        words = p.hypothesis.split()
        assert p.premise in paras and sum(w in p.premise for w in words) >= 0.5 * len(words)
    assert all(p.label == NEUTRAL and not _EVALUATIVE.search(p.premise) for p in evals)
    assert all(_EVALUATIVE.search(p.hypothesis) or "overrated" in p.hypothesis for p in evals)
