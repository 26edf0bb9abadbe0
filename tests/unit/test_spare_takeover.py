"""The take-over step of a spare kernel (autograde/learner/spare.py): a Python process started with
one page's environment ends with the next page's, but for what the kernel set itself."""

from __future__ import annotations

import json
import subprocess
import sys

from autograde.learner.spare import takeover_code


def test_a_spare_takes_the_pages_environment_and_folder_and_keeps_what_the_kernel_set(tmp_path):
    started_with = {"PATH": "/usr/bin:/bin", "VOILA_REQUEST_URL": "http://x/first", "ONLY_FIRST": "1",
                    "TERM": "xterm"}
    page = {"PATH": "/usr/bin:/bin", "VOILA_REQUEST_URL": "http://x/second", "ONLY_SECOND": "2",
            "TERM": "xterm"}
    # the "kernel" sets TERM itself at its start, as ipykernel does, then takes the page over
    code = ("import os; os.environ['TERM'] = 'xterm-color'\n" + takeover_code(started_with, page, str(tmp_path))
            + "\nimport json; print(json.dumps({'env': dict(os.environ), 'cwd': os.getcwd()}))")
    done = subprocess.run([sys.executable, "-S", "-c", code], env=started_with, capture_output=True, text=True,
                          timeout=30, cwd="/")
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["cwd"] == str(tmp_path)
    env = {k: v for k, v in got["env"].items() if k != "LC_CTYPE"}  # Python may set the locale's
    assert env == {"PATH": "/usr/bin:/bin", "VOILA_REQUEST_URL": "http://x/second", "ONLY_SECOND": "2",
                   "TERM": "xterm-color"}


def test_quotes_and_newlines_in_the_environment_survive_the_take_over(tmp_path):
    odd = {"A": "it's \"quoted\"\nand\\n two lines", "PATH": "/usr/bin:/bin"}
    code = (takeover_code({"PATH": "/usr/bin:/bin"}, odd, str(tmp_path))
            + "\nimport json, os; print(json.dumps(os.environ['A']))")
    done = subprocess.run([sys.executable, "-S", "-c", code], env={"PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == odd["A"]
