"""The sentence_grounding check: single retrieved sentences (and adjacent pairs of one doc) as premises, the
minimum over answer sentences, blanked written docs ignored; and adding a new check's score to existing labeled
answer rows (`training.add_scores`), identical to scoring it in Validate."""

import gzip
import json

import pytest

from bidirag import checks
from bidirag.checks.sentence_grounding import sentence_premises
from bidirag.models.fakes import FakeNLI
from bidirag.stages.validate import run_checks
from bidirag.text import split_sentences
from bidirag.training import add_scores

# FakeNLI: P(entail) = share of the hypothesis' words found in the premise
DOC = "Smith founded the club in 1901. The club grew fast. Jones moved to Paris in 1920."


def _ctx(answers, docs, cfg):
    return checks.CheckContext(
        records=[{} for _ in answers], queries=["Who moved to Paris?"] * len(answers), answers=answers,
        texts=answers, sentences=[split_sentences(a) for a in answers], docs=docs, cited=[[] for _ in answers],
        acceptance=cfg.acceptance, nli=FakeNLI(), cfg=cfg)


def _scores(answers, docs, cfg, names=("grounding", "sentence_grounding")):
    out = run_checks(_ctx(answers, docs, cfg), list(names), dict.fromkeys(names, 0.0))
    return [s for s, _ in out]


def test_premises_are_sentences_then_adjacent_pairs_of_one_doc():
    assert sentence_premises(["A b. C d.", "", "E f."]) == ["A b.", "C d.", "E f.", "A b. C d."]


def test_words_of_distant_sentences_are_not_a_claim_of_one_sentence(fake_cfg):
    # the whole doc holds every word of the wrong claim; no sentence (or adjacent pair) does
    wrong, right = _scores(["Smith moved to Paris.", "Jones moved to Paris."], [[DOC], [DOC]], fake_cfg)
    assert wrong["grounding"] == pytest.approx(1.0)
    assert wrong["sentence_grounding"] == pytest.approx(0.75)
    assert right["sentence_grounding"] == pytest.approx(1.0)


def test_one_unsupported_sentence_sinks_the_answer_and_blanked_docs_entail_nothing(fake_cfg):
    two = "Jones moved to Paris. Bats sing opera."
    [s] = _scores([two], [[DOC]], fake_cfg)
    assert s["sentence_grounding"] == pytest.approx(0.0)        # min over sentences
    assert s["grounding"] == pytest.approx(0.5)                 # mean over sentences
    [blank] = _scores(["Jones moved to Paris."], [["", ""]], fake_cfg)
    assert blank["sentence_grounding"] == 0.0


def test_an_unknown_aggregation_is_named(fake_cfg):
    with pytest.raises(ValueError, match="aggregation"):
        _ctx(["x"], [[DOC]], fake_cfg).request_nli("k", [(["x"], [DOC])], agg="median")


def test_add_scores_matches_validate_and_refuses_store_checks(tmp_path, fake_cfg):
    rows = [{"query_id": f"q{i}", "question": "Who moved to Paris?", "answer": f"According to [1], {a}",
             "clean_text": a, "docs": [DOC], "scores": {"grounding": 0.5}, "correct": i == 0}
            for i, a in enumerate(["Jones moved to Paris.", "Smith moved to Paris.", ""])]
    data = tmp_path / "a.answers.jsonl.gz"
    with gzip.open(data, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    out = tmp_path / "b.answers.jsonl"
    cfgfile = tmp_path / "cfg.yaml"
    cfgfile.write_text("models: {nli: {backend: fake}}\n")
    assert add_scores.main(["--checks", "sentence_grounding", "--data", str(data), "--out", str(out),
                            "--config", str(cfgfile)]) == 0
    got = [json.loads(x) for x in out.read_text().splitlines()]
    want = _scores([r["clean_text"] for r in rows], [[DOC]] * 3, fake_cfg, names=("sentence_grounding",))
    assert [g["scores"]["sentence_grounding"] for g in got] == [round(w["sentence_grounding"], 4) for w in want]
    assert [g["scores"]["grounding"] for g in got] == [0.5] * 3             # other scores kept
    assert got[2]["scores"]["sentence_grounding"] == 0.0                     # no answer, no support
    assert add_scores.main(["--checks", "novelty", "--data", str(data), "--out", str(tmp_path / "c.jsonl"),
                            "--config", str(cfgfile)]) == 2
    assert not (tmp_path / "c.jsonl").exists()
