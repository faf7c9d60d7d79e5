"""Processes on this host and the platform seen from it: the supervisor behind `air up`, the
embedded Redis, who is running (observe), health and status.

May import: any runtime layer; never click or SQLAlchemy.
"""
