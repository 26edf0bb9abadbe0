"""Everything that judges or runs a learner's submission: the rules (preflight, nbhooks), the
two engines (nbgrader's, with sandbox.SandboxedExecute; fast.py with forkserver.py), the
sandbox (sandbox.py, cgroup.py, kernelstop.py) and the journal that makes each learner
all-or-nothing. It never imports the trainer's workflow (autograde.course), the reports or the
hub: those call it. Limits live one level down, in autograde/limits.py, shared with the exchange.
"""

from pathlib import Path

KERNELSTOP = Path(__file__).with_name("kernelstop.py")  # run in each sandboxed kernel at its start
