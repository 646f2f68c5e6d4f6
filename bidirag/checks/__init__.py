"""Acceptance checks: one plugin per file, registered by name (see `base.py` for the contract).

Built in, in their default order (`acceptance.checks`): query_safety, answerable, premise, question_detail, content,
complete, opinion, relevance, grounding, attribution, novelty, source, trust; opt-in: answer_span, focus, hedge,
sentence_grounding, support, verifier. The paper's three (grounding, attribution, novelty) come after
bidirag's additions, because an NLI model happily "entails" answers that only restate the question, copy an
off-topic sentence of a document, or obey an injected instruction; trust comes last because it reads the
others' scores. Each file's docstring gives its formula. The pure scoring functions are re-exported here for
direct use.
"""

# importing a check's module registers it
from bidirag.checks.answer_span import extractive_doc, source_sentence, written_claim
from bidirag.checks.answerable import answerable
from bidirag.checks.attribution import attribution
from bidirag.checks.base import (
    Check,
    CheckContext,
    enabled,
    get,
    idle_settings,
    pre_generation,
    reason,
    register,
    registered,
    thresholds,
    unregister,
    verdict,
)
from bidirag.checks.complete import complete
from bidirag.checks.content import content
from bidirag.checks.focus import focus_scores
from bidirag.checks.grounding import grounding, grounding_scores
from bidirag.checks.hedge import hedge, source_hedge
from bidirag.checks.novelty import novelty
from bidirag.checks.opinion import EVALUATIVE, opinion
from bidirag.checks.premise import supporting_windows
from bidirag.checks.query_safety import query_safety
from bidirag.checks.question_detail import question_detail
from bidirag.checks.relevance import relevance
from bidirag.checks.sentence_grounding import sentence_premises
from bidirag.checks.source import best_sources, quote_claim, quote_doc, source_doc
from bidirag.checks.support import support
from bidirag.checks.trust import alignment
from bidirag.checks.verifier import Verifier

# the built-in order (the default of `acceptance.checks`)
CHECKS = ("query_safety", "answerable", "premise", "question_detail", "content", "complete", "opinion", "relevance",
          "grounding", "attribution", "novelty", "source", "trust")

__all__ = [
    "CHECKS", "Check", "CheckContext", "EVALUATIVE", "answerable", "attribution", "complete", "content", "enabled",
    "get",
    "focus_scores", "grounding", "grounding_scores", "hedge", "idle_settings", "novelty", "opinion", "pre_generation",
    "query_safety",
    "question_detail", "source_hedge",
    "reason", "register",
    "registered", "relevance", "sentence_premises",
    "support", "supporting_windows", "alignment", "thresholds", "unregister", "verdict",
    "Verifier", "best_sources", "extractive_doc", "quote_claim", "quote_doc", "source_doc", "source_sentence",
    "written_claim",
]
