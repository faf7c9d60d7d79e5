"""What air checks before a send and before a task starts, beyond what Celery does:

- unique tasks: a send whose task name and key are already claimed returns the claim's id;
- no second run: a redelivered message whose task already has a completion marker
  (runtime/broker/fetch.py) or a stored SUCCESS is acknowledged without running (its first
  run finished, but the ack was lost, e.g. in a broker outage);
- cluster-wide rate limits: a start books its slot in Redis; a task whose slot is later is
  sent again to start then, so no worker process sleeps on it.
"""

from __future__ import annotations

import inspect
import logging
import os
from typing import Any

from celery import states
from celery.exceptions import Ignore

from runtime.broker.clients import broker_client
from runtime.broker.deadletter import DeadLetter, DeadLetterStore
from runtime.broker.fetch import DONE
from runtime.broker.fires import Claim
from runtime.broker.ratelimit import Limiter
from runtime.broker.unique import Claims, claim_key
from runtime.compiler.plan import TaskPlan

logger = logging.getLogger("air.guards")

REDELIVERIES = "air:redeliveries:{}"  # per task id: how often its message came back
MIN_REDELIVERIES = 2  # a crash or two is no poison: even a task without retries gets these
BOOKED = "air_rate_booked"  # header: this message already holds its rate-limit slot
REDELIVERED = "redelivered"  # header kombu's Redis transport sets on a restored message
START_WITHIN = 0.05  # a slot this close is taken now rather than by a second send
DEFER_AT_MOST = 300.0  # a start is booked at most this far ahead; later ones ask again then

_clients: dict[tuple[int, str], Any] = {}  # (pid, url): one client per process, fork-safe


def _client(conf: Any) -> Any:
    """The broker client of this process for the app settings `conf`."""
    key = (os.getpid(), conf.broker_url)
    if key not in _clients:
        _clients[key] = broker_client(conf)
    return _clients[key]


def claims(app: Any) -> Claims:
    return Claims(_client(app.conf))


def arguments(app: Any, name: str, args: Any, kwargs: Any) -> dict[str, Any]:
    """The send's arguments by parameter name (positional ones bound to the task's signature)."""
    bound = dict(kwargs or {})
    if args:
        if name not in app.tasks:
            app.loader.import_default_modules()  # `air send` has not imported the task code
        task = app.tasks.get(name)
        if task is None:
            return bound
        try:
            bound = dict(inspect.signature(task.run).bind_partial(*args, **bound).arguments)
        except TypeError:  # arguments that do not fit: the task will fail on them anyway
            pass
    return bound


def unique_claim(app: Any, policy: TaskPlan, args: Any, kwargs: Any, task_id: str) -> Claim:
    """The claim a send of a unique task needs (not taken: beat takes it in its fire commit)."""
    assert policy.unique_for is not None
    key = claim_key(policy.name, policy.unique_key, arguments(app, policy.name, args, kwargs))
    return Claim(key, task_id, policy.unique_for)


def existing_claim(app: Any, policy: TaskPlan, args: Any, kwargs: Any, task_id: str) -> str | None:
    """Claim a unique task's key for `task_id`; the id of a task already holding it, or None."""
    claim = unique_claim(app, policy, args, kwargs, task_id)
    holder = claims(app).claim(claim.key, task_id, claim.hold)
    return None if holder in (None, task_id) else holder  # a retry or deferral holds its own


def release(app: Any, policy: TaskPlan, args: Any, kwargs: Any, task_id: str) -> None:
    key = claim_key(policy.name, policy.unique_key, arguments(app, policy.name, args, kwargs))
    claims(app).release(key, task_id)


def before_start(task: Any, policy: TaskPlan) -> None:
    """Raise Ignore (the message is acknowledged, no state stored) when the task must not run
    now: it already succeeded, or its rate-limit slot is later (it has been sent again)."""
    request = task.request
    headers = request.headers or {}
    delivery = request.delivery_info or {}
    if headers.get(REDELIVERED) or delivery.get(REDELIVERED):
        if _succeeded(task, request.id):
            logger.warning(
                "task %s[%s] already succeeded: redelivery acknowledged, not run",
                task.name,
                request.id,
            )
            raise Ignore()
        _count_redelivery(task, policy)
    if policy.cluster_rate_limit and not headers.get(BOOKED):
        limiter = Limiter(_client(task.app.conf))
        wait = limiter.book(task.name, policy.cluster_rate_limit, DEFER_AT_MOST)
        if wait is None or wait > START_WITHIN:
            _send_again(task, DEFER_AT_MOST if wait is None else wait, booked=wait is not None)
            raise Ignore()


def dead_letter_of(
    request: Any, task: str, reason: str, message: str, hostname: str, *, retries: int = 0
) -> DeadLetter:
    """The dead letter of a task request: its id, arguments and queue, and why it is kept."""
    return DeadLetter(
        id=request.id,
        task=task,
        reason=reason,
        args=list(request.args or ()),
        kwargs=dict(request.kwargs or {}),
        queue=(request.delivery_info or {}).get("routing_key"),
        retries=retries,
        message=message,
        hostname=hostname,
    )


def _count_redelivery(task: Any, policy: TaskPlan) -> None:
    """A message comes back after the visibility timeout when its worker died mid-run, and a
    solo process's or a whole worker's death counts against no retry limit: bound it here, or
    a task that kills its process would come back forever. Past max(retry.max,
    MIN_REDELIVERIES) redeliveries it is dead-lettered as worker-lost."""
    request = task.request
    client = _client(task.app.conf)
    key = REDELIVERIES.format(request.id)
    count = int(client.incr(key))
    client.expire(key, 86400)
    limit = max(policy.retry.max, MIN_REDELIVERIES)
    if count <= limit:
        return
    DeadLetterStore(client).add(
        dead_letter_of(
            request,
            task.name,
            "worker-lost",
            f"its worker died {count} times running it (at most {limit} redeliveries)",
            request.hostname or "",
            retries=count,
        )
    )
    logger.error(
        "task %s[%s] dead-lettered: its worker died %d times", task.name, request.id, count
    )
    raise Ignore()


def _succeeded(task: Any, task_id: str) -> bool:
    """Its completion marker (written with its acknowledgement, result stored or not), or a
    stored SUCCESS."""
    if _client(task.app.conf).exists(DONE.format(task_id)):
        return True
    return bool(task.AsyncResult(task_id).state == states.SUCCESS)


def _send_again(task: Any, countdown: float, *, booked: bool) -> None:
    request = task.request
    headers = {k: v for k, v in (request.headers or {}).items() if k not in (REDELIVERED, BOOKED)}
    if booked:
        headers[BOOKED] = True
    task.signature_from_request(request, countdown=countdown, headers=headers).apply_async()
