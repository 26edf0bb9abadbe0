"""The software bill of materials: every package the project installs, from its locks.

``write_sbom`` reads the two pip locks (``requirements/project.txt``: the project's venv and the course
account's environment; ``requirements/learner.txt``: the learners' environment) and the hub's
``hub/package-lock.json`` (the proxy's npm packages), and writes one CycloneDX 1.5 JSON document: each
package once, with its locked version, its package URL, the hashes the installs check (pip's sha256,
npm's sha512 integrity) and the environments it is installed in (property ``hcwh:environment``).
Nothing is looked up on the network: what is listed is exactly what ``pip --require-hashes`` and
``npm ci`` install. Standard library only.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

from autograde.errors import HcwhError

SPEC = "1.5"
# environment -> lock file, relative to the project root
PIP_LOCKS = {"project": "requirements/project.txt", "learner": "requirements/learner.txt"}
NPM_LOCK = ("hub", "hub/package-lock.json")

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


class SbomError(HcwhError):
    """A lock file the bill of materials cannot be made from (missing, unreadable, a pin without hash)."""


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503, as package URLs want it


def pip_pins(lock: Path) -> list[tuple[str, str, list[str]]]:
    """(name, version, sha256 hashes) of every pin in a pip-compile lock with ``--generate-hashes``."""
    try:
        text = lock.read_text(encoding="utf-8")
    except OSError as exc:
        raise SbomError(f"{lock}: cannot be read ({exc.strerror}); run `make lock`") from exc
    pins: list[tuple[str, str, list[str]]] = []
    current: list | None = None
    for number, line in enumerate(text.splitlines(), 1):
        m = _PIN.match(line)
        if m:
            current = [_norm(m.group(1)), m.group(2), [], number]
            pins.append(current)
        elif current is not None and line.startswith(" "):
            current[2] += _HASH.findall(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            raise SbomError(f"{lock}, line {number}: {line.strip()[:60]!r} is not a pinned requirement")
    for name, _, hashes, number in pins:
        if not hashes:
            raise SbomError(f"{lock}, line {number}: {name} has no --hash; re-lock with `make lock`")
    return [(n, v, h) for n, v, h, _ in pins]


def npm_packages(lock: Path) -> list[tuple[str, str, str]]:
    """(name, version, sha512 hex) of every package in an npm lockfile (v2 or v3)."""
    try:
        data = json.loads(lock.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SbomError(f"{lock}: cannot be read ({exc.strerror}); run `npm install` in hub/") from exc
    except json.JSONDecodeError as exc:
        raise SbomError(f"{lock}: not JSON (line {exc.lineno}: {exc.msg})") from exc
    found = []
    for path, info in sorted((data.get("packages") or {}).items()):
        if not path:
            continue  # the hub folder itself
        name = info.get("name") or path.rsplit("node_modules/", 1)[-1]
        integrity = info.get("integrity", "")
        if not integrity.startswith("sha512-"):
            raise SbomError(f"{lock}: {path} has no sha512 integrity hash; run `npm install` in hub/ again")
        found.append((name, info["version"], base64.b64decode(integrity[7:]).hex()))
    return found


def bill(root: Path, now: datetime | None = None) -> dict:
    """The CycloneDX document for the checkout at ``root``."""
    components: dict[str, dict] = {}

    def add(purl: str, name: str, version: str, alg: str, hashes: list[str], env: str) -> None:
        c = components.setdefault(purl, {
            "type": "library", "bom-ref": purl, "name": name, "version": version, "purl": purl,
            "hashes": [], "properties": []})
        for h in hashes:
            if {"alg": alg, "content": h} not in c["hashes"]:
                c["hashes"].append({"alg": alg, "content": h})
        if {"name": "hcwh:environment", "value": env} not in c["properties"]:
            c["properties"].append({"name": "hcwh:environment", "value": env})

    for env, rel in PIP_LOCKS.items():
        for name, version, hashes in pip_pins(root / rel):
            add(f"pkg:pypi/{name}@{version}", name, version, "SHA-256", hashes, env)
    env, rel = NPM_LOCK
    for name, version, digest in npm_packages(root / rel):
        purl = f"pkg:npm/{name.replace('@', '%40', 1) if name.startswith('@') else name}@{version}"
        add(purl, name, version, "SHA-512", [digest], env)
    when = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    return {
        "bomFormat": "CycloneDX", "specVersion": SPEC, "serialNumber": f"urn:uuid:{uuid.uuid4()}", "version": 1,
        "metadata": {"timestamp": when,
                     "component": {"type": "application", "name": "how-can-we-help", "bom-ref": "how-can-we-help"},
                     "properties": [{"name": "hcwh:source", "value": f"{env}: {rel}"} for env, rel in
                                    [*PIP_LOCKS.items(), NPM_LOCK]]},
        "components": sorted(components.values(), key=lambda c: c["purl"]),
    }


def write_sbom(root: Path, out: Path) -> dict:
    """Write the bill to ``out`` whole or not at all (a temporary file renamed over it); return it."""
    doc = bill(root)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return doc
