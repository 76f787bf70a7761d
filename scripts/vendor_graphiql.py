#!/usr/bin/env python3
"""Build GraphiQL 5 for the /graphql page into gql/http/static/graphiql/, from pinned npm packages.

Usage (from the repository root; needs `node` and `npm`):

    python3 scripts/vendor_graphiql.py                    # rebuild from the lockfile, write the files
    python3 scripts/vendor_graphiql.py graphiql@5.4.1 ... # upgrade: pin new versions, then rebuild
    python3 scripts/vendor_graphiql.py --check            # rebuild elsewhere, compare, write nothing

scripts/graphiql-bundle/ holds the inputs: package.json (exact versions of graphiql, React 19,
graphql, graphql-ws, Monaco and esbuild), package-lock.json (every package, direct or not, pinned
by version and sha512 integrity), src/ (the page's code and Monaco's web-worker entry points) and
build.mjs (the esbuild call). This script copies them to a temporary folder, runs `npm ci` there
(npm refuses a tarball whose sha512 differs from the lockfile's) and `node build.mjs`, which
bundles the page, the workers and THIRD_PARTY_LICENSES.txt (the licence of each bundled package).
manifest.json records each bundled package's version and lockfile integrity, and each built
file's sha256. esbuild's output is a function of its inputs, so `--check` rebuilding the same
lockfile must give the same bytes. The server serves exactly the manifest's files and refuses to
start on a file whose bytes differ from it (gql/http/graphiql.py).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "scripts" / "graphiql-bundle"
INPUTS = ("package.json", "package-lock.json", "build.mjs", "src")
TARGET = ROOT / "gql" / "http" / "static" / "graphiql"
MANIFEST = TARGET / "manifest.json"


def run(*command: str, cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"vendor_graphiql: `{' '.join(command[:3])}` failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def pin(specs: list[str]) -> None:
    """Upgrade: record the exact versions in package.json and re-resolve the lockfile."""
    for spec in specs:
        name, _, version = spec.rpartition("@")
        if not name or not version:
            raise SystemExit(f"vendor_graphiql: {spec!r} is not NAME@VERSION")
    run("npm", "install", "--package-lock-only", "--save-exact", "--ignore-scripts", "--no-audit", "--no-fund",
        *specs, cwd=BUNDLE)


def build(scratch: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    """npm ci and esbuild in a copy of the bundle folder: the built files and the manifest."""
    work, out = scratch / "bundle", scratch / "out"
    work.mkdir()
    for name in INPUTS:
        source = BUNDLE / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, work / name)
    # --ignore-scripts: esbuild's binary comes as an optional dependency (@esbuild/<platform>),
    # locked like the rest; no package runs code at install time.
    run("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", cwd=work)
    bundled = json.loads(run("node", "build.mjs", str(out), cwd=work))
    lock = json.loads((work / "package-lock.json").read_text())["packages"]
    packages: dict[str, dict[str, str]] = {}
    for folder, package in sorted({**bundled, "node_modules/esbuild": None}.items()):
        locked = lock[folder]
        if package is not None and package["version"] != locked["version"]:
            raise SystemExit(f"vendor_graphiql: {folder} is {package['version']}, the lockfile says {locked['version']}")
        packages[folder.removeprefix("node_modules/")] = {
            "version": locked["version"], "integrity": locked["integrity"],
            "license": package["license"] if package else locked.get("license", ""),
            "role": "bundled" if package else "build tool",
        }
    files = {path.name: path.read_bytes() for path in sorted(out.iterdir())}
    manifest = {
        "generated_by": "scripts/vendor_graphiql.py",
        "built_from": "scripts/graphiql-bundle (npm ci, node build.mjs)",
        "packages": packages,
        "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                  for name, data in files.items()},
    }
    return files, manifest


def main(arguments: list[str]) -> int:
    check = "--check" in arguments
    specs = [argument for argument in arguments if argument != "--check"]
    if specs and check:
        raise SystemExit("vendor_graphiql: --check compares the pinned versions; give no NAME@VERSION")
    if specs:
        pin(specs)
    with tempfile.TemporaryDirectory() as scratch:
        files, manifest = build(Path(scratch))
    top = json.loads((BUNDLE / "package.json").read_text())["dependencies"]
    for name in sorted(top):
        record = manifest["packages"][name]
        print(f"{name}@{record['version']}  {record['integrity']}")
    print(f"{len(manifest['packages'])} packages from scripts/graphiql-bundle/package-lock.json")
    if check:
        # For a reviewer: does building the pinned packages give the repository's files and manifest?
        vendored = {path.name: path.read_bytes() for path in TARGET.glob("*") if path.name != MANIFEST.name}
        same = vendored == files and json.loads(MANIFEST.read_text()) == manifest
        for name in sorted(set(vendored) | set(files)):
            if vendored.get(name) != files.get(name):
                print(f"  differs: {name}")
        print("the vendored files are the build of the pinned packages" if same else "DIFFERENT from a fresh build")
        return 0 if same else 1
    # Written only once the build succeeded: a failure leaves the old set whole. The folder then
    # holds exactly the manifest's files (the server serves nothing else).
    TARGET.mkdir(parents=True, exist_ok=True)
    for old in TARGET.glob("*"):
        old.unlink()
    for name, data in files.items():
        (TARGET / name).write_bytes(data)
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(files)} files ({sum(map(len, files.values())):,} bytes) and {MANIFEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
