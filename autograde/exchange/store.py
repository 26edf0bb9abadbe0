"""The hub exchange store's layout, read without the service (standard library only):
``<state>/hub-exchange/submissions/<learner>/<module>/<NNNN>/receipt.json`` (see service.py,
which alone writes it). HR's report reads the receipts here, so a submission waiting in the
hub exchange shows as submitted before anyone collects it.
"""

from __future__ import annotations

import json
from pathlib import Path

from autograde.config import Settings


def store_dir(s: Settings) -> Path:
    return s.state_dir / "hub-exchange"


def versions(root: Path, learner: str, module: str) -> list[Path]:
    """A learner's submission versions of a module, oldest first."""
    d = root / "submissions" / learner / module
    return sorted(p for p in d.iterdir() if p.name.isdigit()) if d.is_dir() else []


def latest_received(s: Settings) -> dict[tuple[str, str], str]:
    """(learner, module) -> when the server received the newest version (ISO 8601, UTC)."""
    base = store_dir(s) / "submissions"
    out: dict[tuple[str, str], str] = {}
    if not base.is_dir():
        return out
    for learner in sorted(p for p in base.iterdir() if p.is_dir()):
        for module in sorted(p for p in learner.iterdir() if p.is_dir()):
            found = versions(store_dir(s), learner.name, module.name)
            if found:
                receipt = json.loads((found[-1] / "receipt.json").read_text(encoding="utf-8"))
                out[learner.name, module.name] = receipt["received_at"]
    return out
