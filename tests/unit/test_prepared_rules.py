"""Which notebook a Voilà page's kernel was started for (autograde/learner/prepared.py's
``notebook_of``): only a module page under the server's own base URL is prepared ahead."""

from __future__ import annotations

import pytest

from autograde.learner.prepared import notebook_of

BASE = "/user/hcwh-ana/"


@pytest.mark.parametrize("script_name, notebook", [
    ("/user/hcwh-ana/voila/render/01-authenticity/01-authenticity.ipynb", "01-authenticity/01-authenticity.ipynb"),
    ("/user/hcwh-ana/voila/render/00-welcome/00%20welcome.ipynb", "00-welcome/00 welcome.ipynb"),
    ("/user/hcwh-ana/voila/render/top.ipynb", "top.ipynb"),
    ("/user/hcwh-bo/voila/render/01-authenticity/01-authenticity.ipynb", None),  # another server's path
    ("/user/hcwh-ana/voila/tree/01-authenticity", None),
    ("/user/hcwh-ana/voila/render/01-authenticity/notes.txt", None),
    ("/user/hcwh-ana/voila/render/../etc/x.ipynb", None),
    ("", None),
])
def test_notebook_of(script_name, notebook):
    assert notebook_of(script_name, BASE) == notebook


def test_a_server_at_the_root():
    assert notebook_of("/voila/render/a/b.ipynb", "/") == "a/b.ipynb"
