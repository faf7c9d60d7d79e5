"""Settings of the AI tasks (provider choice, endpoint, limits), read from AIR_AI_* variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

PROVIDERS = ("local", "openai")


@dataclass(frozen=True, slots=True, kw_only=True)
class AISettings:
    """Read once per task run with `from_env()`. The API key comes only from the environment and
    is kept out of the repr, so it never reaches a log line or a traceback."""

    provider: str = "local"  # AIR_AI_PROVIDER: local | openai
    base_url: str = "https://api.openai.com/v1"  # AIR_AI_BASE_URL: OpenAI-compatible API root
    model: str = "gpt-4o-mini"  # AIR_AI_MODEL: the model name sent with every request
    api_key: str | None = field(default=None, repr=False)  # AIR_AI_API_KEY: bearer token
    # AIR_AI_TIMEOUT: seconds to wait for a completion (connect: 5 s); well inside the 2 min
    # soft time limit of ai.analyze, ai.extract_interests and ai.generate_message.
    timeout: float = 40.0
    # AIR_AI_JSON_MODE: send response_format json_object for structured results; turn off
    # (0/false) for compatible servers that reject it: replies are parsed leniently anyway.
    json_mode: bool = True
    max_chars: int = 6000  # AIR_AI_MAX_CHARS: text per interaction sent to a provider
    history: int = 20  # AIR_AI_HISTORY: most recent interactions read per contact
    # AIR_AI_BRIEFING_HORIZON: hours ahead in which meetings without a briefing get one
    # (AIR_AI_BRIEFING_HOURS, its first name, is still read when the new one is unset).
    briefing_hours: float = 24.0
    batch_size: int = 50  # AIR_AI_BATCH_SIZE: interactions ai.analyze takes per run without an id
    # AIR_AI_BUDGET: seconds after which a batch (ai.analyze without an id, briefings of all
    # upcoming meetings) starts no new item, so the last one ends inside the 2 min soft limit.
    budget: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> AISettings:
        base = cls()  # slots: the class attributes are descriptors, not the defaults

        def text(name: str, default: str) -> str:
            return env.get(name, "").strip() or default

        def number(name: str, default: float) -> float:
            raw = env.get(name, "").strip()
            value = float(raw) if raw else default
            if value <= 0:
                raise ValueError(f"{name}={raw!r}: must be a positive number")
            return value

        provider = text("AIR_AI_PROVIDER", base.provider).lower()
        if provider not in PROVIDERS:
            raise ValueError(f"AIR_AI_PROVIDER={provider!r}: use one of {', '.join(PROVIDERS)}")
        return cls(
            provider=provider,
            base_url=text("AIR_AI_BASE_URL", base.base_url).rstrip("/"),
            model=text("AIR_AI_MODEL", base.model),
            api_key=env.get("AIR_AI_API_KEY", "").strip() or None,
            json_mode=text("AIR_AI_JSON_MODE", "true").lower() not in ("0", "false", "no", "off"),
            timeout=number("AIR_AI_TIMEOUT", base.timeout),
            max_chars=int(number("AIR_AI_MAX_CHARS", base.max_chars)),
            history=int(number("AIR_AI_HISTORY", base.history)),
            briefing_hours=number(
                "AIR_AI_BRIEFING_HORIZON" if env.get("AIR_AI_BRIEFING_HORIZON", "").strip()
                else "AIR_AI_BRIEFING_HOURS", base.briefing_hours),
            batch_size=int(number("AIR_AI_BATCH_SIZE", base.batch_size)),
            budget=number("AIR_AI_BUDGET", base.budget),
        )
