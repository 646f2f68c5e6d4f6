"""Model handlers: embedder, generator, NLI; real backends plus fakes for unit tests."""
