"""HR's pending submissions include what waits in the hub exchange, before anyone collects it."""

from __future__ import annotations

import json

import pandas as pd

from autograde.config import Settings
from autograde.exchange import service
from autograde.exchange.archive import Member
from autograde.reporting.completion import read_pending


def test_a_submission_in_the_hub_exchange_is_pending_at_the_servers_time(tmp_path):
    s = Settings(state_dir=tmp_path / "state", timezone="America/Chicago")
    store = service.Store(service.store_dir(s))
    store.submit("ana", "01-authenticity", [Member("01-authenticity.ipynb", b"{}")])
    second = store.submit("ana", "01-authenticity", [Member("01-authenticity.ipynb", b"{ }")])
    # the newest version counts; pin its time to a known instant to check the city clock by hand
    receipt = service.store_dir(s) / "submissions" / "ana" / "01-authenticity" / "0002" / "receipt.json"
    assert second["version"] == 2
    data = json.loads(receipt.read_text())
    data["received_at"] = "2027-01-15T18:30:00+00:00"  # 12:30 in Chicago (UTC-6 in January)
    receipt.write_text(json.dumps(data))
    pending = read_pending(s)
    assert list(pending["employee_id"]) == ["ana"] and list(pending["module"]) == ["01-authenticity"]
    assert pending["submitted_at"].iloc[0].replace(tzinfo=None) == pd.Timestamp("2027-01-15 12:30:00")


def test_no_hub_exchange_no_pending(tmp_path):
    assert read_pending(Settings(state_dir=tmp_path / "state")).empty
