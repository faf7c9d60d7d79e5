"""Review and rendering of a config change: plan diff, explain, rendered deployment files,
the topology graph. Pure functions of Plans (and their model and positions).

May import: the standard library, yaml, runtime.config and runtime.compiler; never celery,
kombu, redis, click or SQLAlchemy.
"""
