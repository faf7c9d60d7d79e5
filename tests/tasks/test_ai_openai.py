"""The OpenAI-compatible provider against a real loopback fake server, through the tasks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

import tasks.ai  # noqa: F401  registers the ai.* tasks (until tasks/__init__ imports it)
from runtime.broker.deadletter import DeadLetterStore
from runtime.process.embedded import free_port
from tasks import store
from tasks.ai.openai_compat import parse_json_reply
from tasks.ai.results import MalformedResult, check_analysis, check_interests
from tasks.ai.settings import AISettings
from tasks.errors import PermanentError, TransientError
from tests.tasks.ai_server import FakeOpenAI, completion
from tests.tasks.ai_world import World, build_world, snapshot

KEY = "sk-test-not-a-real-key"
ANALYSIS = {"sentiment": {"label": "positive", "score": 0.8}, "topics": ["Pricing", "AI"],
            "keywords": ["pricing proposal"], "summary": "Ann asks for the pricing proposal.",
            "action_items": [{"text": "Send the pricing proposal by Friday."}]}
INTERESTS = {"interests": [{"interest": "Golf", "weight": 0.9, "evidence": "Loved the golf.",
                            "terms": ["golf"]},
                           {"interest": "AI pilots", "weight": 1, "evidence": []}]}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    monkeypatch.setenv("AIR_AI_PROVIDER", "openai")
    monkeypatch.setenv("AIR_AI_BASE_URL", fake.base_url)
    monkeypatch.setenv("AIR_AI_MODEL", "fake-model")
    monkeypatch.setenv("AIR_AI_API_KEY", KEY)
    monkeypatch.setenv("AIR_AI_TIMEOUT", "5")
    with fake.running():
        yield fake


@pytest.fixture
def world(db: sa.Engine) -> World:
    return build_world()


def apply(air_app: Any, name: str, **kwargs: Any) -> Any:
    return air_app.tasks[name].apply(kwargs=kwargs)


def test_analyze_sends_a_chat_completion_and_stores_the_checked_reply(
    air_app: Any, server: FakeOpenAI, world: World
) -> None:
    server.reply = lambda request: (200, completion(ANALYSIS))
    interaction = world.interactions[1]
    result = apply(air_app, "ai.analyze", interaction_id=interaction)
    assert result.result == {"interaction_id": interaction, "provider": "openai",
                             "status": "saved"}
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    body = request["json"]
    assert body["model"] == "fake-model" and body["temperature"] == 0
    assert body["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][1]["content"].startswith("Pricing\n\nThanks, the demo was great.")
    with store.transaction(readonly=True) as conn:
        row = store.get_interaction_analysis(conn, interaction, "analysis")
    assert row is not None and row.provider == "openai"
    assert {k: row.results[k] for k in ("topics", "action_items", "engine")} == {
        "topics": ["pricing", "ai"], "action_items": ["Send the pricing proposal by Friday."],
        "engine": "openai/fake-model"}
    state = snapshot()
    again = apply(air_app, "ai.analyze", interaction_id=interaction)
    assert again.result["status"] == "unchanged"
    assert server.calls() == 1  # same text, same model: the model is not asked again
    assert snapshot() == state


def test_interests_briefings_and_drafts_through_the_endpoint(
    air_app: Any, server: FakeOpenAI, world: World
) -> None:
    def reply(request: dict[str, Any]) -> tuple[int, Any]:
        if "response_format" in request["json"]:  # JSON mode: the interests
            return 200, completion(f"```json\n{json.dumps(INTERESTS)}\n```")  # fenced
        return 200, completion("  Drafted by the model.  ")

    server.reply = reply
    interests = apply(air_app, "ai.extract_interests", contact_id=world.ann).result
    assert interests["status"] == "saved" and interests["interests"] == 2
    briefing = apply(air_app, "ai.generate_briefing", meeting_id=world.soon).result
    assert briefing["changed"] == 1
    draft = apply(air_app, "ai.generate_message", contact_id=world.ann, purpose="check_in")
    assert draft.result["status"] == "saved"
    with store.transaction(readonly=True) as conn:
        stored = store.get_contact_analysis(conn, world.ann, "interests")
        brief = store.get_briefing(conn, world.soon)
        message = store.get_generated_message(conn, world.ann, "check_in")
    assert stored is not None and [i["interest"] for i in stored.results["interests"]] == [
        "ai pilots", "golf"]  # heaviest first
    assert stored.results["interests"][1]["evidence"] == ["Loved the golf."]
    assert brief is not None and (brief.content, brief.provider) == (
        "Drafted by the model.\n", "openai")
    assert message is not None and message.provider == "openai"
    prompts = [json.loads(r["json"]["messages"][1]["content"]) for r in server.requests[1:]]
    assert [a["name"] for a in prompts[0]["known_attendees"]] == ["Ann Lee", "Bob Martin"]
    assert prompts[0]["meeting"]["attendees"] == ["ann.lee@acme.example",
                                                  "bob@northwind.example", "new@else.example"]
    assert prompts[1]["purpose"] == "check in" and prompts[1]["sender"] == "Dana Demo"
    assert prompts[1]["contact"]["recent_interactions"][0]["subject"] == "Golf"
    assert "response_format" not in server.requests[1]["json"]  # free text


def test_the_model_is_asked_with_no_database_connection_held(
    air_app: Any, server: FakeOpenAI, world: World
) -> None:
    """Network I/O happens between the read and the write transaction, never inside one: while
    the server answers, the store's pool has no connection checked out."""
    held: list[int] = []

    def reply(request: dict[str, Any]) -> tuple[int, Any]:
        held.append(store.get_engine().pool.checkedout())  # type: ignore[attr-defined]
        if "response_format" not in request["json"]:
            return 200, completion("Free text.")
        return 200, completion(INTERESTS if "interests" in request["json"]["messages"][0][
            "content"] else ANALYSIS)

    server.reply = reply
    for name, kwargs in [("ai.analyze", {"interaction_id": world.interactions[0]}),
                         ("ai.extract_interests", {"contact_id": world.ann}),
                         ("ai.generate_briefing", {"meeting_id": world.soon}),
                         ("ai.generate_message", {"contact_id": world.bob,
                                                  "purpose": "follow_up"})]:
        assert apply(air_app, name, **kwargs).successful(), name
    assert held == [0, 0, 0, 0]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_are_retried_per_policy_then_dead_lettered(
    air_app: Any, server: FakeOpenAI, world: World, redis_url: str, status: int
) -> None:
    server.reply = lambda request: (status, {"error": {"message": "overloaded"}})
    state = snapshot()
    retries = air_app.tasks["ai.analyze"].policy.retry.max  # from config/queues.yaml
    assert retries == 3
    result = apply(air_app, "ai.analyze", interaction_id=world.interactions[0])
    assert result.failed() and isinstance(result.result, TransientError)
    assert server.calls() == 1 + retries  # the first try, then every retry the policy allows
    assert f"answered {status}: overloaded" in str(result.result)
    letter = DeadLetterStore.from_url(redis_url).get(result.id)
    assert letter is not None
    assert (letter.task, letter.exception, letter.retries) == (
        "ai.analyze", "TransientError", retries)
    assert snapshot() == state


def test_a_retry_succeeds_once_the_server_recovers(
    air_app: Any, server: FakeOpenAI, world: World
) -> None:
    server.script.extend([(502, "Bad Gateway"), (500, {"error": "boom"})])
    server.reply = lambda request: (200, completion(ANALYSIS))
    result = apply(air_app, "ai.analyze", interaction_id=world.interactions[0])
    assert result.successful() and result.result["status"] == "saved"
    assert server.calls() == 3


def test_a_batch_retry_redoes_only_what_failed(
    air_app: Any, server: FakeOpenAI, world: World
) -> None:
    server.script.extend([(200, completion(ANALYSIS)), (500, {"error": "boom"})])
    server.reply = lambda request: (200, completion(ANALYSIS))
    result = apply(air_app, "ai.analyze")
    assert result.successful()
    assert server.calls() == 4 + 1  # four pending, one failed and was redone by the retry
    assert result.result["pending"] == 1  # the retry's own work
    with store.transaction(readonly=True) as conn:
        assert store.row_counts(conn)["interaction_analyses"] == 4


def test_a_malformed_briefing_does_not_hold_up_the_others(
    air_app: Any, server: FakeOpenAI, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIR_AI_BRIEFING_HORIZON", "48")  # the meetings in 3 and in 30 hours
    server.script.append((200, completion("")))  # the first briefing: an empty reply
    server.reply = lambda request: (200, completion("Briefing."))
    result = apply(air_app, "ai.generate_briefing")
    assert result.successful() and server.calls() == 2
    assert {k: result.result[k] for k in ("meetings", "written", "failed", "meeting_ids")} == {
        "meetings": 2, "written": 1, "failed": 1, "meeting_ids": [world.later]}
    again = apply(air_app, "ai.generate_briefing")  # the failed one is tried again
    assert again.result["meeting_ids"] == [world.soon]


@pytest.mark.parametrize(("status", "message"), [
    (401, "refused the request (401: invalid api key); check AIR_AI_API_KEY"),
    (403, "refused the request (403"),
    (400, "answered 400: bad model"),
])
def test_client_errors_fail_at_once(
    air_app: Any, server: FakeOpenAI, world: World, redis_url: str, status: int, message: str
) -> None:
    text = {401: "invalid api key", 403: "forbidden", 400: "bad model"}[status]
    server.reply = lambda request: (status, {"error": {"message": text}})
    state = snapshot()
    result = apply(air_app, "ai.generate_message", contact_id=world.ann, purpose="intro")
    assert result.failed() and isinstance(result.result, PermanentError)
    assert message in str(result.result) and KEY not in str(result.result)
    assert server.calls() == 1
    letter = DeadLetterStore.from_url(redis_url).get(result.id)
    assert letter is not None and (letter.exception, letter.retries) == ("PermanentError", 0)
    assert snapshot() == state


@pytest.mark.parametrize(("answer", "reason"), [
    ((200, completion("Sure! Here is the analysis you asked for.")), "the reply is not JSON"),
    ((200, completion({"sentiment": "meh", "topics": []})), "missing keys: keywords"),
    ((200, b"<html>not json</html>"), "the response is not JSON"),
    ((200, {"choices": []}), "no choices[0].message.content"),
    ((200, completion("")), "the reply is empty"),
])
def test_garbage_replies_fail_at_once_with_the_reason(
    air_app: Any, server: FakeOpenAI, world: World, answer: tuple[int, Any], reason: str
) -> None:
    server.reply = lambda request: answer
    result = apply(air_app, "ai.analyze", interaction_id=world.interactions[0])
    assert result.failed() and isinstance(result.result, PermanentError)
    assert reason in str(result.result)
    assert server.calls() == 1


def test_an_unreachable_endpoint_is_transient(
    air_app: Any, server: FakeOpenAI, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIR_AI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")  # nobody there
    result = apply(air_app, "ai.generate_briefing", meeting_id=world.soon)
    assert result.failed() and isinstance(result.result, TransientError)
    assert "ConnectError" in str(result.result)


# --- settings and reply parsing, no server needed -------------------------------------------------

def test_settings_from_the_environment() -> None:
    assert AISettings.from_env({}) == AISettings()
    settings = AISettings.from_env({"AIR_AI_PROVIDER": "OpenAI", "AIR_AI_API_KEY": KEY,
                                    "AIR_AI_BASE_URL": "http://127.0.0.1:9/v1/",
                                    "AIR_AI_BRIEFING_HORIZON": "12"})
    assert (settings.provider, settings.base_url, settings.briefing_hours) == (
        "openai", "http://127.0.0.1:9/v1", 12.0)
    # the horizon's first name still works, and the documented one wins over it
    assert AISettings.from_env({"AIR_AI_BRIEFING_HOURS": "6"}).briefing_hours == 6.0
    assert AISettings.from_env({"AIR_AI_BRIEFING_HOURS": "6",
                                "AIR_AI_BRIEFING_HORIZON": "2"}).briefing_hours == 2.0
    assert KEY not in repr(settings) and settings.json_mode
    assert not AISettings.from_env({"AIR_AI_JSON_MODE": "off"}).json_mode
    with pytest.raises(ValueError, match="AIR_AI_PROVIDER"):
        AISettings.from_env({"AIR_AI_PROVIDER": "magic"})
    with pytest.raises(ValueError, match="AIR_AI_TIMEOUT"):
        AISettings.from_env({"AIR_AI_TIMEOUT": "0"})


def test_json_replies_are_found_in_fences_and_prose() -> None:
    assert parse_json_reply('{"a": 1}') == {"a": 1}
    assert parse_json_reply('```json\n{"a": 1}\n```') == {"a": 1}
    assert parse_json_reply('Here you go: {"a": {"b": 2}} Hope it helps!') == {"a": {"b": 2}}
    with pytest.raises(MalformedResult, match="not JSON"):
        parse_json_reply("{not json}")


def test_checks_tolerate_drift_and_name_what_is_wrong() -> None:
    drifted = check_analysis({"sentiment": "Negative", "topics": ["Billing", "billing"],
                              "keywords": [], "summary": " s ", "action_items": []})
    assert drifted["sentiment"] == {"label": "negative", "score": -0.5}
    assert drifted["topics"] == ["billing"] and drifted["summary"] == "s"
    assert check_analysis({**ANALYSIS, "sentiment": 7})["sentiment"] == {
        "label": "positive", "score": 1.0}
    for bad, reason in [({**ANALYSIS, "topics": "pricing"}, "topics: expected a list"),
                        ({**ANALYSIS, "sentiment": {"label": "angry"}}, "sentiment.label"),
                        ({**ANALYSIS, "summary": None}, "summary"), ([], "JSON object")]:
        with pytest.raises(MalformedResult, match=reason):
            check_analysis(bad)
    with pytest.raises(MalformedResult, match=r"interests\[0\].weight"):
        check_interests([{"interest": "golf", "weight": "heavy"}])
