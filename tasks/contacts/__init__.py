"""Contact tasks: processing (process.py), interaction analysis (analyze.py), scoring (score.py)."""

from tasks.contacts import analyze, process, score

__all__ = ["analyze", "process", "score"]
