"""Issue 13, point 6: whether the clock is synchronized (autograde/clock.py), from hand-made
kernel and tool answers; and that a late mark on an unsynchronized clock says so."""

from __future__ import annotations

import pytest

from autograde import clock

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("state,status,synced", [
    (0, 0x0001, True),      # TIME_OK, STA_PLL: disciplined by a time daemon
    (0, 0x0040, False),     # TIME_OK but STA_UNSYNC
    (5, 0x0040, False),     # TIME_ERROR and STA_UNSYNC (this build machine, measured)
    (5, 0x0000, False),     # TIME_ERROR alone
    (1, 0x2001, True),      # TIME_INS (leap second pending), synced
    (-1, 0, False),         # the call failed
])
def test_kernel_status(state, status, synced):
    st = clock.from_adjtimex(state, status)
    assert st.synced is synced
    assert (st.fix == "") is synced
    assert (st.warning() == "") is synced


def test_the_fix_names_ntp_and_the_city_server():
    st = clock.from_adjtimex(5, 0x40)
    assert "chrony" in st.fix and "city's time server" in st.fix
    assert "late marks may be wrong" in st.warning()


CHRONY_OK = """Reference ID    : C0A80001 (ntp.example.city)
Stratum         : 3
Leap status     : Normal
"""
CHRONY_BAD = CHRONY_OK.replace("Normal", "Not synchronised")


@pytest.mark.parametrize("text,synced", [(CHRONY_OK, True), (CHRONY_BAD, False), ("", False)])
def test_chronyc(text, synced):
    assert clock.from_chronyc(text).synced is synced


@pytest.mark.parametrize("text,synced", [
    ("associd=0 status=0615 leap_none, sync_ntp, 1 event,\nleap=00, stratum=3", True),
    ("associd=0 status=c016 leap_alarm, sync_unspec, 1 event,\nleap=11, stratum=16", False),
])
def test_ntpq(text, synced):
    assert clock.from_ntpq(text).synced is synced


def test_this_machine_gets_an_answer_and_synced_agrees_with_status():
    st = clock.status()
    assert st.how  # says where the answer came from
    assert clock.synced() is st.synced
