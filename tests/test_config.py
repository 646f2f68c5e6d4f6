import pytest

from bidirag.config import ConfigError, load_config


def test_unknown_field_fails_naming_it(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("retrieval: {top_kk: 3}\n")
    with pytest.raises(ConfigError, match=r"retrieval\.top_kk"):
        load_config(p)


def test_out_of_range_threshold_fails_naming_it(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("acceptance: {grounding_threshold: 1.5}\n")
    with pytest.raises(ConfigError, match=r"acceptance\.grounding_threshold"):
        load_config(p)


def test_yaml_cannot_construct_python_objects(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("store: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)


def test_layers_and_overrides(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("retrieval: {top_k: 3}\nacceptance: {novelty_threshold: 0.2}\n")
    b.write_text("retrieval: {top_k: 5}\n")
    cfg = load_config(a, b, overrides=["acceptance.grounding_threshold=0.5"])
    assert cfg.retrieval.top_k == 5
    assert cfg.acceptance.novelty_threshold == 0.2
    assert cfg.acceptance.grounding_threshold == 0.5
    assert cfg.digest() != load_config(a).digest()


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
