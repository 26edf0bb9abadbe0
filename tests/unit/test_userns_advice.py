"""What the install tells IT when the course account cannot build the grading sandbox: the kernel
settings in the way, each with the value that allows it, read from a /proc/sys laid out by hand."""
from __future__ import annotations

from autograde.grading.sandbox import userns_advice


def _sys(tmp_path, **values):
    for name, value in values.items():
        path = tmp_path / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{value}\n")
    return tmp_path


def test_a_kernel_that_allows_namespaces_needs_nothing(tmp_path):
    assert userns_advice(_sys(tmp_path, user__max_user_namespaces=63704, kernel__unprivileged_userns_clone=1)) == []


def test_settings_this_kernel_lacks_are_not_in_the_way(tmp_path):
    assert userns_advice(_sys(tmp_path, user__max_user_namespaces=15)) == []


def test_each_setting_in_the_way_is_named_with_its_value(tmp_path):
    asks = userns_advice(_sys(tmp_path, user__max_user_namespaces=0, kernel__unprivileged_userns_clone=0,
                              kernel__apparmor_restrict_unprivileged_userns=1))
    assert asks == ["user.max_user_namespaces = 10000 (it is 0)",
                    "kernel.unprivileged_userns_clone = 1 (Debian; it is 0)",
                    "kernel.apparmor_restrict_unprivileged_userns = 0, or an AppArmor profile allowing bwrap "
                    "(Ubuntu 24.04; it is 1)"]


def test_an_unreadable_value_is_in_the_way(tmp_path):
    assert userns_advice(_sys(tmp_path, user__max_user_namespaces="lots")) == [
        "user.max_user_namespaces = 10000 (it is lots)"]


def test_this_machine_answers_without_error():
    assert isinstance(userns_advice(), list)
