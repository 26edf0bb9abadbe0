"""No answer key reaches a learner: not in release/, not in the installed wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN MARK SCHEME")


def key_fingerprints(module) -> list[str]:
    """Strings that exist only where a key is: solution calls, hidden tests, example answers."""
    prints = []
    for q in module.questions:
        key = q.answer[0] if q.kind == "single" else list(q.answer)
        prints += [f"module.record({q.id!r}, {key!r})", f"score_question({q.id!r}, {q.kind!r}, {list(q.answer)!r}"]
    for rp in module.roleplays:
        prints.append(f"module.record_roleplay({rp.id!r}")
        if rp.scoring == "path":  # its choices' quality: the key of a scored role-play
            prints.append(f"score_roleplay({rp.id!r}, points={rp.points!r}, scoring='path'")
    for r in module.reflections:
        prints.append(" ".join(r.example_answer.split())[:80])
    return prints


def explanations(module) -> list[str]:
    """Each question's explanation (its first 60 characters): shown after grading, never before."""
    return [" ".join(q.explanation.split())[:60] for q in module.questions if q.explanation]


def leaks(files: dict[str, str], modules, markers: bool = True) -> list[tuple[str, str]]:
    """(file, what) for every key fingerprint found; nbgrader's markers too if asked
    (the builder's code in the wheel names the markers without holding any key)."""
    found = []
    for name, text in files.items():
        flat = " ".join(text.replace("\\n", " ").split())
        for marker in MARKERS if markers else ():
            if marker in text:
                found.append((name, marker))
        for m in modules:
            for fp in key_fingerprints(m):
                if fp in text or fp in flat:
                    found.append((name, fp[:60]))
    return found


def readable(path: Path) -> str:
    """A file's text as a reader sees it: a notebook's cell sources and outputs parsed from its
    JSON (where `"` is stored as `\\"`, so raw text hides quoted keys), plus the raw text."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix != ".ipynb":
        return raw
    try:
        cells = json.loads(raw)["cells"]
    except (ValueError, KeyError, TypeError):
        return raw
    parts = [raw]
    for c in cells:
        parts.append("".join(c["source"]) if isinstance(c["source"], list) else c["source"])
        for o in c.get("outputs", []):
            for v in [o.get("text", "")] + list((o.get("data") or {}).values()):
                parts.append("".join(v) if isinstance(v, list) else v if isinstance(v, str) else json.dumps(v))
    return "\n".join(parts)


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): readable(p) for p in root.rglob("*") if p.is_file()}


def test_the_scan_finds_keys_where_they_are(modules):
    # The source notebooks hold every key: the scan must see them, or it proves nothing.
    found = leaks(tree(ROOT / "source"), modules)
    expected = sum(len(key_fingerprints(m)) for m in modules)
    seen = {fp for _, fp in found if fp not in MARKERS}
    missing = [fp[:60] for m in modules for fp in key_fingerprints(m) if fp[:60] not in seen]
    assert missing == [] and len(seen) == expected, missing  # every key, or the scan proves nothing


def test_release_reveals_no_key(modules):
    assert leaks(tree(ROOT / "release"), modules) == []
    def cell_text(root: Path) -> str:
        cells = [c for nb in root.rglob("*.ipynb") for c in json.loads(nb.read_text())["cells"]]
        sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]
        return " ".join(" ".join(sources).split())

    released, built = cell_text(ROOT / "release"), cell_text(ROOT / "source")
    for m in modules:
        for text in explanations(m):
            assert text in built and text not in released, (m.id, text)  # in the hidden tests only
    assert not list((ROOT / "release").rglob("answers.json"))


def test_a_scored_role_play_carries_no_quality_in_release(modules):
    # practice plays carry each choice's quality (for the recap); scored ones only in the hidden test
    scored = 0
    for m in modules:
        nb = json.loads((ROOT / "release" / m.id / f"{m.id}.ipynb").read_text())
        cells = {c["metadata"].get("nbgrader", {}).get("grade_id"): "".join(c["source"]) for c in nb["cells"]}
        for rp in m.roleplays:
            player = cells[f"{rp.id}-play"]
            assert f"'id': {rp.id!r}" in player  # the player's data is there
            if rp.scoring == "path":
                scored += 1
                assert "'quality'" not in player and "'best'" not in player, rp.id
            else:
                assert "'quality': 'best'" in player, rp.id
    assert scored >= 1


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True)
    (path,) = out.glob("*.whl")
    return path


def test_wheel_reveals_no_key(wheel, modules):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        files = {n: z.read(n).decode("utf-8", errors="replace") for n in names}
    assert any(n.startswith("curriculum/learner.py") for n in names)  # it is the real wheel
    assert not [n for n in names if n.startswith("curriculum/modules/")]
    assert leaks(files, modules, markers=False) == []
    whole = " ".join(" ".join(files.values()).split())
    assert [t for m in modules for t in explanations(m) if t in whole] == []
    ids = [q.id for m in modules for q in m.questions] + [r.id for m in modules for r in m.reflections]
    assert [i for i in ids if any(i in text for text in files.values())] == []
