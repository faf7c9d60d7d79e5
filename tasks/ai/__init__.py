"""AI tasks (analysis, briefing, messages) over a provider: local.py or openai_compat.py."""

from tasks.ai import analysis, briefing, messages

__all__ = ["analysis", "briefing", "messages"]
