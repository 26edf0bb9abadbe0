"""The learners' Python kernel: ipykernel without its debugger (issue 17: a module page's open).

Starting ipykernel imports debugpy, its debugger, at every kernel's start: about 0.1 s of CPU of the
0.4 s a kernel takes to start here (measured with and without, README *Hub under load*). A learner's
page never debugs, so their servers' ``python3`` kernel (``share/kernels/python3/kernel.json``, found
through ``JUPYTER_PATH`` = ``pages.VOILA_DATA``, as the Voilà template is) runs this module, which
makes ``import debugpy`` fail as if it were not installed; ipykernel then runs with its debugger off,
as it does wherever debugpy is missing. Everything else is ipykernel's own launcher.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    # the notebook's folder is not searched for ipykernel's own modules (as ipykernel_launcher does);
    # IPython puts it back for the notebook's code
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    sys.modules["debugpy"] = None  # "import debugpy" raises ImportError: ipykernel's debugger is off
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
