"""How long one careful pass through each module takes, estimated from its words.

    .venv/bin/python benchmarks/reading_time.py      # after `hcwh build`

Method (stated in the README's "Editing content"):
* words read = the released notebook's markdown cells, without each role-play's collapsed
  "text version" (read only if the buttons do not appear), plus, for each role-play, one play
  along its best path (each step's situation, every choice offered, the chosen reaction and
  coaching, the ending's debrief), plus every question option and matching choice (shown by the
  widgets, not in the markdown);
* reading at 200 words a minute;
* 30 s to weigh each role-play decision, 1 min to answer each question, 5 min per reflection and
  12 min per writing task (a reflection whose prompt starts "Write" or "Writing task"), and 5 min
  to run, validate and submit the notebook.
Replays, which the course encourages, are not counted; nor is a slower reader's extra time.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from curriculum import roleplay
from curriculum.builder import load_modules

ROOT = Path(__file__).resolve().parents[1]
WPM = 200
DECISION_S, QUESTION_S, REFLECTION_S, WRITING_S, SUBMIT_S = 30, 60, 5 * 60, 12 * 60, 5 * 60


def words(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9’'()-]+", text))


def notebook_words(module_id: str) -> int:
    nb = json.loads((ROOT / "release" / module_id / f"{module_id}.ipynb").read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return words(re.sub(r"<details>.*?</details>", " ", text, flags=re.DOTALL))


def play_words(rp) -> tuple[int, int]:
    """(words read on one play along the best path, decisions on it)."""
    data = roleplay.as_data(rp)
    steps = {s["id"]: s for s in data["steps"]}
    endings = {e["id"]: e for e in data["endings"]}
    path, ending = roleplay.winning_path(rp)
    flags, total = frozenset(), 0
    for taken in path:
        step = steps[taken["step"]]
        total += words(roleplay.situation(step, flags))
        offered = roleplay.offered(step, flags)
        total += sum(words(c["text"]) for _, c in offered)
        n = next(n for n, c in offered if roleplay.choice_id(c, n) == taken["choice"])
        flags, reaction, _ = roleplay.take(step, n, flags)
        total += words(reaction) + words(step["choices"][n]["coaching"])
    return total + words(endings[ending]["debrief"]), len(path)


def estimate(module) -> dict:
    read = notebook_words(module.id)
    decisions = 0
    for rp in module.roleplays:
        w, d = play_words(rp)
        read, decisions = read + w, decisions + d
    read += sum(words(o.text) for q in module.questions for o in q.options)
    writing = sum(1 for r in module.reflections if r.prompt.lstrip().startswith(("Write", "Writing task")))
    seconds = (read / WPM * 60 + decisions * DECISION_S + len(module.questions) * QUESTION_S
               + writing * WRITING_S + (len(module.reflections) - writing) * REFLECTION_S + SUBMIT_S)
    return {"module": module.id, "words": read, "decisions": decisions, "questions": len(module.questions),
            "reflections": len(module.reflections) - writing, "writing": writing,
            "minutes": seconds / 60, "stated": 5 * math.ceil(seconds / 60 / 5)}


def main() -> None:
    print("| Module | Words read | Decisions | Questions | Reflections | Writing tasks | Estimate | Stated |")
    print("|---|---|---|---|---|---|---|---|")
    total = 0.0
    for m in load_modules():
        e = estimate(m)
        total += e["minutes"]
        print(f"| {e['module']} | {e['words']:,} | {e['decisions']} | {e['questions']} | {e['reflections']} "
              f"| {e['writing']} | {e['minutes']:.0f} min | about {e['stated']} min |")
    print(f"| **All** | | | | | | **{total / 60:.1f} h** | |")


if __name__ == "__main__":
    main()
