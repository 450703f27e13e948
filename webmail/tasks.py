"""Celery tasks. Tasks take ids and plain values and are safe to run twice."""

from celery import shared_task


@shared_task(name="webmail.ping")
def ping() -> str:
    """Answer at once; used to see that a worker is up."""
    return "pong"
