"""Processes on this host: the supervisor behind `air up`, the embedded Redis, and (next)
health, status and metrics.

May import: any runtime layer; never click or SQLAlchemy.
"""
