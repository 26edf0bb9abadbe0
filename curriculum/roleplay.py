"""The role-play graph: which steps a learner can reach, and the path the instructor plays.

One place for the graph rules, used by the schema (validation), the builder (the
instructor's solution), the demo and the tests. A role-play is steps (each with
choices) and endings; every choice leads to a step or an ending by id, and the
first step is the start.

* :func:`graph_problems` — what makes a role-play unfinishable: a step no path
  from the first step reaches, or a reached step from which no ending can be
  reached (a learner there would click forever).
* :func:`winning_path` — the shortest path to the best ending reachable.
"""

from __future__ import annotations

from collections import deque

# ``rp`` below is a ``curriculum.schema.RolePlay``; the schema imports this module, so this
# module reads only its ``steps`` (ids, choices, endings) and imports nothing of the schema.

OUTCOME_RANK = {"resolved": 0, "partly resolved": 1, "not resolved": 2}


def _edges(rp) -> dict[str, list[str]]:
    """step id -> the ids its choices lead to (steps and endings alike)."""
    return {s.id: [c.next for c in s.choices] for s in rp.steps}


def reachable(rp) -> set[str]:
    """Every step and ending some sequence of clicks from the first step arrives at
    (the first step included). One breadth-first search."""
    edges = _edges(rp)
    start = rp.steps[0].id
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in edges.get(queue.popleft(), []):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def reaches_an_ending(rp) -> set[str]:
    """The steps from which some sequence of clicks arrives at an ending."""
    edges = _edges(rp)
    done = {e.id for e in rp.endings}
    good: set[str] = set()
    changed = True
    while changed:  # a fixed point over at most len(steps) rounds
        changed = False
        for step, targets in edges.items():
            if step not in good and any(t in done or t in good for t in targets):
                good.add(step)
                changed = True
    return good


def graph_problems(rp) -> list[tuple[str, str]]:
    """(where, what) for each step or ending that makes the role-play unfinishable or
    dead: never reached from the first step, or reached but with no way to an ending.
    Choices that lead to unknown ids are the schema's to report; they are ignored here."""
    reached = reachable(rp)
    finishing = reaches_an_ending(rp)
    problems = []
    for n, step in enumerate(rp.steps):
        where = f"steps[{n}] (id '{step.id}')"
        if step.id not in reached:
            problems.append((where, f"step '{step.id}' is never reached from the first step '{rp.steps[0].id}'"))
        elif step.id not in finishing:
            problems.append((where, f"no ending can be reached from step '{step.id}': a learner there could "
                                    "only go round in circles"))
    for n, ending in enumerate(rp.endings):
        if ending.id not in reached:
            problems.append((f"endings[{n}] (id '{ending.id}')",
                             f"ending '{ending.id}' is never reached from the first step '{rp.steps[0].id}'"))
    return problems


def winning_path(rp) -> tuple[list[dict], str]:
    """Shortest path to the best ending reachable (resolved before partly resolved before
    not resolved; then fewest steps): ``([{"step": id, "choice": n}, ...], ending id)``.
    What the instructor's solution plays. Raises ValueError for a role-play that cannot
    be finished (validation refuses those: :func:`graph_problems`)."""
    endings = {e.id: e for e in rp.endings}
    steps = {s.id: s for s in rp.steps}
    best: tuple[int, int, list[dict], str] | None = None
    queue = deque([(rp.steps[0].id, [])])
    seen = set()
    while queue:
        step_id, path = queue.popleft()
        if step_id in seen or step_id not in steps:
            continue
        seen.add(step_id)
        for n, choice in enumerate(steps[step_id].choices):
            taken = path + [{"step": step_id, "choice": n}]
            if choice.next in endings:
                key = (OUTCOME_RANK[endings[choice.next].outcome], len(taken))
                if best is None or key < best[:2]:
                    best = (*key, taken, choice.next)
            else:
                queue.append((choice.next, taken))
    if best is None:
        raise ValueError(f"role-play '{rp.id}' has no ending reachable from its first step")
    return best[2], best[3]
