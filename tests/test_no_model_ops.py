"""Operator commands need no model: with torch (and so transformers / sentence-transformers) unimportable,
`snapshots`, `diff`, `promote`, `rollback`, `gc` and `index` still work, and the vector size comes from the
store's schema (4-d here, while the config says 384)."""

import json
import subprocess
import sys

from bidirag.store import CORPUS, Store, now
from tests.conftest import ROOT

# None in sys.modules is how Python spells "not installed": import raises, importlib.util.find_spec says None
BLOCK = """
import sys
for name in ("torch", "transformers", "sentence_transformers", "vllm"):
    sys.modules[name] = None
from bidirag.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_operator_commands_run_without_torch(tmp_path):
    st = Store(tmp_path / "s", dim=4)
    st.init()
    row = {"doc_id": "d0", "text": "seed", "vector": [1.0, 0, 0, 0], "origin": "seed", "epoch": 0, "created_at": now()}
    _, v1 = st.insert_new(CORPUS, [row])
    st.tag(CORPUS, "epoch-0", v1)
    _, v2 = st.insert_new(CORPUS, [{**row, "doc_id": "d1", "text": "written", "origin": "writeback", "epoch": 1}])
    st.tag(CORPUS, "epoch-1", v2)
    s = ["--set", f"store.uri={tmp_path / 's'}"]
    snaps = _cli("snapshots", "--json", *s)
    assert snaps.returncode == 0, snaps.stderr[-2000:]
    assert {x["version"] for x in json.loads(snaps.stdout)} >= {v1, v2}
    diff = _cli("diff", "epoch-0", "epoch-1", "--json", *s)
    assert diff.returncode == 0, diff.stderr[-2000:]
    assert json.loads(diff.stdout)["added"][0]["doc_id"] == "d1"
    for args in (["promote", "epoch-0"], ["promote", "epoch-1"], ["rollback"], ["gc", "--keep", "2"], ["index"]):
        res = _cli(*args, *s)
        assert res.returncode == 0, (args, res.stderr[-2000:])
    tags = Store(tmp_path / "s", dim=None).table(CORPUS).tags.list()
    assert tags["production"]["version"] == v1


def test_the_blocker_really_blocks():
    res = subprocess.run([sys.executable, "-c", BLOCK.replace("from bidirag.cli import main", "import torch"),
                          "x"], capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "ModuleNotFoundError" in res.stderr
