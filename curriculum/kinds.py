"""The question kinds: one table, one row per kind, read by every part that treats a kind.

Each row says how the learner is told to answer (``instructions``, builder.py), which widget
the notebook calls (``widget``, a method of learner.Module), what the stored answer looks like
(``stored``), which keys are valid (``key_problems``, schema.py), how an answer earns credit
(``share``, scoring.py, run by the hidden tests at autograde) and the plausible mistake the demo's
learners make (``mistake``, autograde/course/demo.py). A new kind is one new row.

Standard library only: this module runs in learners' kernels and in the grading sandbox.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kind:
    name: str
    instructions: str
    widget: str  # learner.Module method: widget(question_id, [items,] options)
    with_items: bool  # matching only: a list of items, each matched with an option
    ordered_key: bool  # the key is a sequence in order (the builder's shuffle never shows that order)
    share: Callable[[Any, Sequence[str]], float]  # the learner's answer, the key -> 0.0 .. 1.0
    key_problems: Callable[[Sequence[str], Sequence[str], int], list[tuple[str, str]]]  # answer, option ids, items
    mistake: Callable[[Sequence[str], Sequence[str], random.Random], object]  # answer, option ids, rng

    def stored(self, answer: Sequence[str]) -> object:
        """What answers.json holds for this answer: one option id, or a list of them."""
        return answer[0] if self.name == "single" else list(answer)


def _is_list_of_ids(given: Any) -> bool:
    return isinstance(given, list) and all(isinstance(g, (str, type(None))) for g in given)


# -- single choice -----------------------------------------------------------------------

def _single_share(given: Any, key: Sequence[str]) -> float:
    return 1.0 if given == key[0] else 0.0


def _single_key(answer: Sequence[str], option_ids: Sequence[str], items: int) -> list[tuple[str, str]]:
    return [] if len(answer) == 1 else [("answer", "a single-choice question has exactly one answer")]


def _single_mistake(answer: Sequence[str], option_ids: Sequence[str], rng: random.Random) -> object:
    return rng.choice([i for i in option_ids if i != answer[0]])


# -- several answers ---------------------------------------------------------------------

def _multiple_share(given: Any, key: Sequence[str]) -> float:
    # Every correct option picked earns a share; every wrong pick takes one back.
    if not _is_list_of_ids(given):
        return 0.0
    picked = set(given)
    right = len(picked & set(key))
    wrong = len(picked - set(key))
    return max(0.0, (right - wrong) / len(key))


def _multiple_key(answer: Sequence[str], option_ids: Sequence[str], items: int) -> list[tuple[str, str]]:
    return [] if len(set(answer)) == len(answer) else [("answer", "lists an option twice")]


def _multiple_mistake(answer: Sequence[str], option_ids: Sequence[str], rng: random.Random) -> object:
    wrong = [i for i in option_ids if i not in answer]
    return list(answer[:-1]) + wrong[:1]  # misses one, ticks one wrong


# -- ordering ----------------------------------------------------------------------------

def _longest_in_order(given: Sequence[str | None], key: Sequence[str]) -> int:
    """How many of the learner's steps are already in the key's order (the longest
    common subsequence); the other steps are the ones to move."""
    given = list(given)[: len(key)]
    row = [0] * (len(key) + 1)  # row[j]: the longest for the steps read so far against key[:j]
    for g in given:
        diagonal = 0
        for j, k in enumerate(key, start=1):
            above = row[j]
            row[j] = diagonal + 1 if g is not None and g == k else max(above, row[j - 1])
            diagonal = above
    return row[-1]


def _ordering_share(given: Any, key: Sequence[str]) -> float:
    # Full credit for the key's order; each step that would have to be moved to reach it
    # costs a share (n - 1 moves at most). Counting steps in their exact slot instead would
    # give 0 to a learner who put only the first step last.
    if not _is_list_of_ids(given):
        return 0.0
    if len(key) < 2:
        return 1.0 if list(given) == list(key) else 0.0
    return max(0.0, (_longest_in_order(given, key) - 1) / (len(key) - 1))


def _ordering_key(answer: Sequence[str], option_ids: Sequence[str], items: int) -> list[tuple[str, str]]:
    if sorted(answer) != sorted(option_ids):
        return [("answer", "must list every option exactly once, in the right order")]
    return []


def _swap_first_two(answer: Sequence[str], option_ids: Sequence[str], rng: random.Random) -> object:
    shuffled = list(answer)
    shuffled[0], shuffled[1] = shuffled[1], shuffled[0]  # two swapped
    return shuffled


# -- matching ----------------------------------------------------------------------------

def _matching_share(given: Any, key: Sequence[str]) -> float:
    # A share for each item matched right.
    if not _is_list_of_ids(given):
        return 0.0
    hits = sum(1 for g, k in zip(given, key) if g == k)
    return hits / len(key)


def _matching_key(answer: Sequence[str], option_ids: Sequence[str], items: int) -> list[tuple[str, str]]:
    if items < 2:
        return [("items", "a matching question needs at least 2 items")]
    if len(answer) != items:
        return [("answer", f"needs one option per item ({items}), in item order")]
    return []


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("single", "Choose **one** answer.", "single_choice", False, False,
         _single_share, _single_key, _single_mistake),
    Kind("multiple", "Tick **every** answer that applies (partial credit; a wrong tick takes one back).",
         "multiple_choice", False, False, _multiple_share, _multiple_key, _multiple_mistake),
    Kind("ordering", "Put the steps **in order** with the drop-down lists (partial credit: each step you would "
         "have to move costs a share).", "ordering", False, True, _ordering_share, _ordering_key, _swap_first_two),
    Kind("matching", "**Match** each item with the drop-down lists (partial credit for each match).",
         "matching", True, True, _matching_share, _matching_key, _swap_first_two),
)}
KIND_NAMES = tuple(KINDS)
