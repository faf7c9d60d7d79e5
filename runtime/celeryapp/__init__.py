"""The Celery app built from a Plan and what plugs into it: the task base class, the worker
consumer, worker and beat hooks, the guards, logging, and the in-process launchers.

May import: runtime.config, runtime.compiler, runtime.broker, celery, kombu, redis and
structlog; never click, SQLAlchemy or runtime.process.
"""
