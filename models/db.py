"""Database configuration shared by the server, the CLI and Tortoise's own migration tool."""

from __future__ import annotations

import os
from typing import Any

from models import MODEL_MODULES

DEFAULT_DATABASE_URL = "sqlite://var/community.sqlite3"


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "models.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# Read by `tortoise -c models.db.TORTOISE_ORM makemigrations` when a model changes.
TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
