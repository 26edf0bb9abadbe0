"""The software bill of materials (README "Patching and upgrades"): ``hcwh sbom`` writes a CycloneDX
JSON listing every locked package of the three environments with its version and the hashes the
installs check. The suite writes it (test-artifacts/sbom.cdx.json). Expected values are copied by hand
from requirements/*.txt and hub/package-lock.json (the sha512 decoded with ``base64 -d | xxd -p``)."""
from __future__ import annotations

import json
import shutil

import pytest

from autograde.cli import main
from autograde.config import PROJECT_ROOT
from autograde.sbom import SbomError, bill, write_sbom

NBGRADER_SHA256 = {"8a185fe53cab78363102862e3d845c48b26823f349482ea9209426bdae5bd75f",
                   "d01c3a1033c0ef1535936fc53b8e152b46e1e06c02422dca5ef7d5ae62076d4f"}
CHP_SHA512 = ("070c75f244f6df22f61259e16d2a15691f42c9f132f87ab151860328529a42c5"
              "719c2d9711f90cc50b1934a436606a25225e3236ae11d387457d22bbb9a091d1")


def _by_purl(doc):
    return {c["purl"]: c for c in doc["components"]}


def test_the_suite_writes_the_bill_from_the_locks(capsys):
    out = PROJECT_ROOT / "test-artifacts" / "sbom.cdx.json"
    assert main(["sbom", "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.5"
    comps = _by_purl(doc)
    nbgrader = comps["pkg:pypi/nbgrader@0.9.6"]
    assert {h["content"] for h in nbgrader["hashes"] if h["alg"] == "SHA-256"} == NBGRADER_SHA256
    assert {p["value"] for p in nbgrader["properties"] if p["name"] == "hcwh:environment"} == {"project", "learner"}
    chp = comps["pkg:npm/configurable-http-proxy@5.1.0"]
    assert chp["hashes"] == [{"alg": "SHA-512", "content": CHP_SHA512}]
    assert chp["properties"] == [{"name": "hcwh:environment", "value": "hub"}]
    # the trainer side is not in the learners' environment (requirements/learner.in has no pandas)
    pandas = next(c for c in doc["components"] if c["name"] == "pandas")
    assert [p["value"] for p in pandas["properties"]] == ["project"]
    assert len({c["bom-ref"] for c in doc["components"]}) == len(doc["components"])


def test_a_pin_without_its_hash_is_refused_naming_file_and_line(tmp_path):
    (tmp_path / "requirements").mkdir()
    shutil.copytree(PROJECT_ROOT / "hub", tmp_path / "hub", ignore=shutil.ignore_patterns("node_modules", "templates"))
    (tmp_path / "requirements" / "project.txt").write_text(
        "nbgrader==0.9.6 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via x\nvoila==0.5.13\n")
    (tmp_path / "requirements" / "learner.txt").write_text("")
    out = tmp_path / "var" / "sbom.cdx.json"
    out.parent.mkdir()
    out.write_text("the bill made last time\n")
    with pytest.raises(SbomError, match=r"project\.txt, line 4: voila has no --hash"):
        write_sbom(tmp_path, out)
    assert out.read_text() == "the bill made last time\n"  # nothing half-made written over it
    assert sorted(p.name for p in out.parent.iterdir()) == ["sbom.cdx.json"]
    (tmp_path / "requirements" / "project.txt").write_text("nbgrader==0.9.6 \\\n    --hash=sha256:" + "a" * 64 + "\n")
    (tmp_path / "requirements" / "learner.txt").unlink()
    with pytest.raises(SbomError, match=r"learner\.txt: cannot be read"):
        bill(tmp_path)
