import pytest

from bidirag.text import (
    cited_numbers,
    claim_coverage,
    claim_gap,
    contains_answer,
    content_id,
    exact_match,
    premise_window,
    split_sentences,
    stem,
    strip_citations,
    token_f1,
)


def test_content_id_is_sha256_of_normalized_text():
    assert content_id("  Hello   world ") == content_id("Hello world")
    assert content_id("Hello world") != content_id("hello world")
    assert len(content_id("x")) == 64


def test_citations_in_first_appearance_order_without_repeats():
    assert cited_numbers("A [2] b [1] c [2].") == [2, 1]
    assert cited_numbers("no citations") == []
    assert strip_citations("Paris [1], France [2].") == "Paris, France."


def test_split_sentences_drops_citations_and_empty_fragments():
    assert split_sentences("It was 1889 [1]. Paris is in France [2]. [3]") == [
        "It was 1889.", "Paris is in France."]
    assert split_sentences("one sentence") == ["one sentence"]


@pytest.mark.parametrize("text,want", [
    # titles, initials, months and acronyms continue the sentence (news text; a split here cut written quotes)
    ("One of the founders of the firm is John D. Podesta. He left.",
     ["One of the founders of the firm is John D. Podesta.", "He left."]),
    ("Gov. Andrew M. Cuomo endorsed it. Dr. Lam said so in Aug. 2014.",
     ["Gov. Andrew M. Cuomo endorsed it.", "Dr. Lam said so in Aug. 2014."]),
    ("The U.S. Army arrived at St. Louis. It stayed.", ["The U.S. Army arrived at St. Louis.", "It stayed."]),
    ("He was No. 1 in the draft. The answer was no. Then he left.",
     ["He was No. 1 in the draft.", "The answer was no.", "Then he left."]),
    # a sentence that ends inside closing quotes ends there (curly or straight)
    ("“We have to treat it like weapons,” he said. “It is hard.” Dr. Lam agreed.",
     ["“We have to treat it like weapons,” he said.", "“It is hard.”", "Dr. Lam agreed."]),
    ('He said "stop." Then it rained! Was it 3.5 m? Yes.', ['He said "stop."', "Then it rained!", "Was it 3.5 m?",
                                                           "Yes."]),
    ("it ends. lower case never starts a sentence", ["it ends. lower case never starts a sentence"]),
    # review text runs sentences together without a space; dotted abbreviations and names still do not split
    ("This jigger fits the bill perfectly!Each side is marked.It broke off.I still gave it 3 stars...Then it died.",
     ["This jigger fits the bill perfectly!", "Each side is marked.", "It broke off.", "I still gave it 3 stars...",
      "Then it died."]),
    ("The U.S.Army and Mr.Smith use e.g.Python on v3.Fine.", ["The U.S.Army and Mr.Smith use e.g.Python on v3.Fine."]),
    ("See approx.The rest.", ["See approx.The rest."]),
])
def test_sentence_boundaries(text, want):
    assert split_sentences(text) == want


def test_token_f1_and_em_hand_computed():
    # pred tokens: denver broncos won ; gold: denver broncos -> P=2/3 R=1 F1=0.8
    assert abs(token_f1("Denver Broncos won", ["Denver Broncos"]) - 0.8) < 1e-9
    assert exact_match("The Denver Broncos.", ["Denver Broncos"]) == 1.0
    assert token_f1("Paris", ["London", "paris"]) == 1.0
    assert token_f1("nothing", ["Paris"]) == 0.0


def test_contains_answer_matches_whole_tokens():
    assert contains_answer("It opened in 1889 in Paris.", ["1889"])
    assert not contains_answer("It opened in 18890.", ["1889"])


def test_premise_window_keeps_the_sentences_that_match_the_hypothesis():
    doc = ("Paris is large. The Seine flows north. Rome has seven hills. "
           "The Tiber crosses Rome. Madrid is dry.")
    assert premise_window(doc, "Which river crosses Rome?", 2) == "Rome has seven hills. The Tiber crosses Rome."
    assert premise_window(doc, "Nothing matches here", 2) == "Paris is large. The Seine flows north."
    assert premise_window(doc, "Which river crosses Rome?", 0) == doc
    assert premise_window("One sentence only.", "Rome", 3) == "One sentence only."


def test_claim_gap_counts_the_words_between_a_claims_words():
    s = "Oxygen therapy promotes the body to take up gaseous oxygen, which kills anaerobic bacteria."
    assert claim_gap(s, "Oxygen therapy promoted the body to take up gaseous oxygen.") == 0   # stems match
    # the object swapped for another span of the same sentence: "gaseous" and "kills" sit in between
    assert claim_gap(s, "Oxygen therapy promotes the body to take up anaerobic bacteria.") == 2
    assert claim_gap(s, "Bacteria kill oxygen.") == 1          # order does not matter, distance does
    assert claim_gap("Paris is large.", "Tesla invented radio.") == 2   # no claim word: the text's length
    assert claim_gap("", "Tesla") == 0
    assert stem("promotes") == stem("promoted") == stem("promote") == "promot"


def test_claim_coverage_is_the_share_of_a_claims_words_the_text_has():
    s = "Oxygen gas is poisonous to the anaerobic bacteria that cause gas gangrene."
    # 3 of the claim's 7 content stems (oxygen, anaerobic, bacteria) are in the sentence
    assert abs(claim_coverage(s, "Oxygen therapy promotes the body to take up anaerobic bacteria.") - 3 / 7) < 1e-9
    assert claim_coverage(s, "Oxygen is poisonous to anaerobic bacterium.") == 1.0    # by stem
    assert claim_coverage(s, "Tesla invented radio.") == 0.0
    assert claim_coverage(s, "It is.") == 1.0                                       # no content words
