"""The learners' egress rule as data (autograde/hub/isolation.py): what the hub gives iptables."""

from __future__ import annotations

import pytest

from autograde.hub.isolation import CHAIN, JUMP, firewall_rules


def test_learners_reach_only_the_hubs_ports_on_loopback_and_answer_what_connects_to_them():
    rules = firewall_rules([8081, 8000, 8000])
    answer = ["-A", "hcwh-learners", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"]
    assert rules["iptables"] == [
        answer,
        ["-A", "hcwh-learners", "-o", "lo", "-d", "127.0.0.1", "-p", "tcp", "-m", "multiport", "--dports", "8000,8081",
         "-j", "ACCEPT"],
        ["-A", "hcwh-learners", "-j", "REJECT", "--reject-with", "icmp-admin-prohibited"],
    ]
    # IPv6: nothing new at all (the hub listens on 127.0.0.1 only)
    assert rules["ip6tables"] == [answer, ["-A", "hcwh-learners", "-j", "REJECT", "--reject-with", "icmp6-adm-prohibited"]]
    assert CHAIN == "hcwh-learners"
    assert JUMP == ["OUTPUT", "-m", "owner", "--gid-owner", "hcwh-learners", "-j", "hcwh-learners"]


@pytest.mark.parametrize("ports", [[], [0], [65536], ["8000"], [80.5]])
def test_a_port_that_is_not_a_tcp_port_is_refused(ports):
    with pytest.raises(ValueError, match="must be TCP port numbers"):
        firewall_rules(ports)



def test_without_iptables_the_hub_is_told_what_is_missing_and_which_switch_turns_it_off(monkeypatch):
    from autograde.hub import isolation

    calls = []
    monkeypatch.setattr(isolation.shutil, "which", lambda name, path=None: None)
    monkeypatch.setattr(isolation.subprocess, "run", lambda *a, **k: calls.append(a))
    with pytest.raises(isolation.IsolationError,
                       match=r"iptables is not installed \(apt-get install iptables\).*HCWH_LEARNER_FIREWALL=off"):
        isolation.apply_firewall([8000, 8081])
    assert calls == []  # nothing was run, so nothing is half made
