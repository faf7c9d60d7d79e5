"""The local AI provider's algorithms, pure and without a database: same input, same bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.ai import analysis_local as nlp
from tasks.ai.inputs import PURPOSES, ContactProfile, MeetingInfo, Touch
from tasks.ai.local import LocalProvider
from tasks.ai.results import check_analysis, check_interests
from tasks.ai.text import clean_body, sentences

EMAIL = """Hi Dana,

Thanks for the demo yesterday, the team was really impressed with the analytics dashboard.
Our budget for the AI pilot is approved. Could you send the pricing proposal by Friday?
We also need the security review before legal signs the contract.

Best,
Ann

On Mon, 4 Mar 2024, Dana wrote:
> Here is the deck.
"""
AT = datetime(2024, 5, 2, 14, 0, tzinfo=UTC)


def touch(days: int, subject: str, body: str, direction: str = "in") -> Touch:
    return Touch(occurred_at=AT - timedelta(days=days), kind="email", direction=direction,
                 subject=subject, body=body)


def test_clean_body_drops_quotes_and_signature_blocks() -> None:
    body = "Sounds good.\n> quoted line\nSee you then.\n-- \nAnn Lee | Acme\n"
    assert clean_body(body) == "Sounds good.\nSee you then."
    assert "deck" not in clean_body(EMAIL)


def test_sentences_join_wrapped_lines_and_respect_abbreviations() -> None:
    text = "We met Dr. Lee at the summit, e.g. in the hall.\nIt went\nwell!\n\n- send notes"
    assert sentences(text) == ["We met Dr. Lee at the summit, e.g. in the hall.",
                               "It went well!", "send notes"]


def test_keywords_are_the_rake_phrases() -> None:
    words = nlp.keywords("Machine learning tooling for the data platform. Data platform costs.")
    # RAKE: longer phrases of well-connected words score higher
    assert words == ["machine learning tooling", "data platform costs", "data platform"]
    assert "the" not in " ".join(words).split()
    assert nlp.keywords("") == []


def test_topics_come_from_the_lexicon_with_plurals_and_two_word_terms() -> None:
    assert nlp.topics("Contracts and invoices, plus machine learning.") == [
        "ai & data", "contracts", "finance"]  # one hit each: by name
    assert nlp.topics("Golf, golf and a marathon. Also the invoice.") == ["sports", "finance"]
    assert nlp.topics("Nothing to see here.") == []


@pytest.mark.parametrize(("text", "label"), [
    ("Thanks, this is great and I really appreciate it!", "positive"),
    ("The outage was terrible and the bug is still broken.", "negative"),
    ("The meeting is on Tuesday at ten.", "neutral"),
    ("This is not good.", "negative"),  # the negator flips "good"
])
def test_sentiment_labels(text: str, label: str) -> None:
    result = nlp.sentiment(text)
    assert result["label"] == label
    assert -1 < result["score"] < 1


def test_intensifiers_strengthen_sentiment() -> None:
    assert nlp.sentiment("very good")["score"] > nlp.sentiment("good")["score"] > 0


def test_summary_picks_real_sentences_in_their_order() -> None:
    text = clean_body(EMAIL)
    summary = nlp.summary(text)
    picked = [s for s in sentences(text) if s in summary]
    assert len(picked) == 2 and " ".join(picked) == summary
    assert "Hi Dana," not in summary and "Best," not in summary


def test_action_items_find_requests_deadlines_and_commitments() -> None:
    text = ("The roadmap looks fine. Could you send the pricing proposal by Friday? "
            "I will share the deck tomorrow. Please loop in Sam. The invoice is due on the 30th. "
            "Review the draft. We had lunch.")
    assert nlp.action_items(text) == [
        "Could you send the pricing proposal by Friday?", "I will share the deck tomorrow.",
        "Please loop in Sam.", "The invoice is due on the 30th.", "Review the draft."]


def test_analysis_has_the_documented_shape() -> None:
    analysis = nlp.analyze(clean_body(EMAIL))
    assert check_analysis(analysis) == analysis  # the shape remote replies are held to
    assert {"ai & data", "finance", "contracts", "security"} <= set(analysis["topics"])
    assert analysis["sentiment"]["label"] == "positive"
    assert "Could you send the pricing proposal by Friday?" in analysis["action_items"]


def test_interests_weigh_recurrence_and_recency_and_quote_evidence() -> None:
    texts = ["Are you joining the golf outing? The golf course reopened.",
             "Our budget review is next week.",
             "Loved the golf weekend, and the new marathon plan."]
    interests = nlp.interests(texts)
    assert check_interests(interests) == interests
    top, second = interests[0], interests[1]
    assert (top["interest"], top["weight"]) == ("sports", 1.0)
    assert top["terms"][0] == "golf" and "marathon" in top["terms"]
    assert top["evidence"][0] == "Are you joining the golf outing?"
    assert second["interest"] == "finance" and 0 < second["weight"] < 1
    # the same single mention weighs less when it is older
    assert nlp.interests(["x", "budget"])[0]["weight"] == 1.0
    assert nlp.interests([]) == []


def test_a_key_phrase_is_an_interest_only_when_it_recurs() -> None:
    once = nlp.interests(["The rooftop garden project is underway."])
    assert "rooftop garden project" not in [i["interest"] for i in once]
    twice = nlp.interests(["The rooftop garden project is underway.",
                           "Any news on the rooftop garden project?"])
    assert "rooftop garden project" in [i["interest"] for i in twice]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([
    "Thanks for the great demo.", "Could you send the contract by Friday?", "\n\n",
    "The audit found a bug in billing.", "We should meet for golf", "- book the room",
    "Dr. Lee joined.", "ok", "   ", "The Q3 roadmap and the AI pilot look solid!",
]), max_size=12))
def test_any_text_analyses_deterministically_into_its_own_sentences(parts: list[str]) -> None:
    text = " ".join(parts)
    first = nlp.analyze(text)
    assert json.dumps(first) == json.dumps(nlp.analyze(text))
    assert check_analysis(first) == first
    own = sentences(text)
    assert all(item in own for item in first["action_items"])
    assert joins(first["summary"], own)  # whole sentences of the text, in their order
    assert bool(first["summary"]) == bool(nlp.content_sentences(text))


def joins(summary: str, own: list[str]) -> bool:
    """Whether `summary` is some of the sentences `own`, in order, joined by spaces."""
    if summary == "":
        return True
    return any(
        (summary == s or summary.startswith(s + " ")) and joins(summary[len(s):].lstrip(" "),
                                                               own[i + 1:])
        for i, s in enumerate(own)
    )


def profile(**fields: object) -> ContactProfile:
    values: dict[str, object] = {
        "contact_id": 7, "name": "Ann Lee", "email": "ann@acme.example", "company": "Acme",
        "last_touch_at": AT - timedelta(days=3),
        "touches": (touch(3, "Pricing", "Could you send the pricing proposal by Friday? "
                                        "Our AI pilot budget is approved."),
                    touch(20, "Golf", "Loved the golf weekend with your team.", "in"),
                    touch(30, "Intro", "Great to meet you at the summit.", "out")),
    }
    values.update(fields)
    return ContactProfile(**values)  # type: ignore[arg-type]


def meeting(**fields: object) -> MeetingInfo:
    values: dict[str, object] = {
        "meeting_id": 1, "title": "Pilot review", "starts_at": AT, "ends_at": AT +
        timedelta(hours=1), "location": "Room 4", "attendees": ("ann@acme.example",
                                                                "new@else.example"),
        "description": "Review the AI pilot results. Please bring the budget numbers.",
        "timezone": "Europe/Berlin",
    }
    values.update(fields)
    return MeetingInfo(**values)  # type: ignore[arg-type]


def test_briefing_is_built_from_the_meeting_and_the_history() -> None:
    text = LocalProvider().briefing(meeting(), [profile()])
    assert text.startswith("# Briefing: Pilot review\nWhen: Thursday 02 May 2024, 16:00–17:00 "
                           "CEST\nWhere: Room 4\nAttendees: Ann Lee (Acme), new@else.example "
                           "(not in your contacts)\n")
    assert "## Agenda\nReview the AI pilot results.\n- Please bring the budget numbers.\n" in text
    assert 'Last touch: 29 Apr 2024 (3 days before the meeting), email from them "Pricing"' \
        in text
    assert "- Could you send the pricing proposal by Friday?" in text  # an open item
    assert "Interests: sales (pricing, proposal); ai & data (ai, pilot); sports (golf)\n" in text
    assert "- Ann Lee cares about sales (mentioned: pricing, proposal).\n" in text
    assert "## Talking points\n" in text
    assert text == LocalProvider().briefing(meeting(), [profile()])  # byte-identical


def test_briefing_without_history_says_so() -> None:
    text = LocalProvider().briefing(meeting(description=None), [profile(touches=(),
                                                                        last_touch_at=None)])
    assert "Last touch: none recorded" in text and "## Agenda" not in text


@pytest.mark.parametrize("purpose", PURPOSES)
def test_drafts_fill_their_template_with_real_context(purpose: str) -> None:
    draft = LocalProvider().draft_message(profile(), purpose, "See the attached deck.",
                                          sender="Dana Demo")
    assert draft.startswith("Subject: ") and "\n\nHi Ann,\n\n" in draft
    assert "See the attached deck." in draft and draft.endswith("Best regards,\nDana Demo\n")
    assert draft == LocalProvider().draft_message(profile(), purpose, "See the attached deck.",
                                                  sender="Dana Demo")
    expected = {"follow_up": 'Thanks again for our conversation about "Pricing" on 29 April. To '
                             'pick up where we left off: "Could you send the pricing proposal '
                             'by Friday?"',
                # the personal interest for a check-in, a work one for an introduction
                "check_in": "Last time you mentioned golf: how has that been going?",
                "intro": "My name is Dana Demo, and I wanted to introduce myself. I understand "
                         "pricing is on your mind",
                "thank_you": "I especially appreciated your thoughts on AI pilot budget."}
    assert expected[purpose] in draft


def test_a_draft_for_a_contact_without_history_still_reads_well() -> None:
    draft = LocalProvider().draft_message(profile(name=None, touches=(), company=None),
                                          "thank_you")
    assert draft == ("Subject: Thank you\n\nHi there,\n\nThank you for your time.\n\n"
                     "I look forward to staying in touch.\n\nBest regards\n")
    with pytest.raises(ValueError, match="purpose"):
        LocalProvider().draft_message(profile(), "blackmail")
