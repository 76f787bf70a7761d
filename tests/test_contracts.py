"""The committed artefacts match the code: the SDL file and the migrations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gql.schema import export_sdl

ROOT = Path(__file__).resolve().parent.parent


def test_schema_file_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == export_sdl(), "schema.graphql is stale: run `community-api export-schema`"


def test_models_have_no_unmigrated_changes() -> None:
    # A subprocess: the check builds its own Tortoise context, apart from the suite's database.
    result = subprocess.run(
        [sys.executable, "-m", "gql.cli", "check-migrations"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
