"""Sync tasks: mail from a Maildir or mbox (mail.py), events from iCalendar files (calendar.py)."""

from tasks.sync import calendar, mail

__all__ = ["calendar", "mail"]
