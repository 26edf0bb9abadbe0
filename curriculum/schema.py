"""The content schema: typed, validated, versioned records for one module.

A trainer writes one YAML file per module in ``curriculum/modules/``;
:func:`load_module` turns it into a :class:`Module` or raises one
:class:`ContentError` that names the file, every bad item and its field.
Nothing is written while loading, so invalid content can never half-build.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .framework import Framework, load_framework
from .kinds import KIND_NAMES, KINDS
from . import roleplay
from .errors import HcwhError

SCHEMA_VERSION = 1

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,40}$", description="lower-case id: letters, digits, dashes")]
ItemId = Annotated[str, Field(
    pattern=r"^([A-Z]{4}(-[BC][0-9]+)?|SERVICE|PARTNERSHIP|STEWARDSHIP|INNOVATION)$",
    description="a framework item (e.g. AUTH-B1, ENGA-C4), a whole standard (AUTH) or a value (SERVICE)",
)]
Text = Annotated[str, Field(min_length=1, description="plain text or Markdown")]
Points = Annotated[float, Field(gt=0, le=100, description="points this exercise is worth")]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Explained(Record):
    """A framework item quoted in the module, with what it means at city work."""

    item: ItemId = Field(description="the expected behavior or essential consideration quoted")
    in_city_work: Text = Field(description="what it looks like at a city counter, phone or inbox")


Term = Annotated[str, Field(
    pattern=r"^(not )?[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)?$",
    description="a flag that must be set (``called-back``, or ``greet.offer-spanish``: that choice was taken), "
                "or ``not`` and a flag that must not be",
)]
Condition = Annotated[list[Term], Field(min_length=1, description="every term must hold")]


class SituationVariant(Record):
    """A step's text when earlier choices set the scene differently."""

    when: Condition
    situation: Text


class ReactionVariant(Record):
    """A choice's reaction when earlier choices change how the resident takes it."""

    when: Condition
    text: Text


class Branch(Record):
    """Where a choice leads instead of ``next`` when earlier choices make it so."""

    when: Condition
    next: Slug


class Choice(Record):
    """One option at a role-play decision point."""

    id: Slug = Field(description="stable id within its step; ``step.id`` names it in conditions and answers")
    text: Text = Field(description="what the employee says or does")
    quality: Literal["best", "acceptable", "poor"] = Field(
        description="how good a choice it is: recorded with the learner's path; scores a path-scored play")
    reaction: Text = Field(description="how the resident reacts: the consequence")
    reactions: list[ReactionVariant] = Field(default_factory=list, description="other reactions under conditions (first that holds)")
    coaching: Text = Field(description="coaching that names the behavior shown or missed")
    exercises: list[ItemId] = Field(default_factory=list, description="framework items this choice exercises")
    when: list[Term] = Field(default_factory=list, description="offered only when every term holds")
    sets: list[Slug] = Field(default_factory=list, description="flags this choice sets for later steps")
    next: Slug = Field(description="id of the next step or ending")
    branches: list[Branch] = Field(default_factory=list, description="other next steps under conditions (first that holds)")


class Step(Record):
    """A decision point in a role-play."""

    id: Slug
    situation: Text = Field(description="what is happening now, from the employee's side")
    variants: list[SituationVariant] = Field(default_factory=list, description="other texts under conditions (first that holds)")
    choices: list[Choice] = Field(min_length=2)


class Ending(Record):
    id: Slug
    outcome: Literal["resolved", "partly resolved", "not resolved"] = Field(
        description="how it went, in words (never by colour alone)"
    )
    debrief: Text = Field(description="what happened and why, tied to the standard")


class RolePlay(Record):
    """A branching resident scenario; the first step is the start."""

    id: Slug
    title: Text
    setting: Text = Field(description="who the resident is, where and how they reach the city")
    scoring: Literal["completion", "path"] = Field(
        description="``completion``: low-stakes practice, full points for playing to an ending; ``path``: the "
                    "first complete play earns the mean of its choices' shares (best 1, acceptable 0.5, poor 0)")
    points: Points = Field(default=1, description="what the play is worth")
    steps: list[Step] = Field(min_length=1)
    endings: list[Ending] = Field(min_length=1)


class Option(Record):
    id: Slug
    text: Text


class Question(Record):
    """An autograded scenario question, answered by clicking.

    kinds: ``single`` (answer: one option id), ``multiple`` (answer: every correct
    option id; partial credit), ``ordering`` (answer: all option ids in the right
    order; partial credit: a share lost per step to move), ``matching`` (``items`` to ``options``;
    answer: one option id per item, in item order; partial credit per item).
    """

    id: Slug
    kind: Literal[KIND_NAMES]  # type: ignore[valid-type] - the kinds table, curriculum/kinds.py
    prompt: Text = Field(description="the scenario and the question")
    items: list[Option] = Field(default_factory=list, description="matching only: what to match")
    options: list[Option] = Field(min_length=2)
    answer: list[Slug] = Field(min_length=1, description="the key: never released to learners")
    points: Points = 2
    exercises: list[ItemId] = Field(min_length=1, description="framework items this question exercises")
    explanation: Text | None = Field(None, description="why the best answer is best, in the framework's terms; "
                                     "shown with the score after grading (in feedback), never before")


class Criterion(Record):
    text: Text
    points: Points


class Reflection(Record):
    """A written reflection graded by a person in formgrader against its rubric."""

    id: Slug
    prompt: Text
    exercises: list[ItemId] = Field(min_length=1)
    rubric: list[Criterion] = Field(min_length=1)
    example_answer: Text = Field(description="a strong answer for graders: never released to learners")

    @property
    def points(self) -> float:
        return sum(c.points for c in self.rubric)


class Module(Record):
    """One notebook module: the welcome module (no standard) or one standard."""

    schema_version: Literal[1] = Field(description="version of this schema the file is written for")
    id: Annotated[str, Field(pattern=r"^[0-9]{2}-[a-z][a-z-]*$", description="NN-name; also the assignment name")]
    title: Text
    standard: Literal["AUTH", "ANTI", "ENGA", "CONS", "ACCT"] | None = Field(
        default=None, description="the standard taught; none for the welcome module"
    )
    introduction: Text
    framework_overview: bool = Field(
        default=False, description="show the framework's purpose, values, North Star and the five standards (welcome module)"
    )
    behaviors: list[Explained] = Field(default_factory=list)
    considerations: list[Explained] = Field(default_factory=list)
    roleplays: list[RolePlay] = Field(default_factory=list)
    questions: list[Question] = Field(default_factory=list)
    reflections: list[Reflection] = Field(default_factory=list)
    find_out: list[Text] = Field(
        default_factory=list,
        description="facts that belong to the city (a contact, a procedure, a legal position) for the learner to "
                    "confirm with their supervisor: a 'Find out in your first two weeks' checklist, not graded",
    )

    @property
    def points(self) -> float:
        return (
            sum(r.points for r in self.roleplays)
            + sum(q.points for q in self.questions)
            + sum(r.points for r in self.reflections)
        )

    @property
    def completion_points(self) -> float:
        """Points given for playing practice role-plays to an ending: completion credit, not a score."""
        return sum(r.points for r in self.roleplays if r.scoring == "completion")

    def exercised_items(self) -> set[str]:
        tags: set[str] = set()
        for rp in self.roleplays:
            for step in rp.steps:
                for choice in step.choices:
                    tags.update(choice.exercises)
        for q in self.questions:
            tags.update(q.exercises)
        for r in self.reflections:
            tags.update(r.exercises)
        return tags


class ContentError(HcwhError, ValueError):
    """Invalid content. ``problems`` holds (where, message) pairs."""

    def __init__(self, path: Path | str, problems: list[tuple[str, str]]):
        self.path = str(path)
        self.problems = problems
        lines = [f"{self.path}: {len(problems)} problem(s) in the content; nothing was written"]
        lines += [f"  - {where}: {message}" for where, message in problems]
        super().__init__("\n".join(lines))


def _where(data: object, loc: tuple) -> str:
    """Render a pydantic location as ``questions[2] (id 'q-x') field 'answer'``."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            parts[-1] = f"{parts[-1]}[{key}]" if parts else f"[{key}]"
            node = node[key] if isinstance(node, list) and key < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                parts[-1] += f" (id '{node['id']}')"
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    if not parts:
        return "file"
    *items, field = parts
    return (" > ".join(items) + f", field '{field}'") if items else f"field '{field}'"


def parse_module(text: str, path: Path | str = "<text>") -> Module:
    """Parse and validate module YAML; raise :class:`ContentError` on any problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        raise ContentError(path, [(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    if not isinstance(data, dict):
        raise ContentError(path, [("file", "expected a mapping of fields (title, questions, ...) at the top")])
    try:
        module = Module.model_validate(data)
    except ValidationError as exc:
        problems = [(_where(data, err["loc"]), err["msg"]) for err in exc.errors()]
        raise ContentError(path, problems) from None
    problems = check_module(module, load_framework())
    expected_id = Path(path).stem
    if Path(path).suffix == ".yaml" and module.id != expected_id:
        problems.insert(0, ("field 'id'", f"is '{module.id}' but the file is named '{expected_id}.yaml'"))
    if problems:
        raise ContentError(path, problems)
    return module


def read_records(path: Path | str) -> Module | None:
    """The file's records if they hold as types, cross-field rules not applied (else None):
    what the author's role-play map draws, problems and all, before validation reports them."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return Module.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError):
        return None


def load_module(path: Path | str) -> Module:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContentError(path, [("file", f"cannot be read: {exc.strerror}")]) from None
    return parse_module(text, path)


def check_module(module: Module, framework: Framework) -> list[tuple[str, str]]:
    """Cross-field rules that a field type cannot express."""
    problems: list[tuple[str, str]] = []
    known = set(framework.items) | {v.id for v in framework.values} | {s.id for s in framework.standards}

    def tags(where: str, ids: list[str]) -> None:
        for tag in ids:
            if tag not in known:
                problems.append((where, f"'{tag}' is not a framework item or value (ids look like AUTH-B1, ENGA-C4 or SERVICE)"))

    ids: dict[str, str] = {}

    def unique(where: str, ident: str) -> None:
        if ident in ids:
            problems.append((where, f"id '{ident}' is used twice (also at {ids[ident]})"))
        ids.setdefault(ident, where)

    if module.standard:
        standard = framework.standard(module.standard)
        for group, expected, given in (
            ("behaviors", standard.behaviors, module.behaviors),
            ("considerations", standard.considerations, module.considerations),
        ):
            want = [i.id for i in expected]
            have = [e.item for e in given]
            if have != want:
                problems.append((f"field '{group}'", f"must explain every item of {standard.name} in order: {want}; found {have}"))

    for n, rp in enumerate(module.roleplays):
        where = f"roleplays[{n}] (id '{rp.id}')"
        unique(where, rp.id)
        targets = {s.id for s in rp.steps} | {e.id for e in rp.endings}
        if len(targets) != len(rp.steps) + len(rp.endings):
            problems.append((where, "step and ending ids must be distinct"))
        for s_n, step in enumerate(rp.steps):
            swhere = f"{where} > steps[{s_n}] (id '{step.id}')"
            choice_ids = [c.id for c in step.choices]
            if len(set(choice_ids)) != len(choice_ids):
                problems.append((swhere + ", field 'choices'", f"choice ids must be distinct within a step: {choice_ids}"))
            if "best" not in [c.quality for c in step.choices]:
                problems.append((swhere + ", field 'choices'", "no choice has quality 'best': every decision needs one"))
            for c_n, choice in enumerate(step.choices):
                cwhere = f"{swhere} > choices[{c_n}] (id '{choice.id}')"
                tags(cwhere + ", field 'exercises'", choice.exercises)
                leads = [(", field 'next'", choice.next)]
                leads += [(f" > branches[{b_n}], field 'next'", b.next) for b_n, b in enumerate(choice.branches)]
                for fld, target in leads:
                    if target not in targets:
                        problems.append((cwhere + fld, f"'{target}' is neither a step nor an ending of this role-play"))
        if not any(p[0].startswith(where) for p in problems):  # the graph of a play whose records hold
            for gwhere, what in roleplay.graph_problems(rp):  # conditions, reachability, dead ends, loops
                problems.append((f"{where} > {gwhere}", what))

    for n, q in enumerate(module.questions):
        where = f"questions[{n}] (id '{q.id}')"
        unique(where, q.id)
        tags(where + ", field 'exercises'", q.exercises)
        option_ids = [o.id for o in q.options]
        if len(set(option_ids)) != len(option_ids):
            problems.append((where + ", field 'options'", "option ids must be distinct"))
        for a in q.answer:
            if a not in option_ids:
                problems.append((where + ", field 'answer'", f"'{a}' is not one of the options {option_ids}"))
        kind = KINDS[q.kind]
        for fld, message in kind.key_problems(q.answer, option_ids, len(q.items)):
            problems.append((where + f", field '{fld}'", message))
        if not kind.with_items and q.items:
            problems.append((where + ", field 'items'", "only matching questions have items"))

    for n, r in enumerate(module.reflections):
        where = f"reflections[{n}] (id '{r.id}')"
        unique(where, r.id)
        tags(where + ", field 'exercises'", r.exercises)

    if module.standard and not (module.roleplays and module.questions and module.reflections):
        problems.append(("file", "a standard module needs role-plays, questions and reflections"))
    return problems
