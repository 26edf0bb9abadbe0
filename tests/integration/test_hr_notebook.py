"""hr/cohort-report.ipynb runs headless on a real cohort and shows the report's tables."""

from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient

from tests.conftest import ROOT
from tests.hr_cohort import PLANTED

NOTEBOOK = ROOT / "hr" / "cohort-report.ipynb"


def test_the_hr_notebook_shows_the_tables_with_a_cohort_selector(tiny_cohort, monkeypatch, tmp_path):
    monkeypatch.setenv("HCWH_STATE_DIR", str(tiny_cohort.settings.state_dir))
    monkeypatch.delenv("HCWH_DB_URL", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # committed without outputs
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    load = next(c for c in nb.cells if c.get("id") == "load")
    assert "3 learners, 3 module assignments" in load.outputs[0]["text"]
    shown = json.dumps(nb.metadata["widgets"])  # the Output widget's contents, as the browser would get them
    assert "Dropdown" in shown and "All cohorts" in shown and "autumn" in shown and "spring" in shown
    for expected in ("Completion by module", "01-authenticity", "Authenticity", "Cora Lin", "At risk"):
        assert expected in shown, expected
    assert PLANTED not in json.dumps(nb)
