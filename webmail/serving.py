"""How uvicorn runs the Django views: pages as WSGI, streams as ASGI.

Under Django's ASGI handler a sync view and its middleware hop between the
event loop and a new thread several times per request, and each request
opens a new database connection. Pages are plain sync views, so they run
as WSGI in a fixed pool of threads, which keep their database connections
(CONN_MAX_AGE). Views that stream from Redis with async iterators (the event
stream, attachments) stay on ASGI, where a slow reader holds no thread; so
do the async views that wait for a body the worker has not sent yet
(webmail/mail/bodies.py), where a mail server that hangs holds none.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from a2wsgi import WSGIMiddleware
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished
from django.db import connections
from django.urls import Resolver404, resolve

from webmail.after_response import wsgi_with_work_after

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
View = TypeVar("View", bound=Callable[..., Any])

_on_asgi: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "on_asgi", default=False
)


def streams(view: View) -> View:
    """Mark a sync view whose response streams from an async iterator."""
    view.streams = True  # type: ignore[attr-defined]
    return view


def needs_asgi(path: str) -> bool:
    """Whether the view at this path must run under the ASGI handler."""
    try:
        view = resolve(path).func
    except Resolver404:
        return False
    return asyncio.iscoroutinefunction(view) or getattr(view, "streams", False)


class Application:
    """Send each HTTP request to the WSGI thread pool or the ASGI handler."""

    def __init__(self, asgi_app: ASGIApp, wsgi_app: WSGIHandler, threads: int) -> None:
        self.asgi_app = asgi_app
        self.pages = WSGIMiddleware(
            wsgi_with_work_after(wsgi_app),
            workers=threads,
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not needs_asgi(scope["path"]):
            await self.pages(scope, receive, send)  # type: ignore[arg-type]
            return
        _on_asgi.set(True)
        await self.asgi_app(scope, receive, send)

    def close(self) -> None:
        """Let the page threads end once their requests are done."""
        self.pages.executor.shutdown(wait=False)


def _close_asgi_connections(**_: Any) -> None:
    # An ASGI request runs in a thread of its own that ends with it: a
    # connection kept for reuse there would only wait to be collected.
    if _on_asgi.get():
        for connection in connections.all(initialized_only=True):
            connection.close()


request_finished.connect(_close_asgi_connections)
