"""Evaluation harness: systems x seeds on SQuAD rag_eval articles (the paper's Table I, plus answer metrics)."""
