import logging
import uuid

import kombu
import pytest
from celery.utils.log import get_logger
from django.core.cache import cache

from webmail.celery import app


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_answers_on_the_test_redis(celery_worker, redis_server):
    result = app.send_task("webmail.ping", queue="imap.0")
    assert result.get(timeout=10) == "pong"
    assert celery_worker.alive()
    assert str(redis_server.port) in app.conf.broker_url


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_comes_back(celery_worker):
    celery_worker.kill()
    assert not celery_worker.alive()
    pending = app.send_task("webmail.ping", queue="default")
    celery_worker.start()
    # The task sent while no worker ran waits in Redis and is run on restart.
    assert pending.get(timeout=30) == "pong"


def test_tasks_not_acknowledged_while_redis_is_down_are_one_warning(
    redis_server, caplog
):
    # What a worker logs (through Celery's logger) for each task that ends
    # while Redis is away: kombu's "Couldn't ack", CRITICAL with a traceback.
    request_logger = get_logger("celery.worker.request")
    with kombu.Connection(redis_server.url) as connection:
        queue = connection.SimpleQueue(f"test-ack-{uuid.uuid4().hex}")
        for n in range(3):
            queue.put({"n": n})
        messages = [queue.get(timeout=5) for _ in range(3)]
        cache.set("redis-answers", 1)  # before the outage: Redis answered
        caplog.set_level(logging.INFO)
        redis_server.stop()
        try:
            for message in messages:
                message.ack_log_error(request_logger, connection.connection_errors)
        finally:
            redis_server.start()
    logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage().split(":")[0] for r in logged] == [
        "Redis is unreachable (a task not acknowledged"
    ]
    assert not [r for r in caplog.records if r.exc_info]
