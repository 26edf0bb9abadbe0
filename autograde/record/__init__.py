"""The compliance record: the project's own tables (``db.py``), every released module's version
with its archived files (``versions.py``), and the hash-chained audit log (``audit.py``).
Standard library only, so the exchange service, the course tools and HR's report all use it."""
