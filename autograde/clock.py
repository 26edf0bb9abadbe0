"""Is this server's clock synchronized? The one answer, for install and for lateness.

Lateness is judged on the server's clock (the exchange's receipt time). With no internet there
is no public NTP, so the city's time server must be set up; until it is, a late mark may be
wrong. ``synced()`` is the one test; ``status()`` says how it was found and what to fix.

- First the kernel's own NTP state (``adjtimex(2)`` with no changes, through ctypes): the call
  returns ``TIME_ERROR`` (5), or the status has ``STA_UNSYNC`` (0x40), while no time daemon
  (chronyd, ntpd, systemd-timesyncd with adjtimex) has disciplined the clock.
- Where the kernel cannot be asked (not Linux), ``chronyc tracking`` or ``ntpq -c rv`` if present.
- Unknown counts as not synchronized (a warning is shown, never silence).

Standard library only.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys
from dataclasses import dataclass

TIME_ERROR = 5
STA_UNSYNC = 0x0040
FIX = ("point this server at the city's time server (NTP): install chrony (apt-get install chrony), put "
       "'server <the city's NTP server>' in /etc/chrony/chrony.conf and start chronyd; ask IT for the "
       "server's name. In a container the host's clock counts: fix it on the host.")


@dataclass(frozen=True)
class ClockStatus:
    synced: bool
    how: str  # where the answer came from, and what it said
    fix: str = ""  # what to do when not synced

    def warning(self) -> str:
        """One sentence for reports and notes; empty when synced."""
        return "" if self.synced else ("the server's clock is not synchronized (" + self.how + "), so late marks "
                                       "may be wrong: check them before acting on them")


def from_adjtimex(state: int, status: int) -> ClockStatus:
    """The answer from adjtimex's return value ``state`` and the ``status`` bits."""
    if state < 0:
        return ClockStatus(False, "adjtimex failed", FIX)
    if state == TIME_ERROR or status & STA_UNSYNC:
        return ClockStatus(False, f"kernel NTP status: unsynchronized (adjtimex state {state}, status {status:#x})",
                           FIX)
    return ClockStatus(True, f"kernel NTP status: synchronized (adjtimex state {state})")


def from_chronyc(text: str) -> ClockStatus:
    """The answer from ``chronyc tracking``'s output."""
    for row in text.splitlines():
        key, _, value = row.partition(":")
        if key.strip() == "Leap status":
            ok = value.strip().lower() != "not synchronised"
            return ClockStatus(ok, f"chronyc: leap status {value.strip()}", "" if ok else FIX)
    return ClockStatus(False, "chronyc gave no leap status", FIX)


def from_ntpq(text: str) -> ClockStatus:
    """The answer from ``ntpq -c rv``'s output (``leap=11`` / ``sync_unspec``: not synced)."""
    flat = text.replace("\n", " ")
    ok = "leap=11" not in flat and "leap_alarm" not in flat and "sync_unspec" not in flat and "leap=" in flat
    return ClockStatus(ok, "ntpq: " + ("synchronized" if ok else "not synchronized"), "" if ok else FIX)


class _Timex(ctypes.Structure):  # struct timex (linux/timex.h): the fields before are all we read
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("_rest", ctypes.c_byte * 256)]


def _kernel() -> ClockStatus | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        tx = _Timex()  # modes 0: read only, changes nothing
        state = ctypes.CDLL(None, use_errno=True).adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return None
    return from_adjtimex(state, tx.status)


def _tool(argv: list[str], parse) -> ClockStatus | None:
    if not shutil.which(argv[0]):
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse(done.stdout) if done.returncode == 0 else None


def status() -> ClockStatus:
    return (_kernel() or _tool(["chronyc", "tracking"], from_chronyc) or _tool(["ntpq", "-c", "rv"], from_ntpq)
            or ClockStatus(False, "no way to ask (no adjtimex, chronyc or ntpq)", FIX))


def synced() -> bool:
    """The one test: is the clock lateness is judged by synchronized now?"""
    return status().synced


def main() -> int:
    """``python -m autograde.clock`` (scripts/hub-setup.sh): 0 and a line if synced, else 1 and what to fix."""
    st = status()
    if st.synced:
        print(f"clock: synchronized ({st.how})")
        return 0
    print(f"clock: NOT synchronized ({st.how}). Late marks need a set clock: {st.fix}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
