"""Content validation: good files load; every broken file gets one clear error."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from autograde.cli import main
from autograde.config import Settings
from autograde.course.build import build
from curriculum.schema import ContentError, load_module, parse_module
from tests.conftest import ROOT, module_ids

AUTH = ROOT / "curriculum" / "modules" / "01-authenticity.yaml"


@pytest.mark.parametrize("module_id", module_ids())
def test_every_module_file_is_valid(module_id):
    module = load_module(ROOT / "curriculum" / "modules" / f"{module_id}.yaml")
    assert module.id == module_id
    assert module.points > 0


def _broken(mutate) -> str:
    data = yaml.safe_load(AUTH.read_text())
    data = copy.deepcopy(data)
    mutate(data)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _errors(text: str, name: str = "01-authenticity.yaml") -> ContentError:
    with pytest.raises(ContentError) as exc:
        parse_module(text, Path("curriculum/modules") / name)
    return exc.value


CASES = [
    ("answer not an option", lambda d: d["questions"][0].update(answer=["z"]),
     "questions[0] (id 'auth-q-casual-caller'), field 'answer'", "'z' is not one of the options"),
    ("missing prompt", lambda d: d["questions"][1].pop("prompt"),
     "questions[1] (id 'auth-q-positivity'), field 'prompt'", "Field required"),
    ("unknown field", lambda d: d["questions"][2].update(hint="x"),
     "questions[2] (id 'auth-q-order-greeting'), field 'hint'", "Extra inputs are not permitted"),
    ("bad kind", lambda d: d["questions"][0].update(kind="essay"),
     "questions[0] (id 'auth-q-casual-caller'), field 'kind'", "Input should be"),
    ("unknown framework tag", lambda d: d["reflections"][0].update(exercises=["AUTH-B9"]),
     "reflections[0] (id 'auth-r-balance'), field 'exercises'", "'AUTH-B9' is not a framework item"),
    ("dangling branch", lambda d: d["roleplays"][0]["steps"][0]["choices"][1].update(next="nowhere"),
     "roleplays[0] (id 'auth-rp-parking-counter') > steps[0] (id 'greet') > choices[1] (id 'citations-final'), field 'next'", "'nowhere'"),
    ("role-play choice without quality", lambda d: d["roleplays"][0]["steps"][0]["choices"][0].pop("quality"),
     "roleplays[0] (id 'auth-rp-parking-counter') > steps[0] (id 'greet') > choices[0] (id 'warm-welcome'), field 'quality'",
     "Field required"),
    ("role-play condition naming no flag", lambda d: d["roleplays"][0]["steps"][1]["choices"][0].update(when=["warm"]),
     "roleplays[0] (id 'auth-rp-parking-counter') > steps[1] (id 'options') > choices[0] (id 'walk-through-contest'), field 'when'",
     "'warm' is not a flag of this role-play"),
    ("negative points", lambda d: d["questions"][3].update(points=-1),
     "questions[3] (id 'auth-q-match-behaviors'), field 'points'", "greater than 0"),
    ("duplicate id", lambda d: d["questions"][1].update(id="auth-q-casual-caller"),
     "questions[1] (id 'auth-q-casual-caller')", "used twice"),
    ("behavior not explained", lambda d: d["behaviors"].pop(),
     "field 'behaviors'", "must explain every item of Authenticity"),
    ("ordering key incomplete", lambda d: d["questions"][2].update(answer=["greet", "listen"]),
     "questions[2] (id 'auth-q-order-greeting'), field 'answer'", "every option exactly once"),
    ("wrong schema version", lambda d: d.update(schema_version=2),
     "field 'schema_version'", "Input should be 1"),
]


@pytest.mark.parametrize("name,mutate,where,message", CASES, ids=[c[0] for c in CASES])
def test_broken_content_names_file_item_and_field(name, mutate, where, message):
    err = _errors(_broken(mutate))
    assert str(err).startswith("curriculum/modules/01-authenticity.yaml:")
    assert any(w == where and message in m for w, m in err.problems), err.problems


def test_yaml_syntax_error_names_the_line():
    text = AUTH.read_text().replace("title: \"Authenticity", "title: [\"Authenticity", 1)
    err = _errors(text)
    assert err.problems[0][0].startswith("line ")
    assert "not valid YAML" in err.problems[0][1]


def test_id_must_match_file_name():
    err = _errors(AUTH.read_text(), name="02-something.yaml")
    assert err.problems[0][0] == "field 'id'"


def test_every_problem_is_reported_at_once():
    def many(d):
        d["questions"][0]["answer"] = ["z"]
        d["reflections"][0]["exercises"] = ["AUTH-B9"]
    assert len(_errors(_broken(many)).problems) == 2


def test_invalid_content_writes_nothing_and_keeps_the_previous_build(tmp_path, capsys):
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "01-authenticity.yaml").write_text(_broken(lambda d: d["questions"][0].update(answer=["z"])))
    project = tmp_path / "project"
    previous = project / "source" / "01-authenticity" / "01-authenticity.ipynb"
    previous.parent.mkdir(parents=True)
    previous.write_text("previous build")
    with pytest.raises(ContentError):
        build(Settings(project=project, state_dir=tmp_path / "var"), modules, progress=lambda _: None)
    assert previous.read_text() == "previous build"
    assert sorted(p.name for p in project.rglob("*")) == ["01-authenticity", "01-authenticity.ipynb", "source"]


def test_cli_check_reports_a_clear_error(tmp_path, capsys):
    (tmp_path / "01-authenticity.yaml").write_text(_broken(lambda d: d["questions"][0].update(answer=["z"])))
    assert main(["check", "--modules", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "01-authenticity.yaml" in err and "field 'answer'" in err and "nothing was written" in err
