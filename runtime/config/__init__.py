"""The pure core's front half: read the YAML (with positions), check it against the JSON Schemas
and the semantic rules, and build the frozen model; every finding is a Diagnostic.

May import: the standard library, yaml, jsonschema, croniter and runtime.config itself;
never celery, kombu, redis, click or SQLAlchemy (air validate must stay fast).
"""
