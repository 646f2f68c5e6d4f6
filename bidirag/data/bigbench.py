"""Read task files out of the `bigbench==1.0.0` sdist without installing it (it would pull tensorflow).

The sdist is fetched once with `pip download --no-deps` into the cache; the few JSON files we use are
extracted next to it in a single pass over the 358 MB tarball.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

from bidirag.paths import cache_dir

SDIST = "bigbench-1.0.0.tar.gz"
PREFIX = "bigbench-1.0.0/bigbench/benchmark_tasks/"
MEMBERS = (
    "squad_shifts/squaddev_v1.1.json",
    "vitaminc_fact_verification/task.json",
    "presuppositions_as_nli/task.json",
    "truthful_qa/task_mc.json",
)


def sdist_path(root: Path | None = None) -> Path:
    return (root or cache_dir()) / "downloads" / SDIST


def fetch_sdist(root: Path | None = None) -> Path:
    """Download the sdist once (package registry only); later calls return the cached file."""
    path = sdist_path(root)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    # (with --no-build-isolation pip fails on bigbench's metadata: it declares a file:// dependency)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", str(path.parent),
           "bigbench==1.0.0"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not path.exists():
        raise RuntimeError(
            f"could not download {SDIST} with pip ({proc.stderr.strip()[-400:]}). "
            f"Check access to PyPI, or place the file at {path} by hand."
        )
    return path


def task_file(member: str, root: Path | None = None) -> Path:
    """Path of an extracted task file; extracts all MEMBERS on first use."""
    base = (root or cache_dir()) / "bigbench"
    target = base / member
    if target.exists():
        return target
    sdist = fetch_sdist(root)
    wanted = {PREFIX + m: base / m for m in MEMBERS}
    with tarfile.open(sdist, "r:gz") as tar:
        for info in tar:
            dest = wanted.get(info.name)
            if dest is None or not info.isfile():
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(info)
            assert src is not None
            tmp = dest.with_suffix(".part")
            tmp.write_bytes(src.read())
            tmp.replace(dest)
    if not target.exists():
        raise FileNotFoundError(f"{member} is not in {sdist}; is the file complete? Delete it and re-run.")
    return target


def load_task(member: str, root: Path | None = None) -> dict:
    return json.loads(task_file(member, root).read_text(encoding="utf-8"))
