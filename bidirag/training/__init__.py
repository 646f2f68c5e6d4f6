"""Training and measuring the NLI model bidirag ships (models/nli); serving code is in bidirag/models."""
