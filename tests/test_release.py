"""Safe promotion (fakes, real LanceDB on disk): readers of the production tables never see unreviewed
write-backs, the next epoch builds on production, corpus and units move together, gates refuse with the reason.
The readers are the real ones a user would use: LanceDB's own client and Ray Data's `read_lance`."""

import json

import lancedb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bidirag import ops, release
from bidirag.cli import main
from bidirag.distill import run_distill
from bidirag.epoch import run_epoch
from bidirag.ingest import ingest
from bidirag.store import CORPUS, RELEASES, UNITS, Store
from tests.conftest import write_log


def _store(cfg) -> Store:
    return Store(cfg.store.uri, dim=384)


def _origins(tbl) -> list[str]:
    return tbl.to_arrow().column("origin").to_pylist()


def _with_base(cfg, base):
    return cfg.model_copy(update={"run": cfg.run.model_copy(update={"base": base})})


@pytest.fixture
def seeded(fake_cfg, corpus_file):
    ingest(fake_cfg, corpus_file, progress=False)
    release.promote(_store(fake_cfg), "head", reason="seed corpus")
    return fake_cfg


def test_readers_of_production_never_see_unpromoted_writebacks(seeded, query_log, ray_cluster):
    cfg = seeded
    rep = run_epoch(cfg, query_log, run_name="e1", progress=False)
    assert rep["written"] >= 1
    db = lancedb.connect(cfg.store.uri)
    # what a LanceDB reader (and LangChain / LlamaIndex over it) opens: the production table
    prod = db.open_table("corpus_production")
    assert set(_origins(prod)) == {"seed"} and prod.count_rows() == 5
    assert "writeback" in _origins(db.open_table(CORPUS))          # the work table has the epoch
    hits = prod.search([0.0] * 384).limit(10).to_list()
    assert hits and {h["origin"] for h in hits} == {"seed"}
    # Ray Data reads the same snapshot
    uri = prod.uri
    assert ray_cluster.data.read_lance(uri, columns=["doc_id", "origin"]).filter(
        lambda r: r["origin"] == "writeback").count() == 0

    entry = release.promote(_store(cfg), "epoch-1", reason="reviewed")
    prod = lancedb.connect(cfg.store.uri).open_table("corpus_production")
    assert _origins(prod).count("writeback") == rep["written"]
    ds = ray_cluster.data.read_lance(uri, columns=["doc_id", "origin"])
    assert ds.count() == 5 + rep["written"]
    # the release is a tagged version of the production table: a reader can pin it
    assert prod.tags.list()[f"release-{entry['release']}"]["version"] == entry["corpus_production_version"]
    old = ray_cluster.data.read_lance(uri, version="release-1", columns=["origin"])
    assert old.count() == 5


def test_next_epoch_builds_on_production_not_on_a_rejected_head(seeded, query_log):
    cfg = seeded
    st = _store(cfg)
    first = run_epoch(cfg, query_log, run_name="e1", progress=False)       # not promoted: rejected
    assert first["written"] >= 1
    second = run_epoch(cfg, query_log, run_name="e2", progress=False)
    # built on production (the seed), so the same answers are written again; epoch 1's rows are gone from the head
    assert second["written"] == first["written"]
    head = st.table(CORPUS).to_arrow().to_pylist()
    assert {r["epoch"] for r in head if r["origin"] == "writeback"} == {2}
    assert ops.diff(st, "production", second["pinned_version"])["added_count"] == 0
    # the rejected epoch stays readable by its tag
    assert ops.diff(st, "production", "epoch-1")["added_count"] == first["written"]
    # --base epoch-2 continues from an unreviewed epoch on purpose: nothing new to write
    third = run_epoch(_with_base(cfg, "epoch-2"), query_log, run_name="e3", progress=False)
    assert third["written"] == 0 and ops.diff(st, "epoch-2", third["snapshot_version"])["added_count"] == 0
    # --base head keeps the head as it is (the harness's multi-epoch runs)
    assert run_epoch(_with_base(cfg, "head"), query_log, run_name="e4", progress=False)["written"] == 0


def test_replay_chains_its_shards_after_starting_from_production(seeded, query_log, tmp_path):
    from bidirag.replay import replay

    # the sentence form: the fake generator copies its first doc, and an extractive doc ("Question: Which planet
    # is Mars? ...") ranks first for the next shard's "Which planet is Jupiter?", so that shard writes nothing
    cfg = seeded.model_copy(update={"writeback": seeded.writeback.model_copy(update={"form": "sentence"})})
    more = tmp_path / "more.parquet"
    topics = ["Mars", "Jupiter", "Saturn"]
    pq.write_table(pa.table({"text": [f"{t} is a planet of the Solar System. It has been visited by probes."
                                      for t in topics]}), more)
    assert ingest(cfg, more, progress=False)["released"] == "release-2"
    query_log = write_log(tmp_path / "planets.jsonl", [{"query_id": t, "text": f"Which planet is {t}?"}
                                                       for t in topics])
    rejected = run_epoch(cfg, query_log, run_name="rejected", progress=False)
    assert rejected["written"] >= 2
    res = replay(cfg, query_log, epoch_size=1, progress=False, log=lambda *_: None)
    assert res["epochs_run"] == 3
    rows = [r for r in _store(cfg).table(CORPUS).to_arrow().to_pylist() if r["origin"] == "writeback"]
    # built on production (epoch 1 is gone), and every shard on the one before (all shards' rows are there)
    assert 1 not in {r["epoch"] for r in rows} and len(rows) == res["written"] == rejected["written"]
    assert len({r["epoch"] for r in rows}) >= 2


def test_corpus_and_units_promote_and_roll_back_together(seeded, query_log, tmp_path):
    cfg = seeded.model_copy(update={"distill": seeded.distill.model_copy(update={"scorer": "contains"})})
    st = _store(cfg)
    ex = write_log(tmp_path / "ex.jsonl", [
        {"query_id": "e1", "question": "Which river flows through Warsaw?", "answers": ["Vistula"]},
        {"query_id": "e2", "question": "Who defeated the Carolina Panthers in Super Bowl 50?",
         "answers": ["Denver Broncos"]}])
    units = run_distill(cfg, ex, run_name="d", progress=False)
    rep = run_epoch(cfg, query_log, run_name="e1", progress=False)
    assert units["written"] >= 1 and rep["written"] >= 1
    db = lancedb.connect(cfg.store.uri)
    assert db.open_table("knowledge_units_production").count_rows() == 0     # released with the seed: empty
    two = release.promote(st, "epoch-1", units="units-1", reason="night 1 reviewed")
    assert db.open_table("knowledge_units_production").count_rows() == units["written"]
    assert _origins(db.open_table("corpus_production")).count("writeback") == rep["written"]
    rb = release.rollback(st, reason="bad units")
    assert rb["action"] == "rollback" and rb["rollback_to"] is None and rb["to_version"] == release.releases(st)[0][
        "corpus_version"]
    assert db.open_table("knowledge_units_production").count_rows() == 0
    assert set(_origins(db.open_table("corpus_production"))) == {"seed"}
    assert st.table(UNITS).count_rows() == 0 and set(_origins(st.table(CORPUS))) == {"seed"}   # heads too
    hist = release.history(st)
    assert [h["action"] for h in hist] == ["promote", "promote", "rollback"] and hist[1]["units_version"] == two[
        "units_version"]
    with pytest.raises(release.ReleaseError, match="no earlier release"):
        release.rollback(st)
    # units alone: the corpus part of the release stays
    three = release.promote(st, units="units-1")
    assert three["corpus_version"] == rb["to_version"]
    assert db.open_table("knowledge_units_production").count_rows() == units["written"]


def test_gates_refuse_with_the_reason_and_write_nothing(seeded, tmp_path, capsys):
    cfg = seeded
    log = write_log(tmp_path / "q.jsonl", [{"query_id": "q1", "text": "What is the capital of Poland?"},
                                           b"{not json\n"])
    rep = run_epoch(cfg, log, run_name="e1", progress=False)
    assert rep["written"] >= 1 and rep["dead_lettered"] == 1
    st = _store(cfg)
    prod_v = st.table("corpus_production").version
    n_rel = st.table(RELEASES).count_rows()
    args = ["--config", "configs/default.yaml", "--config", "configs/test-fakes.yaml",
            "--set", f"store.uri={cfg.store.uri}", "--set", f"run.runs_dir={cfg.run.runs_dir}"]
    for gate, says in ((f"min_written={rep['written'] + 1}", f"written is {rep['written']} < min_written"),
                       ("max_dead_lettered=0", "dead_lettered is 1 > max_dead_lettered 0"),
                       ("max_nonsense=1", "has no figure 'nonsense'"),
                       ("written>3", "write min_FIGURE=NUMBER")):
        assert main(["promote", "epoch-1", *args, "--require", gate]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and says in err, err
    assert st.table("corpus_production").version == prod_v and st.table(RELEASES).count_rows() == n_rel
    assert main(["promote", "epoch-1", *args, "--require", "min_written=1", "--require", "max_failed=0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["figures"] and json.loads(out["figures"])["min_written"]["value"] == rep["written"]
    assert main(["snapshots", *args]) == 0 and "release-2 (promote epoch-1" in capsys.readouterr().out


def test_readme_reader_snippet(seeded, query_log, ray_cluster):
    """The README's reader block, run as written: before and after the epoch is promoted."""
    from tests.conftest import ROOT

    cfg = seeded
    rep = run_epoch(cfg, query_log, run_name="e1", progress=False)
    epoch1 = {r["doc_id"] for r in _store(cfg).table(CORPUS).to_arrow().to_pylist() if r["epoch"] == 1}
    assert rep["written"] == len(epoch1) >= 1
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```python", readme.index("Reading the production snapshot"))
    code = readme[start + len("```python"):readme.index("```", start + 3)]
    assert '"runs/store"' in code
    code = compile(code.replace('"runs/store"', repr(cfg.store.uri)), "README.md", "exec")
    for promoted in (False, True):
        if promoted:
            release.promote(_store(cfg), "epoch-1")
        ns = {"query_vector": [0.1] * 384}
        exec(code, ns)
        seen = {r["doc_id"] for r in ns["ds"].take_all()}
        assert ns["hits"] and {h["doc_id"] for h in ns["hits"]} <= seen
        assert (epoch1 <= seen) == promoted and (epoch1 & seen == set()) == (not promoted)
        assert len(seen) == 5 + promoted * len(epoch1) and ns["pinned"].count() == 5     # release-1 = the seed


def test_ingest_builds_on_production_and_releases_the_new_seed_docs(seeded, query_log, tmp_path):
    cfg = seeded
    st = _store(cfg)
    rejected = run_epoch(cfg, query_log, run_name="e1", progress=False)
    assert rejected["written"] >= 1
    more = tmp_path / "more.parquet"
    pq.write_table(pa.table({"text": ["Mars is the fourth planet from the Sun."]}), more)
    res = ingest(cfg, more, progress=False)
    assert res["inserted"] == 1 and res["released"] == "release-2"
    prod = lancedb.connect(cfg.store.uri).open_table("corpus_production")
    assert prod.count_rows() == 6 and set(_origins(prod)) == {"seed"}
    assert set(_origins(st.table(CORPUS))) == {"seed"}            # the rejected epoch is not under the new docs
    nxt = run_epoch(cfg, query_log, run_name="e2", progress=False)
    assert st.table(CORPUS).count_rows() == 6 + nxt["written"]      # the next epoch keeps them
    with pytest.raises(release.ReleaseError, match="older than production"):
        release.promote(st, "epoch-1")                               # would drop the new seed docs
    assert ingest(cfg, more, progress=False)["inserted"] == 0 and len(release.releases(st)) == 2
