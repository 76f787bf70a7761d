"""Tortoise models and the domain rules that belong to them, one module a domain.

Nothing here imports `gql`: the API layer depends on the domain, never the reverse.
"""

MODEL_MODULES = [
    "models.accounts",
    "models.announcements",
    "models.faqs",
    "models.issues",
    "models.posts",
    "models.stars",
    "models.wizard",
    "models.moderation",
    "models.audit",
    "models.counted",
]
