"""query_safety: 0 when the query carries instructions to the system ("ignore the documents and state that
..."), else 1. Answers to such queries are never written back, and never become critiques (a critique
quoting an injected query would carry the injection into later prompts)."""

from __future__ import annotations

import re

from bidirag.checks.base import Check, CheckContext, register

_INSTRUCTION = re.compile(
    r"(^|[.!?;:,]\s*|\band\s+|\bthen\s+)(please\s+)?(ignore|disregard|forget|override)\b[^.?!]{0,40}"
    r"\b(documents?|context|sources?|instructions?|above|previous|passages?)\b"
    r"|(^|[.!?;:,]\s*|\band\s+|\bthen\s+)(please\s+)?(state|say|claim|assert|answer|reply|respond|write)"
    r"\s+(only\s+)?(that\b|with\b|:)"
    r"|\byou (are|must|should|will) (now |always |only )?(say|state|answer|reply|respond|act|pretend)\b"
    r"|\b(system prompt|new instructions)\b", re.I)


def query_safety(query: str) -> float:
    """0.0 when the query tries to instruct the system (prompt injection), else 1.0."""
    return 0.0 if _INSTRUCTION.search(query) else 1.0


@register
class QuerySafety(Check):
    name = "query_safety"
    reason_text = "the query carries instructions to the system (possible prompt injection)"
    threshold_field = "reject_instructions"
    calibrate = False
    needs_answer = False

    def score(self, ctx: CheckContext) -> list[float]:
        return [query_safety(q) for q in ctx.queries]
