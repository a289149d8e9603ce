"""The QueuePauses extension: workers honour stored pauses at start and resume only their own queues."""
from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.worker.control import control_command

from app.platform.extensions import Extension
from app.platform.pauses import RESUME_COMMAND

log = logging.getLogger(__name__)


class QueuePauses(Extension):
    name = "queue pauses"

    def setup(self, app: Celery) -> None:
        # Remote-control commands are process-wide in Celery; registering twice replaces the first.
        control_command(args=[("queue", str)], signature="<queue>", name=RESUME_COMMAND)(resume_own_queue)

    def worker_ready(self, sender: Any = None, **_: Any) -> None:
        """Stop consuming the queues paused in the dashboard, before the first message is fetched.

        worker_ready fires after basic_consume and before the event loop's first poll,
        so on Redis no message of a paused queue is taken. The queues this worker was
        started with are remembered for resume.
        """
        consumer = sender
        consumer.switchyard_started_queues = frozenset(consumer.app.amqp.queues.consume_from)
        from app.platform.pauses import paused_queues

        try:
            paused = paused_queues()
        except Exception:  # noqa: BLE001 - a worker without the database still serves unpaused queues
            log.exception("could not read the paused queues; consuming every queue of this worker")
            return
        for queue in sorted(consumer.switchyard_started_queues & set(paused)):
            log.warning("queue %s is paused (by %s at %s): not consuming it until it is resumed",
                        queue, paused[queue].paused_by or "?", paused[queue].paused_at)
            consumer.cancel_task_queue(queue)


def resume_own_queue(state: Any, queue: str, **_: Any) -> dict[str, Any]:
    """add_consumer, but only on workers started to consume this queue (a pool's own queues)."""
    consumer = state.consumer
    started: frozenset[str] = getattr(consumer, "switchyard_started_queues", frozenset())
    if queue not in started:
        return {"ok": f"{queue} is not a queue of this worker", "resumed": False}
    consumer.call_soon(consumer.add_task_queue, queue)
    return {"ok": f"consuming {queue} again", "resumed": True}
