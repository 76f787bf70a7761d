"""A real uvicorn in a subprocess: for tests that need real sockets, and for the benchmark."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def uvicorn_process(app: str, port: int, env: dict[str, str], *, prefix: list[str] | None = None,
                    options: list[str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Start `uvicorn <app> --factory` and yield once it answers HTTP; stop it on the way out."""
    with serving_process([*(prefix or []), sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1",
                          "--port", str(port), "--log-level", "warning", *(options or [])], port, env) as process:
        yield process


@contextmanager
def serving_process(command: list[str], port: int, env: dict[str, str], **popen: Any) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command`, a server on `port`; yield once it answers HTTP, stop it on the way out.
    `popen` goes to subprocess.Popen (`stderr=` to read what the server logs)."""
    process = subprocess.Popen(command, cwd=ROOT, env=env, **popen)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{' '.join(command)} did not start") from None
                time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def live_server(database_url: str, **env: str) -> Iterator[str]:
    """The API on the session's database; yields its base URL."""
    port = free_port()
    with uvicorn_process("gql.app:create_app", port, {**os.environ, "DATABASE_URL": database_url, **env}):
        yield f"http://127.0.0.1:{port}"
