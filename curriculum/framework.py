"""The city's Customer Service Framework as data: standards, their items, the values.

The words live in ``framework/framework.yaml`` (verbatim from the city's text,
``framework/customer-service-framework.txt``). Items get stable ids such as
``AUTH-B1`` (Authenticity, expected behavior 1) and ``ENGA-C4`` (Engagement,
essential consideration 4); content files tag their exercises with these ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

FRAMEWORK_DIR = resources.files("curriculum") / "framework"


@dataclass(frozen=True)
class Item:
    """One expected behavior (kind "behavior") or essential consideration."""

    id: str
    standard_id: str
    kind: str  # "behavior" or "consideration"
    text: str


@dataclass(frozen=True)
class Standard:
    id: str
    name: str
    commitment: str
    behaviors: tuple[Item, ...]
    considerations: tuple[Item, ...]

    @property
    def items(self) -> tuple[Item, ...]:
        return self.behaviors + self.considerations


@dataclass(frozen=True)
class Value:
    id: str
    name: str
    text: str


@dataclass(frozen=True)
class Framework:
    title: str
    tagline: str
    purpose: str
    about: str
    values: tuple[Value, ...]
    standards: tuple[Standard, ...]

    def standard(self, standard_id: str) -> Standard:
        for s in self.standards:
            if s.id == standard_id:
                return s
        raise KeyError(standard_id)

    @property
    def items(self) -> dict[str, Item]:
        return {i.id: i for s in self.standards for i in s.items}


def _items(standard_id: str, kind: str, texts: list[str]) -> tuple[Item, ...]:
    letter = "B" if kind == "behavior" else "C"
    return tuple(
        Item(f"{standard_id}-{letter}{n}", standard_id, kind, text)
        for n, text in enumerate(texts, start=1)
    )


@cache
def load_framework() -> Framework:
    data = yaml.safe_load((FRAMEWORK_DIR / "framework.yaml").read_text(encoding="utf-8"))
    standards = tuple(
        Standard(
            id=s["id"],
            name=s["name"],
            commitment=s["commitment"],
            behaviors=_items(s["id"], "behavior", s["behaviors"]),
            considerations=_items(s["id"], "consideration", s["considerations"]),
        )
        for s in data["standards"]
    )
    return Framework(
        title=data["title"],
        tagline=data["tagline"],
        purpose=data["purpose"],
        about=data["about"],
        values=tuple(Value(**v) for v in data["values"]),
        standards=standards,
    )


def seed_text() -> str:
    """The city's framework text exactly as received."""
    return (FRAMEWORK_DIR / "customer-service-framework.txt").read_text(encoding="utf-8")
