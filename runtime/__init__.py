"""air runtime: load, validate and compile the YAML config; build the Celery app from the plan."""
