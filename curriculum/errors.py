"""The one base class for problems a user (trainer, HR, content author) can fix.

``str(exc)`` says what is wrong, where, and what to do; ``hcwh`` prints it as
``error: ...`` with no traceback and exits 2. Standard library only, at the bottom
of the imports: both the learner package and the trainer side raise subclasses."""


class HcwhError(Exception):
    """A problem the user can fix; the message says what, where and what to do."""
