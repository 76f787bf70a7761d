"""Limits checked before execution: the document's shape and cost, and the caller's budget."""
