"""complete: every answer sentence must end as a sentence ends (. ! ? or such a mark before a closing quote or
bracket). A small generator stopped by its token limit leaves an answer cut mid-word or mid-clause ("... the
doctrine of transub"); such text is not fit to be read as knowledge, even when the part that was written is
right. Score 1.0 or 0.0; the Generate stage has already cut a trailing unfinished sentence where a finished one
precedes it (`models.generator.finish_answer`), so this rejects only answers with no finished sentence."""

from __future__ import annotations

import re

from bidirag.checks.base import Check, CheckContext, register

_END = re.compile(r"[.!?][\"'”’)\]]*\s*$")


def complete(text: str) -> float:
    """1.0 when the text ends with sentence-final punctuation (optionally before closing quotes/brackets)."""
    return 1.0 if text.strip() and _END.search(text) else 0.0


@register
class Complete(Check):
    name = "complete"
    reason_text = "the answer is cut off mid-sentence (the generator's token limit ended it)"
    threshold_field = "require_complete"
    critique = False          # a length limit, not a mistake to warn later prompts about
    calibrate = False

    def score(self, ctx: CheckContext) -> list[float]:
        return [complete(t) for t in ctx.texts]
