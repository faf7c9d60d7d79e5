"""Worker-side hooks: the dead-letter store fed from Celery's signals, and the start-up check
that the code registers exactly the tasks the config declares."""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

from celery import signals
from celery.exceptions import TimeLimitExceeded, WorkerLostError

from runtime.broker import workflow_runs as workflows
from runtime.broker.clients import broker_client
from runtime.broker.deadletter import DeadLetter, DeadLetterStore
from runtime.broker.result_backend import RedisResultBackend
from runtime.broker.workflow_runs import WorkflowRuns
from runtime.celeryapp import catalogue, guards, logs
from runtime.compiler.plan import Plan

logger = logging.getLogger("air.worker")

_installed: list[Any] = []  # the app the hooks serve; signals are process-wide in Celery
_stores: dict[str, DeadLetterStore] = {}


def install(app: Any) -> None:
    _installed[:] = [app]
    if getattr(install, "connected", False):
        return
    signals.task_failure.connect(_on_failure, weak=False)
    signals.task_success.connect(_on_success, weak=False)
    signals.task_revoked.connect(_on_revoked, weak=False)
    signals.task_unknown.connect(_on_unknown, weak=False)
    signals.task_rejected.connect(_on_rejected, weak=False)
    signals.setup_logging.connect(_setup_logging, weak=False)  # replaces Celery's own setup
    signals.task_prerun.connect(_bind_task, weak=False)
    signals.task_postrun.connect(_unbind_task, weak=False)
    signals.worker_init.connect(_check_registry, weak=False)  # after imports are loaded
    signals.beat_init.connect(_check_registry, weak=False)
    signals.worker_ready.connect(_flush_spool, weak=False)
    install.connected = True  # type: ignore[attr-defined]


def _setup_logging(loglevel: int | str | None = None, **_: Any) -> None:
    logs.configure(loglevel or "INFO")


def _bind_task(sender: Any = None, **_: Any) -> None:
    if sender is not None:
        logs.bind_task(sender)


def _unbind_task(**_: Any) -> None:
    logs.unbind_task()


def _flush_spool(**_: Any) -> None:
    """Results spooled while Redis was down (runtime/broker/result_backend.py), written when
    a worker starts again."""
    backend = _app().backend
    if isinstance(backend, RedisResultBackend):
        try:
            backend.flush_spool()
        except Exception:  # the spool stays for the next flush
            logger.exception("could not write the spooled results")


def _app() -> Any:
    return _installed[0]


def _plan() -> Plan:
    return _app().air_plan  # type: ignore[no-any-return]


def store() -> DeadLetterStore:
    conf = _app().conf
    url = conf.broker_url
    if url not in _stores:
        _stores[url] = DeadLetterStore(broker_client(conf, timeout=10, connect_timeout=5))
    return _stores[url]


def _record(letter: DeadLetter) -> None:
    try:
        store().add(letter)
        logger.error(
            "dead letter: %s[%s] %s: %s %s",
            letter.task,
            letter.id,
            letter.reason,
            letter.exception,
            letter.message,
        )
    except Exception:  # the broker is down: say so loudly; the result backend still has it
        logger.exception("could not record dead letter %s[%s]", letter.task, letter.id)


def _release_claim(name: str, task_id: str | None, args: Any, kwargs: Any) -> None:
    """A unique task that ended gives its claim back (its TTL covers a worker that died)."""
    policy = _plan().tasks.get(name)
    if policy is None or not policy.unique_for or not task_id:
        return
    try:
        guards.release(_app(), policy, args, kwargs, task_id)
    except Exception:  # the broker is down: the claim expires after unique.for
        logger.warning("could not release the unique claim of %s[%s]", name, task_id)


def _workflow_of(request: Any) -> dict[str, str] | None:
    """{"name", "id", "step"} when the task runs as a step of a declared workflow."""
    headers = getattr(request, "headers", None) or {}
    if workflows.RUN not in headers:
        return None
    return {
        "name": str(headers.get(workflows.NAME)),
        "id": str(headers[workflows.RUN]),
        "step": str(headers.get(workflows.STEP)),
    }


def _step_ended(request: Any, *, succeeded: bool) -> dict[str, str] | None:
    step = _workflow_of(request)
    if step is not None:
        try:
            WorkflowRuns(store().client).step_ended(step["id"], step["step"], succeeded=succeeded)
        except Exception:  # the broker is down: progress lags, the run itself goes on
            logger.warning("could not record the end of workflow step %s", step)
    return step


def _on_success(sender: Any = None, **_: Any) -> None:
    request = getattr(sender, "request", None)
    _step_ended(request, succeeded=True)
    if request is not None:
        _release_claim(sender.name, request.id, request.args, request.kwargs)


def _on_failure(
    sender: Any = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    args: Any = None,
    kwargs: Any = None,
    einfo: Any = None,
    **_: Any,
) -> None:
    name = getattr(sender, "name", "?")
    request = getattr(sender, "request", None)
    step = _step_ended(request, succeeded=False)
    _release_claim(name, task_id, args, kwargs)
    policy = _plan().tasks.get(name)
    if policy is not None and not policy.dead_letter:
        return
    if isinstance(exception, TimeLimitExceeded):
        reason = "timeout"
    elif isinstance(exception, WorkerLostError):
        reason = "worker-lost"
    else:
        reason = "failed"
    delivery = getattr(request, "delivery_info", None) or {}
    _record(
        DeadLetter(
            id=task_id or "?",
            task=name,
            reason=reason,
            args=list(args or ()),
            kwargs=dict(kwargs or {}),
            queue=delivery.get("routing_key") or (policy.queue if policy else None),
            retries=getattr(request, "retries", 0) or 0,
            exception=type(exception).__name__ if exception else "",
            message=str(exception or ""),
            traceback=str(getattr(einfo, "traceback", "") or ""),
            hostname=getattr(request, "hostname", None) or socket.gethostname(),
            workflow=step,
        )
    )


def _on_revoked(
    request: Any = None,
    terminated: bool = False,
    signum: Any = None,
    expired: bool = False,
    **_: Any,
) -> None:
    if request is None:
        return
    _release_claim(request.name, request.id, request.args, request.kwargs)
    if not expired:
        return  # an operator's revoke is deliberate, not a loss
    _record(
        guards.dead_letter_of(
            request,
            request.name,
            "expired",
            "the message expired before a worker started it",
            socket.gethostname(),
        )
    )


def _on_unknown(
    name: str | None = None,
    id: str | None = None,
    message: Any = None,
    exc: BaseException | None = None,
    **_: Any,
) -> None:
    args, kwargs = _body(message)
    _record(
        DeadLetter(
            id=id or "?",
            task=name or "?",
            reason="unknown-task",
            args=args,
            kwargs=kwargs,
            queue=(getattr(message, "delivery_info", None) or {}).get("routing_key"),
            exception=type(exc).__name__ if exc else "",
            message="no worker on this queue registers this task",
            hostname=socket.gethostname(),
        )
    )


def _on_rejected(message: Any = None, exc: BaseException | None = None, **_: Any) -> None:
    headers = getattr(message, "headers", None) or {}
    args, kwargs = _body(message)
    _record(
        DeadLetter(
            id=str(headers.get("id", "?")),
            task=str(headers.get("task", "?")),
            reason="rejected",
            args=args,
            kwargs=kwargs,
            exception=type(exc).__name__ if exc else "",
            message=str(exc or "the message could not be decoded"),
            hostname=socket.gethostname(),
        )
    )


def _body(message: Any) -> tuple[list[Any], dict[str, Any]]:
    try:
        body = message.decode()
        if isinstance(body, list | tuple) and len(body) >= 2:
            return list(body[0]), dict(body[1])
    except Exception:  # undecodable: the reason is recorded, the body cannot be
        logger.debug("undecodable message body", exc_info=True)
    return [], {}


def _check_registry(sender: Any = None, **_: Any) -> None:
    """Refuse to start when code and config disagree about the task catalogue."""
    app = _app()
    mismatch = catalogue.compare(app)
    if mismatch:
        message = "air: the tasks in the code and in the config disagree:\n" + "\n".join(
            f"  - {line}" for line in mismatch.lines(app.air_plan)
        )
        print(message, file=sys.stderr)
        raise SystemExit(1)
