"""Job specifications by name. Specs are declared as entry points of the group `bidirag.jobs`
(pyproject.toml: `epoch` -> pipelines.bidirectional:SPEC, `units` -> pipelines.writeback_distill:SPEC), so
the library finds them without importing `pipelines/`, and another package can add a job the same way."""

from __future__ import annotations

from importlib.metadata import entry_points

from bidirag.driver import JobSpec

GROUP = "bidirag.jobs"


class UnknownJob(LookupError):
    pass


def get(name: str) -> JobSpec:
    eps = {ep.name: ep for ep in entry_points(group=GROUP)}
    if name not in eps:
        raise UnknownJob(f"no job {name!r} among the {GROUP} entry points ({', '.join(sorted(eps)) or 'none'}); "
                         "is bidirag installed (`pip install -e .`, which `make demo` runs)?")
    spec = eps[name].load()
    if not isinstance(spec, JobSpec):
        raise UnknownJob(f"entry point {name!r} = {eps[name].value} is not a JobSpec")
    return spec
