"""Learner-facing package: content schema, builder, answer widgets, scoring rules.

The content files with their answer keys (``curriculum/modules/*.yaml``) are
trainer material and are kept out of the wheel that learners install.
"""
