"""The author's picture of a role-play: one SVG per play, written by ``hcwh check`` and
``hcwh build`` (``<state>/roleplay-maps/NN-module/<play id>.svg``), opened in any browser.

Steps and endings are boxes in columns by their distance from the first step; each choice is
an arrow labelled with its id, quality, conditions (``if ...``) and the flags it sets; a branch
is one more arrow (``c if x``). What validation refuses is drawn too, so an author sees where
it is: a step, ending or choice no path reaches (dashed, "never reached" / "never offered"), a
dead end (a state where no choice is offered), a loop with no way out, a choice leading to an
id that does not exist. Pure Python, no layout program: simple columns are enough for plays of
a handful of steps.
"""

from __future__ import annotations

import textwrap
from collections import deque
from pathlib import Path
from xml.sax.saxutils import escape

from curriculum import roleplay

COL_W, BOX_W, LINE_H, GAP_Y, PAD = 460, 210, 15, 50, 20
QUALITY_COLOUR = {"best": "#1a7f37", "acceptable": "#9a6700", "poor": "#6e7781"}
PROBLEM = "#cf222e"


def _edges(rp: dict) -> list[dict]:
    """One arrow per choice's ``next`` and per branch."""
    out = []
    for step in rp["steps"]:
        for n, c in enumerate(step["choices"]):
            cid = roleplay.choice_id(c, n)
            label = [f"{cid}: {c.get('quality') or '?'}"]
            if c.get("when"):
                label.append("offered if " + " and ".join(c["when"]))
            if c.get("sets"):
                label.append("sets " + ", ".join(c["sets"]))
            out.append({"src": step["id"], "dst": c["next"], "choice": (step["id"], n), "label": label,
                        "quality": c.get("quality")})
            for b in c.get("branches") or []:
                out.append({"src": step["id"], "dst": b["next"], "choice": (step["id"], n),
                            "label": [f"{cid} if " + " and ".join(b["when"])], "quality": c.get("quality")})
    return out


def _problems(rp: dict):
    """(reached ids or None, offered (step, place) or None, dead-end step ids, loop step ids)."""
    known = roleplay.declared_flags(rp)
    named = {roleplay.term_flag(t)[1] for _, when in roleplay.conditions(rp) for t in when or []}
    if named - known:
        return None, None, set(), set()  # conditions that name no flag: a search would mislead
    m = roleplay.Map(rp)
    return m.reached, m.taken, {at for at, _ in m.stuck}, set(m.cycle or [])


def svg(rp) -> str:
    """The picture of one play (a schema ``RolePlay`` or its dict) as SVG text."""
    rp = roleplay.as_data(rp)
    steps = {s["id"]: s for s in rp["steps"]}
    endings = {e["id"]: e for e in rp["endings"]}
    edges = _edges(rp)
    reached, taken, stuck, loop = _problems(rp)
    missing = sorted({e["dst"] for e in edges} - set(steps) - set(endings))

    depth = {rp["steps"][0]["id"]: 0}
    queue = deque([rp["steps"][0]["id"]])
    while queue:
        at = queue.popleft()
        for e in edges:
            if e["src"] == at and e["dst"] not in depth:
                depth[e["dst"]] = depth[at] + 1
                queue.append(e["dst"])
    last = max(depth.values(), default=0) + 1
    order = list(steps) + list(endings) + missing
    column = {i: depth.get(i, last) for i in order}

    boxes = {}
    for node in order:
        if node in steps:
            kind, head, body = "step", f"step {node}", steps[node]["situation"]
        elif node in endings:
            kind, head, body = "ending", f"ending {node}", f"outcome: {endings[node]['outcome']}"
        else:
            kind, head, body = "missing", f"'{node}'", "no step or ending has this id"
        notes = []
        if reached is not None and node not in reached and kind != "missing":
            notes.append("NEVER REACHED")
        if node in stuck:
            notes.append("DEAD END on some path")
        if node in loop:
            notes.append("LOOP: no way out")
        if kind == "missing":
            notes.append("MISSING")
        lines = textwrap.wrap(body, 34)[:4]
        boxes[node] = {"kind": kind, "head": head, "lines": lines, "notes": notes,
                       "h": (2 + len(lines) + len(notes)) * LINE_H}
    y_at = {}
    heights = {}
    for node in order:
        col = column[node]
        y_at[node] = heights.get(col, PAD + 90)
        heights[col] = y_at[node] + boxes[node]["h"] + GAP_Y + 40
    width = (max(column.values()) + 1) * COL_W + PAD
    height = max(heights.values()) + PAD

    def anchor(node, side):
        x = PAD + column[node] * COL_W + (BOX_W if side == "out" else 0)
        return x, y_at[node] + boxes[node]["h"] / 2

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<title>{escape(rp["id"])}: {escape(rp["title"])}</title>',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>',
           f'<text x="{PAD}" y="{PAD + 4}" font-size="14" font-weight="bold">{escape(rp["title"])} '
           f'({escape(rp["id"])}, scoring: {escape(rp.get("scoring") or "?")})</text>',
           f'<text x="{PAD}" y="{PAD + 22}">Arrows: choice id: quality; "offered if" and "sets" are its conditions '
           f'and flags; dashed red = never offered, never reached or missing.</text>']
    groups: dict[tuple[str, str], list[dict]] = {}
    for e in edges:  # choices between the same two boxes share one arrow, their labels stacked
        groups.setdefault((e["src"], e["dst"]), []).append(e)
    for (src, dst), group in groups.items():
        (x1, y1), (x2, y2) = anchor(src, "out"), anchor(dst, "in")
        never = [taken is not None and e["choice"] not in taken for e in group]
        dead = all(never) or dst in missing
        qualities = {e["quality"] for e in group}
        colour = PROBLEM if dead else QUALITY_COLOUR.get(qualities.pop(), "#000") if len(qualities) == 1 else "#24292f"
        dash = ' stroke-dasharray="5,4"' if dead else ""
        labels = [(text + (" (NEVER OFFERED)" if k == 0 and off else ""), PROBLEM if off else QUALITY_COLOUR.get(e["quality"], "#000"))
                  for e, off in zip(group, never) for k, text in enumerate(e["label"])]
        if x2 > x1:
            mid = (x1 + x2) / 2
            d = f"M {x1} {y1} C {mid} {y1}, {mid} {y2}, {x2} {y2}"
            lx, ly = mid, (y1 + y2) / 2 - 6 - 12 * (len(labels) - 1)  # stacked above the arrow's middle
        else:  # back or same column: a loop below the boxes
            low = max(y1, y2) + 60
            d = f"M {x1} {y1} C {x1 + 60} {low}, {x2 - 60} {low}, {x2} {y2}"
            lx, ly = (x1 + x2) / 2, low - 10
        out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.5"{dash} marker-end="url(#arrow)"/>')
        for k, (text, fill) in enumerate(labels):
            out.append(f'<text x="{lx:.0f}" y="{ly + k * 12:.0f}" fill="{fill}" text-anchor="middle">{escape(text)}</text>')
    for node in order:
        b = boxes[node]
        x, y = PAD + column[node] * COL_W, y_at[node]
        bad = bool(b["notes"])
        stroke = PROBLEM if bad else "#24292f"
        fill = {"step": "#f6f8fa", "ending": "#ddf4ff", "missing": "#ffebe9"}[b["kind"]]
        dash = ' stroke-dasharray="6,3"' if bad else ""
        out.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{b["h"]}" rx="6" fill="{fill}" '
                   f'stroke="{stroke}" stroke-width="{2 if bad else 1}"{dash}/>')
        out.append(f'<text x="{x + 8}" y="{y + LINE_H}" font-weight="bold">{escape(b["head"])}</text>')
        for j, line in enumerate(b["lines"], start=2):
            out.append(f'<text x="{x + 8}" y="{y + j * LINE_H}">{escape(line)}</text>')
        for j, note in enumerate(b["notes"], start=2 + len(b["lines"])):
            out.append(f'<text x="{x + 8}" y="{y + j * LINE_H}" fill="{PROBLEM}" font-weight="bold">{escape(note)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_maps(module_id: str, roleplays: list, maps_dir: Path) -> list[Path]:
    """Write ``maps_dir/<module_id>/<play id>.svg`` for each play, replacing that module's maps."""
    folder = maps_dir / module_id
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.svg"):
        old.unlink()
    written = []
    for rp in roleplays:
        data = roleplay.as_data(rp)
        path = folder / f"{data['id']}.svg"
        tmp = path.with_suffix(".svg.tmp")
        tmp.write_text(svg(data), encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written
