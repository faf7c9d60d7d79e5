"""A task message as the Redis commands kombu would run to publish it, captured instead of run,
so beat can run them inside its exactly-once Lua script (runtime/broker/fires.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from celery import Celery


class _Collector:
    """Stands in for kombu's Redis PublishBatch (Producer.batch()): the transport routes the
    message and hands over its final commands; they are kept here, never executed."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.commands: list[tuple[str, tuple[Any, ...]]] = []

    def publish(self, message: Any, **kwargs: Any) -> Any:
        return self.channel.basic_publish(message, _publish_batch=self, **kwargs)

    def add(self, name: str, *args: Any) -> None:
        self.commands.append((name, args))

    def flush(self) -> None:
        """Nothing to send: the caller runs the commands."""

    def discard(self) -> None:
        self.commands.clear()

    def close(self) -> None:
        """Nothing held open."""


def publish_commands(
    app: Celery,
    task: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    task_id: str,
    options: Mapping[str, Any],
) -> list[tuple[str, tuple[Any, ...]]]:
    """The Redis commands that publish `task` with Celery's own routing, serializer and
    protocol; queue declarations (idempotent) happen now, the message itself does not."""
    with app.producer_or_acquire() as producer:  # pooled: no connection set up per fire
        channel = producer.channel
        collector = _Collector(channel)
        channel.create_publish_batch = lambda max_size: collector
        try:
            with producer.batch():
                app.send_task(
                    task,
                    args=list(args),
                    kwargs=dict(kwargs),
                    task_id=task_id,
                    producer=producer,
                    **options,
                )
        finally:
            del channel.create_publish_batch  # the pooled channel publishes normally again
        if not collector.commands:
            raise RuntimeError(f"the broker transport published {task} without a batch")
        return collector.commands
