"""The role-play engine: state carried forward, conditions, reachability, the best path.

One place for the role-play rules, used by the schema (validation), the builder (the
instructor's solution), the learner's player (curriculum/learner.py), the hidden tests'
scoring (curriculum/scoring.py), the author's map (autograde/course/rolemap.py), the demo and
the tests. Standard library only: it runs in learners' kernels and in the grading sandbox.

A role-play is a plain dict (what the builder writes into the notebook, or
``RolePlay.model_dump()``): ``steps`` (each with ``choices``) and ``endings``; the first step is
the start. The **state** of a play is the set of its flags: taking choice ``c`` at step ``s``
sets the flag ``s.c`` and every flag in the choice's ``sets``. A **condition** (``when``) is a
list of terms, all of which must hold: ``flag`` (set earlier) or ``not flag``. Conditions decide

* which choices a step offers (a choice's ``when``),
* a step's text (the first of its ``variants`` whose ``when`` holds, else ``situation``),
* a choice's reaction (the first of its ``reactions`` whose ``when`` holds, else ``reaction``),
* where a choice leads (the first of its ``branches`` whose ``when`` holds, else ``next``).

A step's text and its offered choices read the flags as the learner arrives; a choice's reaction
and branches read them after the choice's own flags are set.
"""

from __future__ import annotations

from collections import deque

OUTCOME_RANK = {"resolved": 0, "partly resolved": 1, "not resolved": 2}
QUALITY_SHARE = {"best": 1.0, "acceptable": 0.5, "poor": 0.0}


def as_data(rp) -> dict:
    """A role-play as a plain dict: a schema record (``RolePlay``) is dumped, a dict is kept."""
    return rp.model_dump() if hasattr(rp, "model_dump") else rp


def choice_id(choice: dict, n: int) -> str:
    """A choice's id; a choice written without one is named by its place (a, b, c)."""
    return choice.get("id") or chr(ord("a") + n)


def term_flag(term: str) -> tuple[bool, str]:
    """``"not x"`` -> (False, "x"); ``"x"`` -> (True, "x")."""
    term = term.strip()
    return (False, term[4:].strip()) if term.startswith("not ") else (True, term)


def holds(when, flags) -> bool:
    return all((flag in flags) == wanted for wanted, flag in map(term_flag, when or []))


def _first(variants, flags, field: str, default: str) -> str:
    for v in variants or []:
        if holds(v.get("when"), flags):
            return v[field]
    return default


def situation(step: dict, flags) -> str:
    return _first(step.get("variants"), flags, "situation", step["situation"])


def offered(step: dict, flags) -> list[tuple[int, dict]]:
    """(place in the file, choice) for each choice the step offers under ``flags``."""
    return [(n, c) for n, c in enumerate(step["choices"]) if holds(c.get("when"), flags)]


def take(step: dict, n: int, flags) -> tuple[frozenset, str, str]:
    """Take choice ``n`` of ``step``: (the flags after it, its reaction, the id it leads to)."""
    choice = step["choices"][n]
    after = frozenset(flags) | set(choice.get("sets") or []) | {f"{step['id']}.{choice_id(choice, n)}"}
    target = _first(choice.get("branches"), after, "next", choice["next"])
    return after, _first(choice.get("reactions"), after, "text", choice["reaction"]), target


def replay(rp: dict, path) -> tuple[str, frozenset, list[dict]] | None:
    """Follow a saved path (``[{"step": id, "choice": choice id}, ...]``) from the first step:
    (where it stands: a step or ending id, the flags, the path as taken), or None when the
    path is not one the play allows (a damaged or hand-edited record)."""
    steps = {s["id"]: s for s in rp["steps"]}
    at, flags = rp["steps"][0]["id"], frozenset()
    for taken in path:
        step = steps.get(at)
        if step is None or not isinstance(taken, dict) or taken.get("step") != at:
            return None
        places = {choice_id(c, n): n for n, c in offered(step, flags)}
        if not isinstance(taken.get("choice"), str) or taken["choice"] not in places:
            return None
        flags, _, at = take(step, places[taken["choice"]], flags)
    return at, flags, list(path)


def declared_flags(rp: dict) -> set[str]:
    """Every flag a condition may name: each choice's own ``step.choice`` and what choices set."""
    names = set()
    for step in rp["steps"]:
        for n, c in enumerate(step["choices"]):
            names.add(f"{step['id']}.{choice_id(c, n)}")
            names.update(c.get("sets") or [])
    return names


def conditions(rp: dict):
    """(where, when) for every condition in the play, ``where`` as the schema names places."""
    for s_n, step in enumerate(rp["steps"]):
        swhere = f"steps[{s_n}] (id '{step['id']}')"
        for v_n, v in enumerate(step.get("variants") or []):
            yield f"{swhere} > variants[{v_n}], field 'when'", v.get("when")
        for c_n, c in enumerate(step["choices"]):
            cwhere = f"{swhere} > choices[{c_n}] (id '{choice_id(c, c_n)}')"
            yield f"{cwhere}, field 'when'", c.get("when")
            for field in ("reactions", "branches"):
                for v_n, v in enumerate(c.get(field) or []):
                    yield f"{cwhere} > {field}[{v_n}], field 'when'", v.get("when")


class Map:
    """Every state a learner can reach, found by one search from the first step with no flags.

    ``states``: (step id, flags) reached; ``edges``: state -> [(choice place, target state or
    ending id)]; ``reached``: step and ending ids reached; ``taken``: (step id, choice place)
    offered somewhere; ``stuck``: states where no choice is offered; ``cycle``: a list of step ids
    that can repeat for ever, or None."""

    def __init__(self, rp: dict):
        steps = {s["id"]: s for s in rp["steps"]}
        endings = {e["id"] for e in rp["endings"]}
        start = (rp["steps"][0]["id"], frozenset())
        self.states, self.edges, self.taken, self.stuck = {start}, {}, set(), []
        self.reached = {start[0]}
        queue = deque([start])
        while queue:
            state = queue.popleft()
            at, flags = state
            out = self.edges[state] = []
            choices = offered(steps[at], flags)
            if not choices:
                self.stuck.append(state)
            for n, _c in choices:
                self.taken.add((at, n))
                after, _, target = take(steps[at], n, flags)
                self.reached.add(target)
                if target in endings:
                    out.append((n, target))
                elif target in steps:
                    nxt = (target, after)
                    out.append((n, nxt))
                    if nxt not in self.states:
                        self.states.add(nxt)
                        queue.append(nxt)
        self.cycle = self._cycle(start)

    def _cycle(self, start) -> list[str] | None:
        """Steps of a loop a learner can go round for ever (depth-first, iteratively)."""
        colour, stack, trail = {start: 1}, [(start, iter(self.edges[start]))], [start]
        while stack:
            state, it = stack[-1]
            for _n, nxt in it:
                if not isinstance(nxt, tuple):
                    continue
                if colour.get(nxt) == 1:
                    loop = trail[trail.index(nxt):] + [nxt]
                    return [s for s, _ in loop]
                if nxt not in colour:
                    colour[nxt] = 1
                    trail.append(nxt)
                    stack.append((nxt, iter(self.edges[nxt])))
                    break
            else:
                colour[state] = 2
                trail.pop()
                stack.pop()
        return None


def graph_problems(rp: dict) -> list[tuple[str, str]]:
    """(where, what) for everything that makes a play unfinishable or partly dead: a condition
    naming no flag of the play, a step, ending or choice no path reaches, a state where no choice
    is offered, a loop that can go on for ever. Choices leading to unknown ids are the schema's
    to report (they are ignored here)."""
    rp = as_data(rp)
    problems = []
    known = declared_flags(rp)
    for where, when in conditions(rp):
        for term in when or []:
            wanted, flag = term_flag(term)
            if flag not in known:
                problems.append((where, f"'{flag}' is not a flag of this role-play (a choice's 'step.choice', "
                                        f"or a name in some choice's 'sets'; known: {sorted(known)})"))
    if problems:
        return problems  # reachability under conditions that name nothing would mislead
    m = Map(rp)
    first = rp["steps"][0]["id"]
    for s_n, step in enumerate(rp["steps"]):
        where = f"steps[{s_n}] (id '{step['id']}')"
        if step["id"] not in m.reached:
            problems.append((where, f"step '{step['id']}' is never reached from the first step '{first}'"))
            continue
        for c_n, c in enumerate(step["choices"]):
            if (step["id"], c_n) not in m.taken:
                problems.append((f"{where} > choices[{c_n}] (id '{choice_id(c, c_n)}')",
                                 "this choice is never offered: its 'when' holds on no path to this step"))
    for e_n, ending in enumerate(rp["endings"]):
        if ending["id"] not in m.reached:
            problems.append((f"endings[{e_n}] (id '{ending['id']}')",
                             f"ending '{ending['id']}' is never reached from the first step '{first}'"))
    index = {s["id"]: n for n, s in enumerate(rp["steps"])}
    for at, flags in sorted(m.stuck, key=lambda s: (index[s[0]], sorted(s[1]))):
        problems.append((f"steps[{index[at]}] (id '{at}')",
                         f"a dead end: no choice is offered when the learner arrives with flags {sorted(flags)}"))
    if m.cycle:
        problems.append((f"steps[{index[m.cycle[0]]}] (id '{m.cycle[0]}')",
                         "a path can go round for ever: " + " -> ".join(m.cycle) + " (every path must end)"))
    return problems


def paths(rp: dict) -> list[tuple[list[dict], str]]:
    """Every complete path, ``([{"step", "choice"}...], ending id)`` (the play must be valid)."""
    rp = as_data(rp)
    steps = {s["id"]: s for s in rp["steps"]}
    endings = {e["id"] for e in rp["endings"]}
    out, stack = [], [(rp["steps"][0]["id"], frozenset(), [])]
    while stack:
        at, flags, path = stack.pop()
        for n, c in offered(steps[at], flags):
            after, _, target = take(steps[at], n, flags)
            taken = path + [{"step": at, "choice": choice_id(c, n)}]
            if target in endings:
                out.append((taken, target))
            elif target in steps:
                stack.append((target, after, taken))
    return out


def path_share(path, quality: dict[str, str]) -> float:
    """The share of a play's points a path earns: the mean of its choices' shares (best 1,
    acceptable 0.5, poor 0), ``quality`` keyed ``step.choice``."""
    if not path:
        return 0.0
    return sum(QUALITY_SHARE.get(quality.get(f"{p['step']}.{p['choice']}"), 0.0) for p in path) / len(path)


def qualities(rp: dict) -> dict[str, str]:
    return {f"{s['id']}.{choice_id(c, n)}": c["quality"] for s in rp["steps"] for n, c in enumerate(s["choices"])
            if c.get("quality")}


def winning_path(rp: dict) -> tuple[list[dict], str]:
    """The best path: the highest share of points, then the best ending (resolved before partly
    resolved before not resolved), then the fewest steps, then the first in the file. What the
    instructor's solution plays and the debrief shows once it may. Raises ValueError for a play
    with no complete path (validation refuses those: :func:`graph_problems`)."""
    rp = as_data(rp)
    quality = qualities(rp)
    rank = {e["id"]: OUTCOME_RANK[e["outcome"]] for e in rp["endings"]}
    every = paths(rp)
    if not every:
        raise ValueError(f"role-play '{rp['id']}' has no ending reachable from its first step")
    order = {(s["id"], choice_id(c, n)): (k, n) for k, s in enumerate(rp["steps"]) for n, c in enumerate(s["choices"])}
    return min(every, key=lambda pe: (-path_share(pe[0], quality), rank[pe[1]], len(pe[0]),
                                      [order[(p["step"], p["choice"])] for p in pe[0]]))
