"""nbgrader's gradebook for the course's settings: the one way to open it."""

from __future__ import annotations

from nbgrader.api import Gradebook

from autograde.config import Settings


def gradebook(s: Settings) -> Gradebook:
    return Gradebook(s.gradebook_url, course_id=s.course_id)
