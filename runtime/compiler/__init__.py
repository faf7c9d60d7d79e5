"""The pure core's back half: compile the validated model into a Plan (plain data: Celery
settings, worker command lines, beat entries), and load_plan(), the one front door.

May import: the standard library and runtime.config; never celery, kombu, redis, click or
SQLAlchemy.
"""
