import pytest

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
