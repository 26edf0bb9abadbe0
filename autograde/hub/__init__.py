"""The cohort's JupyterHub: configuration pieces for the course's hub."""
