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
# SQuADShifts (Miller et al., 2020): SQuAD v1.1-format QA sets written on other text by other crowdworkers;
# extracted only when asked for (`bidirag data fetch squad-shifts`).
SHIFTS = ("new_wiki", "nyt", "reddit", "amazon_reviews")


def shift_member(name: str) -> str:
    return f"squad_shifts/{name}_v1.0.json"


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
        # Newer pips refuse bigbench's metadata (a file:// dependency) after downloading it; fetch the
        # same sdist from PyPI's JSON API instead and check its sha256 against PyPI's digest.
        try:
            _download_from_pypi(path)
        except Exception as e:  # noqa: BLE001 - reported with pip's error below
            raise RuntimeError(
                f"could not download {SDIST}: pip said {proc.stderr.strip()[-300:]!r}; PyPI JSON API: {e}. "
                f"Check access to PyPI, or place the file at {path} by hand.") from e
    return path


def _download_from_pypi(path: Path) -> None:
    """The sdist link from PyPI's simple index (what pip reads), checked against its sha256 fragment."""
    import hashlib
    import re
    import urllib.request

    with urllib.request.urlopen("https://pypi.org/simple/bigbench/", timeout=60) as r:
        page = r.read().decode("utf-8", "replace")
    links = [u for u in re.findall(r'href="([^"]+)"', page) if f"/{SDIST}#sha256=" in u]
    if not links:
        raise RuntimeError(f"{SDIST} is not listed on PyPI's simple index")
    url, want = links[0].split("#sha256=")
    tmp = path.with_suffix(".part")
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=600) as r, tmp.open("wb") as f:
        while chunk := r.read(1 << 20):
            digest.update(chunk)
            f.write(chunk)
    if digest.hexdigest() != want:
        tmp.unlink(missing_ok=True)
        raise RuntimeError("sha256 mismatch")
    tmp.replace(path)


def task_files(members: list[str], root: Path | None = None) -> list[Path]:
    """Paths of extracted task files; the missing ones (with all MEMBERS) come out of the sdist in one pass over
    the 358 MB tarball, however many are asked for."""
    base = (root or cache_dir()) / "bigbench"
    targets = [base / m for m in members]
    missing = [m for m, t in zip(members, targets, strict=True) if not t.exists()]
    if not missing:
        return targets
    sdist = fetch_sdist(root)
    wanted = {PREFIX + m: base / m for m in (*MEMBERS, *missing)}
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
    for m, t in zip(members, targets, strict=True):
        if not t.exists():
            raise FileNotFoundError(f"{m} is not in {sdist}; is the file complete? Delete it and re-run.")
    return targets


def task_file(member: str, root: Path | None = None) -> Path:
    """Path of an extracted task file; extracts all MEMBERS (and `member`) on first use."""
    return task_files([member], root)[0]


def load_task(member: str, root: Path | None = None) -> dict:
    return json.loads(task_file(member, root).read_text(encoding="utf-8"))
