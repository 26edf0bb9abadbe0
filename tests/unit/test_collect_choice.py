"""The hub exchange client's choices: which version collect takes (nbgrader's --before-duedate too), and submit's notebook check."""

from datetime import datetime

from autograde.exchange.client import to_collect


def _r(learner, version, at):
    return {"learner": learner, "version": version, "received_at": at}


RECEIPTS = [
    _r("ana", 1, "2027-01-10T09:00:00+00:00"),
    _r("ana", 2, "2027-01-20T09:00:00+00:00"),  # after the due date
    _r("ben", 1, "2027-01-21T09:00:00+00:00"),  # only late
    _r("cy", 2, "2027-01-14T17:00:00-06:00"),  # 23:00 UTC on the 14th: on time
    _r("cy", 1, "2027-01-12T09:00:00+00:00"),
]
DUE = datetime(2027, 1, 15, 0, 0)  # nbgrader keeps due dates as naive UTC


def test_newest_version_by_default():
    assert {k: v["version"] for k, v in to_collect(RECEIPTS).items()} == {"ana": 2, "ben": 1, "cy": 2}


def test_before_the_due_date_takes_the_newest_on_time_else_the_newest():
    assert {k: v["version"] for k, v in to_collect(RECEIPTS, DUE).items()} == {"ana": 1, "ben": 1, "cy": 2}


def test_a_submissions_notebooks_against_its_release():
    from autograde.exchange.client import notebook_diff

    released = ["01-authenticity.ipynb", "answers.json"]
    assert notebook_diff(released, ["01-authenticity.ipynb"]) == ([], [])
    assert notebook_diff(released, ["answers.json"]) == (["01-authenticity.ipynb"], [])
    assert notebook_diff(released, ["01-authenticity.ipynb", "scratch.ipynb"]) == ([], ["scratch.ipynb"])
