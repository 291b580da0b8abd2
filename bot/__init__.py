"""quotebot: answer questions about a small library of articles with quoted passages and sources."""

__version__ = "0.1.0"
