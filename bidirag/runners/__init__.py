"""Runners execute one pipeline definition: `local` (in-process default), `ray` (actor pools), `beam`."""

from __future__ import annotations

from bidirag.config import Config


def make_runner(cfg: Config):
    if cfg.run.runner == "ray":
        from bidirag.runners.ray import RayRunner

        return RayRunner(cfg.run.ray)
    if cfg.run.runner == "beam":
        from bidirag.runners.beam import BeamRunner

        return BeamRunner(cfg.run.beam, cfg.run.batch_size, cfg.store.storage_options)
    from bidirag.runners.local import LocalRunner

    return LocalRunner()
