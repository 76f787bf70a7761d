#!/usr/bin/env python3
"""Vendor GraphiQL, React and graphql-ws from their npm packages into gql/static/graphiql/.

Usage (from the repository root; needs `npm`):

    python3 scripts/vendor_graphiql.py                      # re-fetch the versions manifest.json pins
    python3 scripts/vendor_graphiql.py graphiql@4.1.2 ...   # upgrade: pin new versions and re-fetch
    python3 scripts/vendor_graphiql.py --check              # compare the vendored files with npm's, write nothing

Each package is fetched with `npm pack NAME@VERSION` (npm checks the tarball against the
registry's `integrity`; we check it again, against `npm view`'s record and the tarball's own
sha512). The files the page needs and the package's licence are copied out byte for byte and
`manifest.json` records, for each file, the package, version, tarball integrity and the file's
sha256. The server serves exactly the manifest's files and refuses to start on a file whose bytes
differ from it (gql/graphiql.py); tests/test_graphiql.py compares what it serves with the record.
The pins live in the manifest: with no argument this script re-fetches what it records.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "gql" / "static" / "graphiql"
MANIFEST = TARGET / "manifest.json"


@dataclass(frozen=True)
class Package:
    """An npm package and the files taken from its tarball: {path in the tarball: name served}."""

    name: str
    files: dict[str, str]


# What the page loads, and each package's licence. The versions are the manifest's pins (or
# DEFAULT_VERSIONS on a first run); a name@version argument changes one.
PACKAGES = (
    Package("react", {"umd/react.production.min.js": "react.production.min.js", "LICENSE": "LICENSE.react"}),
    Package("react-dom", {"umd/react-dom.production.min.js": "react-dom.production.min.js",
                          "LICENSE": "LICENSE.react-dom"}),
    Package("graphiql", {"graphiql.min.js": "graphiql.min.js", "graphiql.min.css": "graphiql.min.css",
                         "LICENSE": "LICENSE.graphiql"}),
    Package("graphql-ws", {"umd/graphql-ws.min.js": "graphql-ws.min.js", "LICENSE.md": "LICENSE.graphql-ws"}),
)
DEFAULT_VERSIONS = {"react": "18.3.1", "react-dom": "18.3.1", "graphiql": "4.1.2", "graphql-ws": "6.4.2"}


def npm(*args: str, cwd: Path) -> str:
    done = subprocess.run(["npm", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"vendor_graphiql: `npm {' '.join(args[:2])}` failed: {done.stderr.strip()}")
    return done.stdout


def sri_sha512(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def pinned_versions(arguments: list[str]) -> dict[str, str]:
    versions = dict(DEFAULT_VERSIONS)
    if MANIFEST.exists():
        versions.update({name: pin["version"] for name, pin in json.loads(MANIFEST.read_text())["packages"].items()})
    for argument in arguments:
        name, _, version = argument.rpartition("@")
        if name not in versions or not version:
            raise SystemExit(f"vendor_graphiql: {argument!r} is not NAME@VERSION for one of {', '.join(versions)}")
        versions[name] = version
    return versions


def fetch(package: Package, version: str, scratch: Path) -> tuple[dict[str, str], dict[str, bytes]]:
    """npm-pack one package; its pin (version, integrity, licence) and the wanted files' bytes."""
    spec = f"{package.name}@{version}"
    packed = json.loads(npm("pack", spec, "--json", "--pack-destination", str(scratch), cwd=scratch))[0]
    registry_integrity = npm("view", spec, "dist.integrity", cwd=scratch).strip()
    tarball = (scratch / packed["filename"]).read_bytes()
    if not packed["integrity"] == registry_integrity == sri_sha512(tarball):
        raise SystemExit(f"vendor_graphiql: {spec}: the tarball's sha512 does not match the registry's integrity")
    contents: dict[str, bytes] = {}
    with tarfile.open(scratch / packed["filename"]) as archive:
        for path, served in package.files.items():
            try:
                member = archive.extractfile(f"package/{path}")
            except KeyError:
                member = None
            if member is None:  # absent, or not a regular file: that version publishes no such build
                raise SystemExit(f"vendor_graphiql: {spec} has no file {path}")
            contents[served] = member.read()
    licence = npm("view", spec, "license", cwd=scratch).strip()
    pin = {"version": packed["version"], "integrity": packed["integrity"], "license": licence}
    return pin, contents


def build_manifest(fetched: list[tuple[Package, dict[str, str], dict[str, bytes]]]) -> dict[str, Any]:
    files: dict[str, dict[str, str]] = {}
    for package, pin, contents in fetched:
        for path, served in package.files.items():
            files[served] = {"package": package.name, "version": pin["version"], "path": path,
                             "integrity": pin["integrity"], "sha256": hashlib.sha256(contents[served]).hexdigest()}
    return {"generated_by": "scripts/vendor_graphiql.py",
            "packages": {package.name: pin for package, pin, _ in fetched}, "files": dict(sorted(files.items()))}


def main(arguments: list[str]) -> int:
    check = "--check" in arguments
    versions = pinned_versions([argument for argument in arguments if argument != "--check"])
    with tempfile.TemporaryDirectory() as scratch:
        fetched = [(package, *fetch(package, versions[package.name], Path(scratch))) for package in PACKAGES]
    manifest = build_manifest(fetched)
    for name, pin in manifest["packages"].items():
        print(f"{name}@{pin['version']}  {pin['integrity']}")
    if check:
        # For a reviewer: do the repository's files and manifest equal what npm publishes today?
        vendored = {path.name: path.read_bytes() for path in TARGET.glob("*") if path.name != MANIFEST.name}
        published = {served: data for _, _, contents in fetched for served, data in contents.items()}
        same = vendored == published and json.loads(MANIFEST.read_text()) == manifest
        print("the vendored files are the published ones" if same else "DIFFERENT from the published files")
        return 0 if same else 1
    # Written only once every package was fetched and checked: a failure leaves the old set whole.
    # The folder then holds exactly the manifest's files (the server serves nothing else).
    for old in TARGET.glob("*"):
        old.unlink()
    TARGET.mkdir(parents=True, exist_ok=True)
    for _, _, contents in fetched:
        for served, data in contents.items():
            (TARGET / served).write_bytes(data)
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(manifest['files'])} files and {MANIFEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
