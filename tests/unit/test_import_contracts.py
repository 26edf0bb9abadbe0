"""The house's import rules (pyproject.toml's [tool.importlinter]) and no import cycles."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is not installed: run `make install`"
    done = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), lazy imports included."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.find_modules_directly_imported_by(v)):
            if w not in graph.modules or w.split(".")[0] not in {"autograde", "curriculum"}:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for m in sorted(graph.modules):
        if m.split(".")[0] in {"autograde", "curriculum"} and m not in index:
            visit(m)
    return found


def test_no_module_imports_itself_round_a_cycle():
    graph = grimp.build_graph("autograde", "curriculum")
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for m in ("autograde", "autograde.a", "autograde.b", "autograde.c"):
        graph.add_module(m)
    graph.add_import(importer="autograde.a", imported="autograde.b")
    graph.add_import(importer="autograde.b", imported="autograde.a")
    graph.add_import(importer="autograde.b", imported="autograde.c")
    assert _cycles(graph) == [["autograde.a", "autograde.b"]]
