"""What sends work on a schedule or in bulk, built on the Celery app: beat (each fire claimed
once in Redis, message and all), bulk send, and declared workflows as Celery canvas.

May import: runtime.config, runtime.compiler, runtime.broker, runtime.celeryapp, celery,
kombu and redis; never click, SQLAlchemy or runtime.process.
"""
