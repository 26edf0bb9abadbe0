"""The trainer's workflow over nbgrader: its configuration (nbconfig.py, the one place that
wires nbgrader), its API (nbgrader_api.py), build, release, collect, autograde, feedback
(cycle.py), the resubmit pages (rejections.py), the demo, and formgrader's attribution.
It uses autograde.grading, autograde.reporting and autograde.exchange; none of them use it.
"""
