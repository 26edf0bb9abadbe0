"""The hub exchange's names, shared by the service, its nbgrader client and the hub's config."""

SERVICE_NAME = "hcwh-exchange"
TRAINER_SCOPE = "custom:hcwh-exchange:trainer"
ACCESS_SCOPE = f"access:services!service={SERVICE_NAME}"
TRAINER_ROLE = "hcwh-exchange-trainer"
RESULTS_FILE = "results.json"  # beside the feedback HTML: the learner's feedback page's data (autograde/course/results.py)
