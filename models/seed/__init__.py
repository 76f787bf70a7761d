"""Seed data: the landing page's own content (TOML files here) and a deterministic scale generator."""

from models.seed.content import load_page_content
from models.seed.scale import generate_scale

__all__ = ["generate_scale", "load_page_content"]
