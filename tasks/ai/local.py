"""The local provider (the default): no network; briefings and drafts from templates."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tasks.ai import analysis_local as nlp
from tasks.ai import lexicon
from tasks.ai.inputs import PURPOSES, ContactProfile, MeetingInfo, Touch, check_purpose

# Analysis lives in analysis_local.py; here are the provider class and its writing, filled with
# what the analysis extracts from the stored history. No clock and no chance: the same input
# gives the same bytes.
RECENT = 3  # interactions shown per attendee
OPEN_ITEMS = 4  # action items carried into a briefing per attendee
_DIRECTION = {"in": "from them", "out": "from you"}


class LocalProvider:
    """Keyword, topic and sentiment extraction, extractive summaries and template drafts."""

    name = "local"
    fingerprint = "local/1"  # bump when an algorithm or lexicon changes what an input gives

    def analyze(self, text: str) -> dict[str, Any]:
        return nlp.analyze(text)

    def extract_interests(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        return nlp.interests(texts)

    def briefing(self, meeting: MeetingInfo, attendees: Sequence[ContactProfile]) -> str:
        return briefing(meeting, attendees, meeting.timezone)

    def draft_message(
        self, contact: ContactProfile, purpose: str, context: str | None = None, *,
        sender: str | None = None,
    ) -> str:
        check_purpose(purpose)
        return draft(contact, purpose, context, sender, contact.timezone)


def briefing(meeting: MeetingInfo, attendees: Sequence[ContactProfile], zone: str = "UTC") -> str:
    """Header, agenda (from the description), a section per known attendee, talking points."""
    tz = ZoneInfo(zone)
    start, end = meeting.starts_at.astimezone(tz), meeting.ends_at.astimezone(tz)
    known = {a.email for a in attendees if a.email}
    names = [_label(a) for a in attendees]
    names += [f"{email} (not in your contacts)" for email in meeting.attendees
              if email not in known]
    lines = [f"# Briefing: {meeting.title or 'Untitled meeting'}",
             f"When: {start:%A %d %B %Y, %H:%M}–{end:%H:%M} {start.tzname()}"]
    if meeting.location:
        lines.append(f"Where: {meeting.location}")
    lines.append(f"Attendees: {', '.join(names) if names else 'none listed'}")
    if meeting.description and meeting.description.strip():
        agenda = nlp.summary(meeting.description) or meeting.description.strip()
        lines += ["", "## Agenda", agenda]
        lines += [f"- {item}" for item in nlp.action_items(meeting.description)
                  if item not in agenda]
    points: list[str] = []
    for profile in attendees:
        lines += ["", *_attendee(profile, meeting.starts_at, tz, points)]
    lines += ["", "## Talking points", *(points or ["- No history with the attendees yet: "
                                                    "use the meeting to learn their priorities."])]
    return "\n".join(lines) + "\n"


def _attendee(profile: ContactProfile, at: datetime, tz: ZoneInfo, points: list[str]) -> list[str]:
    lines = [f"## {_label(profile)}"]
    touches = profile.touches
    last = touches[0].occurred_at if touches else profile.last_touch_at
    if last is None:
        lines.append("Last touch: none recorded")
        points.append(f"- {profile.display_name}: first conversation, so ask about their goals.")
    else:
        days = (at - last).days
        relative = f"{days} days before" if days >= 0 else f"{-days} days after"
        when = f"{last.astimezone(tz):%d %b %Y} ({relative} the meeting)"
        about = f' "{touches[0].subject}"' if touches and touches[0].subject else ""
        how = f", {touches[0].kind} {_DIRECTION.get(touches[0].direction or '', '')}".rstrip()
        lines.append(f"Last touch: {when}{how if touches else ''}{about}")
    interests = _interests(profile)
    if interests:
        lines.append("Interests: " + "; ".join(
            f"{i['interest']} ({', '.join(i.get('terms', [])[:3])})" if i.get("terms")
            else i["interest"] for i in interests))
        top = interests[0]
        said = [t for t in top.get("terms", []) if t != top["interest"]][:2]
        texts = [t.text for t in touches]
        points.append(f"- {profile.display_name} cares about {top['interest']}" + (
            f" (mentioned: {', '.join(_as_written(t, texts) for t in said)})." if said else "."))
    items: list[str] = []
    if touches:
        lines.append("Recent:")
        moods = []
        for touch in touches[:RECENT]:
            analysis = nlp.analyze(touch.text)
            moods.append(analysis["sentiment"]["score"])
            lines.append(f"- {_touch_line(touch, tz)}: {analysis['summary'] or '(no text)'}")
            items += [i for i in analysis["action_items"] if i not in items]
        mood = sum(moods) / len(moods)
        tone = "positive" if mood >= 0.05 else "negative" if mood <= -0.05 else "neutral"
        lines.append(f"Tone of recent messages: {tone} ({mood:+.2f})")
    if items:
        lines += ["Open items:", *(f"- {item}" for item in items[:OPEN_ITEMS])]
        points.append(f"- Follow up with {profile.display_name}: {items[0]}")
    return lines


@dataclass(frozen=True, slots=True)
class _Facts:
    """What a draft template may mention, each part already phrased (or empty)."""

    about: str  # ' about "Quarterly planning"'
    when: str  # " on 16 November"
    subject: str | None  # of the last interaction
    action: str | None  # the first action item of the last interaction
    hobby: str | None  # a word the contact used for their top personal interest
    work: str | None  # ... and for their top work interest
    their_topic: str | None  # the top key phrase of their latest message, as written
    company: str | None
    note: str  # the caller's context, as its own paragraph
    sender: str | None


def draft(contact: ContactProfile, purpose: str, context: str | None, sender: str | None,
          zone: str = "UTC") -> str:
    """A draft for PURPOSES from its template: subject line, greeting, body, sign-off."""
    last = contact.touches[0] if contact.touches else None
    theirs = next((t for t in contact.touches if t.direction != "out"), None)
    texts = [t.text for t in contact.touches]
    interests = _interests(contact, limit=8)
    personal = [i for i in interests if i["interest"] in lexicon.PERSONAL_TOPICS]
    work = [i for i in interests if i not in personal]
    action = nlp.action_items(last.text) if last else []
    topics = nlp.keywords(theirs.text, limit=1) if theirs else []
    facts = _Facts(
        about=f' about "{last.subject}"' if last and last.subject else "",
        when=f" on {last.occurred_at.astimezone(ZoneInfo(zone)):%d %B}" if last else "",
        subject=last.subject if last else None,
        action=action[0] if action else None,
        # A personal interest ("golf") makes a warmer check-in; a work one a better intro.
        hobby=_mention(personal or work, texts),
        work=_mention(work or personal, texts),
        their_topic=_as_written(topics[0], texts) if topics else None,
        company=contact.company,
        note=f"\n\n{' '.join(context.split())}" if context and context.strip() else "",
        sender=sender,
    )
    subject, body = _TEMPLATES[purpose](facts)
    closing = f"Best regards,\n{sender}" if sender else "Best regards"
    return f"Subject: {subject}\n\nHi {_first_name(contact)},\n\n{body}\n\n{closing}\n"


def _headline(prefix: str, detail: str | None) -> str:
    """A template's subject line: `prefix: detail`, or the prefix alone without a detail."""
    return f"{prefix}: {detail}" if detail else prefix


def _follow_up(f: _Facts) -> tuple[str, str]:
    recap = f' To pick up where we left off: "{f.action}"' if f.action else ""
    return (_headline("Following up", f.subject),
            f"Thanks again for our conversation{f.about}{f.when}.{recap}{f.note}\n\n"
            "Would you have 20 minutes next week to agree on the next steps?")


def _check_in(f: _Facts) -> tuple[str, str]:
    line = f" Last time you mentioned {f.hobby}: how has that been going?" if f.hobby else ""
    at = f" at {f.company}" if f.company else ""
    return ("Checking in",
            f"It has been a little while since we last spoke{f.about}{f.when}, so I wanted to "
            f"check in and hear how things are going{at}.{line}{f.note}\n\n"
            "Let me know if there is anything I can help with.")


def _intro(f: _Facts) -> tuple[str, str]:
    who = f"My name is {f.sender}, and I" if f.sender else "I"
    line = (f" I understand {f.work} is on your mind, which is close to what I work on."
            if f.work else "")
    return (_headline("Introduction", f.company),
            f"{who} wanted to introduce myself.{line}{f.note}\n\n"
            "Would you be open to a short call in the coming weeks?")


def _thank_you(f: _Facts) -> tuple[str, str]:
    line = f" I especially appreciated your thoughts on {f.their_topic}." if f.their_topic else ""
    what = f"our conversation{f.about}{f.when}" if f.when else "your time"
    return (_headline("Thank you", f.subject),
            f"Thank you for {what}.{line}{f.note}\n\nI look forward to staying in touch.")


_TEMPLATES = {"follow_up": _follow_up, "check_in": _check_in, "intro": _intro,
              "thank_you": _thank_you}
assert set(_TEMPLATES) == set(PURPOSES)


def _mention(interests: list[dict[str, Any]], texts: Sequence[str]) -> str | None:
    """The first interest's top term (else its name) as the contact wrote it."""
    if not interests:
        return None
    return _as_written((interests[0].get("terms") or [interests[0]["interest"]])[0], texts)


def _as_written(phrase: str, texts: Sequence[str]) -> str:
    """`phrase` (lower-cased tokens) with the capitals it has inside a sentence ("AI"), where
    a capital means something; a capital at the start of a sentence or subject does not."""
    pattern = re.compile(r"\b" + r"\W+".join(map(re.escape, phrase.split())) + r"\b", re.I)
    for text in texts:
        for found in pattern.finditer(text):
            before = text[:found.start()].rstrip(" \t")
            if before and before[-1] not in ".!?:\n\"'(":
                return " ".join(found.group(0).split())
    return phrase


def _interests(profile: ContactProfile, limit: int = 3) -> list[dict[str, Any]]:
    """The stored interests, else derived from the interactions at hand."""
    found = list(profile.interests) or nlp.interests([t.text for t in profile.touches])
    return found[:limit]


def _touch_line(touch: Touch, tz: ZoneInfo) -> str:
    direction = _DIRECTION.get(touch.direction or "", "")
    subject = f' "{touch.subject}"' if touch.subject else ""
    return f"{touch.occurred_at.astimezone(tz):%d %b %Y}, {touch.kind} {direction}".rstrip() \
        + subject


def _label(profile: ContactProfile) -> str:
    return profile.display_name + (f" ({profile.company})" if profile.company else "")


def _first_name(contact: ContactProfile) -> str:
    words = (contact.name or "").split()
    return words[0] if words else "there"
