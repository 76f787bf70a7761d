#!/usr/bin/env python3
"""Set-up and run in one step, on a machine with only Python 3.11 and pip.

    python3 dev.py serve     install into .venv, migrate, seed, serve on 127.0.0.1:8000
    python3 dev.py test      install into .venv (with test tools) and run the whole suite,
                             once on SQLite and once on PostgreSQL (skipped, loudly, without one)
    python3 dev.py <cmd>     any other `community-api` command inside .venv (migrate, seed, ...)

The install step runs only when requirements.lock or pyproject.toml changed since the last one.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".installed"
LOCK_INPUTS = ("requirements.lock", "pyproject.toml")

LOCAL_POSTGRES = ("127.0.0.1", 5432, "postgres://postgres@127.0.0.1:5432/test")
LOCAL_REDIS = ("127.0.0.1", 6379, "redis://127.0.0.1:6379/15")


def _fingerprint() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for name in LOCK_INPUTS:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def install() -> None:
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    if not PYTHON.exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    print("dev.py: installing the locked dependencies", flush=True)
    subprocess.run([*pip, "-r", str(ROOT / "requirements.lock")], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(_fingerprint())


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def test_environment() -> dict[str, str]:
    """Point the suite at the local PostgreSQL and Redis when they answer; say so loudly when not."""
    env = dict(os.environ)
    for variable, (host, port, url), name in (
        ("TEST_POSTGRES_URL", LOCAL_POSTGRES, "PostgreSQL"),
        ("TEST_REDIS_URL", LOCAL_REDIS, "Redis"),
    ):
        if variable in env:
            continue
        if _answers(host, port):
            env[variable] = url
        else:
            print(f"dev.py: {name} is not running on {host}:{port}: its tests will SKIP", flush=True)
    return env


def run_tests(pytest_args: list[str]) -> int:
    """One pytest process per backend: Tortoise cannot switch dialects inside one process."""
    env = test_environment()
    status = 0
    for backend in ("sqlite", "postgres"):
        print(f"dev.py: running the suite on {backend}", flush=True)
        code = subprocess.call([str(PYTHON), "-m", "pytest", *pytest_args], env={**env, "TEST_BACKEND": backend})
        status = status or code
    return status


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0 if argv else 2
    os.chdir(ROOT)
    install()
    command, rest = argv[0], argv[1:]
    if command == "test":
        return run_tests(rest)
    # Replaced by the command, not its parent: a SIGTERM sent to this process (a supervisor's, a
    # container's) reaches the server itself, which shuts down gracefully.
    executable = str(VENV / "bin" / "community-api")
    os.execv(executable, [executable, command, *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
