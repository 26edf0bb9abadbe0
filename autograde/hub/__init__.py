"""The cohort's server: logins (``logins``, ``auth``), OS accounts (``accounts``, the one
root helper), people on the hub (``people``: roster import with accounts, add, leave, staff),
and the hub services (``console``: the trainer console; ``hrreport``: HR's report), and the city directory (``ldap``)."""
