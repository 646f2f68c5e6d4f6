"""The hedge check: the source sentence of what the answer adds is found; its epistemic hedge or approximate number
must be kept by the answer; an unhedged source, a kept hedge, a hedged question or an unsupported answer passes."""

from bidirag.checks.hedge import hedge, source_hedge, support_sentence

DOCS = ["Newcastle hosts the Hoppings, reputedly the largest travelling fair in Europe. It is held every June.",
        "The settlement which would become Warsaw was established in about 1300. Its castle followed later."]


def test_a_dropped_epistemic_hedge_is_found():
    q = "What is the largest traveling fair in Europe?"
    assert source_hedge(q, "The Hoppings is the largest travelling fair in Europe.", DOCS) == "reputedly"
    assert hedge(q, "The Hoppings is the largest travelling fair in Europe.", DOCS) == 0.0
    assert hedge(q, "The Hoppings is reputedly the largest travelling fair in Europe.", DOCS) == 1.0
    # the question itself carries the hedge: the answer answers it in its terms
    assert hedge("What is reputedly the largest fair in Europe?", "The Hoppings.", DOCS) == 1.0


def test_a_dropped_approximation_of_a_number_the_answer_repeats_is_found():
    q = "When was the settlement which would become Warsaw established?"
    assert source_hedge(q, "It was established in 1300.", DOCS) == "about 1300"
    assert hedge(q, "It was established in about 1300.", DOCS) == 1.0
    assert hedge(q, "It was established around 1300.", DOCS) == 1.0


def test_unhedged_sources_unsupported_answers_and_blank_docs_pass():
    assert hedge("When is the Hoppings held?", "The Hoppings is held every June.", DOCS) == 1.0
    assert support_sentence("Who founded Rome?", "Romulus founded Rome.", DOCS) is None
    assert hedge("Who founded Rome?", "Romulus founded Rome.", DOCS) == 1.0
    assert hedge("What is the largest traveling fair in Europe?", "The Hoppings is the largest travelling fair.",
                 ["", ""]) == 1.0
    # "May" the month is not a hedge
    assert hedge("When is the fair?", "The fair opens in May.", ["The fair opens in May every year."]) == 1.0
