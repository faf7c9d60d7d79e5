"""The OpenAI-compatible provider: POST {AIR_AI_BASE_URL}/chat/completions with httpx."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx
import structlog

from tasks.ai.inputs import ContactProfile, MeetingInfo, Touch, check_purpose
from tasks.ai.results import (
    MalformedResult,
    check_analysis,
    check_interests,
    check_text,
)
from tasks.ai.settings import AISettings
from tasks.ai.text import truncate
from tasks.errors import PermanentError, TransientError

log = structlog.get_logger(__name__)
T = TypeVar("T")

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S | re.I)
_TRANSIENT_STATUS = {408, 409, 425, 429}  # plus every 5xx
TOUCHES_PER_CONTACT = 5  # interactions per contact put into a briefing or draft prompt

ANALYZE = (
    "You analyse one message from a personal CRM. Reply with a single JSON object with exactly "
    'these keys: "sentiment": {"label": "positive"|"neutral"|"negative", "score": a number '
    'from -1 to 1}, "topics": [short lower-case topic names], "keywords": [key phrases from '
    'the text], "summary": one or two sentences, "action_items": [each request, question to '
    "answer, commitment or deadline, as a sentence]. Use the text only; invent nothing."
)
INTERESTS = (
    "You read messages exchanged with one contact, newest first, and name the contact's "
    'interests (professional and personal). Reply with a JSON object {"interests": [{"interest":'
    ' a short lower-case name, "weight": 0..1 where 1 is the strongest, "evidence": [short '
    'quotes from the messages], "terms": [words from the messages that show it]}]}, strongest '
    "first, at most 8. Use the messages only."
)
BRIEFING = (
    "Write a concise briefing for an upcoming meeting, in Markdown, for the person who owns "
    "this CRM. Sections: the meeting (time, place, attendees), one section per attendee (last "
    "touch, interests, recent conversations, open items), then talking points. Use only the "
    "JSON data given; say so when something is unknown."
)
DRAFT = (
    "Draft a short, friendly, professional email for the purpose given, from the CRM owner to "
    "the contact. Start with a 'Subject:' line, then a blank line and the body, and sign with "
    "the sender's name if given. Refer to the last interaction and an interest when the data "
    "has them. Use only the JSON data given; output the email only."
)


class OpenAIProvider:
    """Chat completions with temperature 0; JSON mode where a structured result is needed."""

    name = "openai"

    def __init__(self, settings: AISettings, client: httpx.Client) -> None:
        self.settings = settings
        self.client = client
        self.fingerprint = f"openai/{settings.model}"

    def analyze(self, text: str) -> dict[str, Any]:
        reply = self._complete(ANALYZE, truncate(text, self.settings.max_chars), "analyze",
                               json_mode=True)
        return self._checked(check_analysis, parse_json_reply, reply)

    def extract_interests(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        share = max(200, self.settings.max_chars // max(1, len(texts)))
        prompt = "\n\n".join(f"[{n}] {truncate(t, share)}" for n, t in enumerate(texts, 1))
        reply = self._complete(INTERESTS, prompt, "extract_interests", json_mode=True)
        return self._checked(check_interests, parse_json_reply, reply)

    def briefing(self, meeting: MeetingInfo, attendees: Sequence[ContactProfile]) -> str:
        data = {"meeting": {"title": meeting.title, "starts_at": meeting.starts_at.isoformat(),
                            "ends_at": meeting.ends_at.isoformat(), "timezone": meeting.timezone,
                            "location": meeting.location, "description": meeting.description,
                            "attendees": list(meeting.attendees)},
                "known_attendees": [self._profile(a) for a in attendees]}
        reply = self._complete(BRIEFING, json.dumps(data, ensure_ascii=False), "briefing")
        return self._checked(lambda text: check_text(text, "briefing"), str, reply)

    def draft_message(
        self, contact: ContactProfile, purpose: str, context: str | None = None, *,
        sender: str | None = None,
    ) -> str:
        check_purpose(purpose)
        data = {"purpose": purpose.replace("_", " "), "sender": sender, "note": context,
                "contact": self._profile(contact)}
        reply = self._complete(DRAFT, json.dumps(data, ensure_ascii=False), "draft_message")
        return self._checked(lambda text: check_text(text, "draft"), str, reply)

    def _profile(self, contact: ContactProfile) -> dict[str, Any]:
        touches = contact.touches[:TOUCHES_PER_CONTACT]
        share = max(200, self.settings.max_chars // max(1, len(touches)))
        return {"name": contact.name, "email": contact.email, "company": contact.company,
                "last_touch_at": contact.last_touch_at.isoformat() if contact.last_touch_at
                else None, "interests": list(contact.interests),
                "recent_interactions": [_touch(t, share) for t in touches]}

    def _checked(self, check: Callable[[Any], T], parse: Callable[[str], Any], reply: str) -> T:
        """`check(parse(reply))`, a MalformedResult turned into a PermanentError."""
        try:
            return check(parse(reply))
        except MalformedResult as exc:
            raise PermanentError(f"malformed reply from model {self.settings.model}: {exc}") \
                from exc

    def _complete(self, system: str, user: str, operation: str, *, json_mode: bool = False) -> str:
        """The assistant's reply text; raises TransientError or PermanentError by the status."""
        body: dict[str, Any] = {
            "model": self.settings.model, "temperature": 0,
            "messages": [{"role": "system", "content": system},
                         {"role": "user", "content": user}],
        }
        if json_mode and self.settings.json_mode:
            body["response_format"] = {"type": "json_object"}
        headers = {"Accept": "application/json"}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        url = f"{self.settings.base_url}/chat/completions"
        started = time.monotonic()
        try:
            response = self.client.post(url, json=body, headers=headers)
        except httpx.TransportError as exc:
            log.warning("ai_request_failed", operation=operation, url=url, error=repr(exc))
            raise TransientError(f"{url}: {type(exc).__name__}: {exc}") from exc
        elapsed_ms = round((time.monotonic() - started) * 1000)
        log.info("ai_request", operation=operation, model=self.settings.model,
                 status=response.status_code, elapsed_ms=elapsed_ms)
        _raise_for_status(response, url, bool(self.settings.api_key))
        return self._checked(str, _reply_text, response.text)


def _touch(touch: Touch, limit: int) -> dict[str, Any]:
    return {"at": touch.occurred_at.isoformat(), "kind": touch.kind,
            "direction": touch.direction, "subject": touch.subject,
            "text": truncate(touch.body, limit)}


def _raise_for_status(response: httpx.Response, url: str, has_key: bool) -> None:
    status = response.status_code
    if status < 300:
        return
    detail = _error_message(response)
    if status >= 500 or status in _TRANSIENT_STATUS:
        raise TransientError(f"{url} answered {status}: {detail}"
                             + (f" (Retry-After {response.headers['Retry-After']})"
                                if "Retry-After" in response.headers else ""))
    if status in (401, 403):
        hint = "check AIR_AI_API_KEY" if has_key else "AIR_AI_API_KEY is not set"
        raise PermanentError(f"{url} refused the request ({status}: {detail}); {hint}")
    raise PermanentError(f"{url} answered {status}: {detail}")


def _error_message(response: httpx.Response) -> str:
    """The server's own error message (OpenAI: {"error": {"message": ...}}), shortened."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    message = error.get("message") if isinstance(error, dict) else error
    return truncate(" ".join(str(message or response.text or response.reason_phrase).split()),
                    300)


def _reply_text(raw: str) -> str:
    """choices[0].message.content of a chat completion (a string, or a list of text parts)."""
    try:
        data = json.loads(raw)
        message = data["choices"][0]["message"]
        content = message["content"]
    except ValueError as exc:
        raise MalformedResult(f"the response is not JSON ({exc})") from None
    except (KeyError, IndexError, TypeError):
        raise MalformedResult("the response has no choices[0].message.content") from None
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str) or not content.strip():
        refusal = message.get("refusal") if isinstance(message, dict) else None
        raise MalformedResult(f"the model refused: {refusal}" if refusal
                              else "the reply is empty")
    return content


def parse_json_reply(text: str) -> Any:
    """The JSON in a model's reply: bare, in a ``` fence, or the outermost {...} in prose."""
    text = text.strip()
    fenced = _FENCE.match(text)
    candidates = [fenced.group(1) if fenced else text]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start:end + 1])
    error = ""
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError as exc:
            error = str(exc)
    raise MalformedResult(f"the reply is not JSON ({error}): {truncate(text, 120)!r}")
