"""bidirag: validated, versioned write-back for RAG knowledge bases."""

__version__ = "0.1.0"
