"""HR's view: the module catalog's completion table, the HTML/CSV/XLSX report and its
snapshots. It reads the roster and the gradebook's scores, never a learner's notebook or text,
and never imports autograde.grading (checked by the import contracts in pyproject.toml).
"""
