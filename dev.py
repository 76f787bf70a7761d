#!/usr/bin/env python3
"""Set-up and run in one step, on a machine with only Python 3.11 and pip.

    python3 dev.py serve     install into .venv, migrate, seed, serve on 127.0.0.1:8000
    python3 dev.py test      install into .venv (with test tools), run the static checks, then the
                             whole suite once on SQLite and once on PostgreSQL (skipped, loudly,
                             without one); with pytest arguments, only those tests
    python3 dev.py check     the static checks alone: ruff (lint) and mypy (types of gql/ and models/)
    python3 dev.py <cmd>     any other `community-api` command inside .venv (migrate, seed, ...)

The install step runs only when requirements.lock or pyproject.toml changed since the last one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".installed"
LOCK_INPUTS = ("requirements.lock", "pyproject.toml")

LOCAL_POSTGRES = ("127.0.0.1", 5432, "postgres://postgres@127.0.0.1:5432/test")
LOCAL_REDIS = ("127.0.0.1", 6379, "redis://127.0.0.1:6379/15")
# The two passes run at once: each gets a Redis database of its own (rate limits, persisted
# queries and the response cache's generations are keys; events are namespaced by the number).
REDIS_DATABASE_OF = {"sqlite": "15", "postgres": "14"}
BACKENDS = ("sqlite", "postgres")


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
    """One pytest process per backend (Tortoise cannot switch dialects inside one process), both at
    once: the suite is CPU-bound and a machine has two cores or more. The SQLite pass prints as it
    goes; the PostgreSQL pass's output follows when both have ended. `DEV_TEST_SERIAL=1` runs them
    one after the other (one core, or to read both as they go)."""
    env = test_environment()
    commands = {backend: [str(PYTHON), "-m", "pytest", *pytest_args] for backend in BACKENDS}
    environments = {backend: _backend_environment(env, backend) for backend in BACKENDS}
    if env.get("DEV_TEST_SERIAL") == "1":
        status = 0
        for backend in BACKENDS:
            print(f"dev.py: running the suite on {backend}", flush=True)
            status = subprocess.call(commands[backend], env=environments[backend]) or status
        return status
    print(f"dev.py: running the suite on {' and '.join(BACKENDS)} at once", flush=True)
    first, *others = BACKENDS
    with tempfile.TemporaryDirectory(prefix="dev-test-") as folder:
        # Opened here and closed in the `finally` below: one per backend run in the background.
        logs = {backend: open(Path(folder) / f"{backend}.log", "w+b") for backend in others}  # noqa: SIM115
        try:
            running = {backend: subprocess.Popen(commands[backend], env=environments[backend], stdout=logs[backend],
                                                 stderr=subprocess.STDOUT) for backend in others}
            codes = {first: subprocess.call(commands[first], env=environments[first])}
            codes.update({backend: process.wait() for backend, process in running.items()})
            for backend in others:
                print(f"dev.py: the suite on {backend}", flush=True)
                logs[backend].seek(0)
                shutil.copyfileobj(logs[backend], sys.stdout.buffer)
                sys.stdout.buffer.flush()
        finally:
            for log in logs.values():
                log.close()
    for backend, code in codes.items():
        print(f"dev.py: {backend}: {'passed' if code == 0 else f'FAILED (pytest exit {code})'}", flush=True)
    return next((code for code in codes.values() if code), 0)


STATIC_CHECKS = {
    "ruff": [str(VENV / "bin" / "ruff"), "check", "."],
    "mypy": [str(VENV / "bin" / "mypy")],  # its files and settings: pyproject.toml, [tool.mypy]
}


def run_static_checks() -> int:
    """ruff and mypy, as configured in pyproject.toml; both run, so one report shows every finding."""
    failed = []
    for name, command in STATIC_CHECKS.items():
        print(f"dev.py: {name}", flush=True)
        if subprocess.call(command) != 0:
            failed.append(name)
    if failed:
        print(f"dev.py: static checks FAILED: {', '.join(failed)}", flush=True)
    return 1 if failed else 0


def _backend_environment(env: dict[str, str], backend: str) -> dict[str, str]:
    environment = {**env, "TEST_BACKEND": backend}
    if "TEST_REDIS_URL" in env and "TEST_REDIS_URL" not in os.environ:  # ours, not the caller's
        environment["TEST_REDIS_URL"] = env["TEST_REDIS_URL"].rsplit("/", 1)[0] + "/" + REDIS_DATABASE_OF[backend]
    return environment


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0 if argv else 2
    os.chdir(ROOT)
    install()
    command, rest = argv[0], argv[1:]
    if command == "check":
        return run_static_checks()
    if command == "test":
        # The whole suite starts with the static checks; a run of chosen tests goes straight to them.
        checked = run_static_checks() if not rest else 0
        return run_tests(rest) or checked
    # Replaced by the command, not its parent: a SIGTERM sent to this process (a supervisor's, a
    # container's) reaches the server itself, which shuts down gracefully.
    executable = str(VENV / "bin" / "community-api")
    os.execv(executable, [executable, command, *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
