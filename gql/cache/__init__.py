"""The response cache for public reads: anonymous queries answered without executing, invalidated
per table when a write commits (responses.py, generations.py; the tables come from
models/touched.py)."""

from gql.cache.generations import Generations, GenerationsUnavailable, generations_for
from gql.cache.responses import ResponseCache

__all__ = ["Generations", "GenerationsUnavailable", "ResponseCache", "generations_for"]
