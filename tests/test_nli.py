import json
import shutil

import numpy as np
import pytest

from bidirag.models.nli import PROBES, LabelOrderError, NLIModel, canonical_index, verify_label_order
from bidirag.paths import shipped_nli_dir


def test_canonical_index_reads_names_in_any_order():
    assert canonical_index({0: "contradiction", 1: "entailment", 2: "neutral"}) == [0, 1, 2]
    assert canonical_index({0: "ENTAILMENT", 1: "neutral", 2: "CONTRADICTION"}) == [2, 0, 1]
    assert canonical_index({}, override=["neutral", "entailment", "contradiction"]) == [2, 1, 0]
    with pytest.raises(LabelOrderError, match="label_order"):
        canonical_index({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})


def test_canonical_index_refuses_two_labels_that_read_as_one():
    # a 3-label model whose names do not pick out each class once (e.g. "not_entailment") must not be guessed
    with pytest.raises(LabelOrderError, match="'entailment' and 'not_entailment' both read as 'entailment'"):
        canonical_index({0: "entailment", 1: "not_entailment", 2: "neutral"})


def test_verify_label_order_rejects_swapped_columns():
    good = np.array([[0.1, 0.8, 0.1] if p[2] == "entailment" else [0.8, 0.1, 0.1] for p in PROBES])
    verify_label_order(good)
    with pytest.raises(LabelOrderError, match="label order check failed"):
        verify_label_order(good[:, [1, 0, 2]])


def test_shipped_model_loads_and_a_mislabeled_copy_is_refused(tmp_path):
    src = shipped_nli_dir()
    model = NLIModel(src)
    model.setup()                     # label order verified on known pairs
    probs = model.predict([(p, h) for p, h, _ in PROBES])
    assert probs.shape == (len(PROBES), 3) and np.allclose(probs.sum(1), 1, atol=1e-4)
    bad = tmp_path / "swapped"
    shutil.copytree(src, bad)
    cfg = json.loads((bad / "config.json").read_text())
    i2l = cfg["id2label"]
    ent = next(k for k, v in i2l.items() if v == "entailment")
    con = next(k for k, v in i2l.items() if v == "contradiction")
    i2l[ent], i2l[con] = "contradiction", "entailment"
    cfg["label2id"] = {v: int(k) for k, v in i2l.items()}
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(LabelOrderError):
        NLIModel(bad).setup()


def test_predict_keeps_input_order():
    model = NLIModel(shipped_nli_dir(), batch_size=2)
    model.setup()
    pairs = [(p, h) for p, h, _ in PROBES] + [("short.", "short.")]
    together = model.predict(pairs)
    alone = np.stack([model.predict([pr])[0] for pr in pairs])
    assert np.allclose(together, alone, atol=1e-4)


def test_model_card_reproduces_every_training_stage_in_order():
    from bidirag.training.eval_nli import reproduce_commands

    stage1 = {"max_steps": 1800, "seed": 13, "lr": 6e-5}
    stage2 = {"max_steps": 750, "seed": 14, "lr": 4e-5, "qa_repeat": 2, "previous_stage": stage1}
    cmds = reproduce_commands(stage2)
    assert len(cmds) == 2
    assert "--max-steps 1800 --seed 13 --lr 6e-05 --no-hard-pairs" in cmds[0] and "--init" not in cmds[0]
    assert "--max-steps 750 --seed 14 --lr 4e-05 --qa-repeat 2 --init models/nli" in cmds[1]
    assert reproduce_commands(stage1) == [
        "bidirag models train-nli --max-steps 1800 --seed 13 --lr 6e-05 --no-hard-pairs"]
    assert "--no-hard-pairs" not in cmds[1]
    stage3 = {"max_steps": 750, "seed": 15, "lr": 3e-5, "qa_repeat": 2, "extra_pairs": True, "previous_stage": stage2}
    cmds = reproduce_commands(stage3)
    assert len(cmds) == 3 and "--extra-pairs" in cmds[2] and "--extra-pairs" not in cmds[1]


def test_eval_nli_partial_sets_need_out_and_known_names(tmp_path):
    import subprocess
    import sys

    base = [sys.executable, "-m", "bidirag.cli", "models", "eval-nli", "--model", str(shipped_nli_dir())]
    no_out = subprocess.run(base + ["--sets", "qa_eval_evaluative"], capture_output=True, text=True, timeout=120)
    assert no_out.returncode == 2 and "--out" in no_out.stderr
    bad = subprocess.run(base + ["--sets", "qa_eval_nope", "--out", str(tmp_path / "m.json")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "qa_eval_nope" in bad.stderr and "qa_eval_evaluative" in bad.stderr
    assert not (tmp_path / "m.json").exists()
