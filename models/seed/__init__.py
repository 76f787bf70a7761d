"""Seed data: the landing page's own content and a deterministic scale generator.

PLACEHOLDER while the seed is being written; the real loader replaces this module.
"""

from __future__ import annotations


async def load_page_content() -> dict[str, int]:
    """Load the landing-page content from the data files in this folder; idempotent."""
    return {}


async def generate_scale(members: int, seed: int = 1) -> dict[str, int]:
    """Add `members` generated members with proportional posts, FAQs and issues; deterministic."""
    return {}
