"""Trainer and HR side: the nbgrader course, its grading cycle, and reports."""
