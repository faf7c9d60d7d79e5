"""Redis as air's broker and store: the kombu transport, the result backend, the dead-letter
store and the small helpers that read Redis replies.

May import: runtime.config, runtime.compiler, redis, kombu and celery's backend classes;
never click, SQLAlchemy, runtime.celeryapp or runtime.process.
"""
