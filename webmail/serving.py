"""How uvicorn runs the Django views: pages as WSGI, streams as ASGI.

Under Django's ASGI handler a sync view and its middleware hop between the
event loop and a new thread several times per request, and each request
opens a new database connection. Pages are plain sync views, so they run
as WSGI in a fixed pool of threads, which keep their database connections
(CONN_MAX_AGE). Views that stream from Redis with async iterators (the event
stream, attachments) stay on ASGI, where a slow reader holds no thread; so
do the async views that wait for a body the worker has not sent yet
(webmail/mail/bodies.py), where a mail server that hangs holds none.

A page's answer is built whole in its thread and handed to the event loop
once (PageThreads): a2wsgi's bridge waited for the loop at the status line,
at each piece of the body and at its end, three round trips between threads
that cost a list page more CPU than its database queries. Streamed answers
(WhiteNoise's files) still go out piece by piece, each as the socket takes it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import itertools
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from a2wsgi.wsgi import Body, build_environ
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished
from django.db import connections
from django.urls import Resolver404, resolve

from webmail.after_response import wsgi_with_work_after

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
Send = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]
WSGIApp = Callable[..., Any]
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
    if len(path) > CACHED_PATH_LENGTH:
        return _resolves_to_async(settings.ROOT_URLCONF, path)
    return _needs_asgi(settings.ROOT_URLCONF, path)


# Resolving costs a page about as much as one of its Redis reads, and the
# handler resolves again; a user's pages come back to the same few paths.
# Made-up long paths are not kept: the cache stays a few hundred KiB.
CACHED_PATH_LENGTH = 200


@functools.lru_cache(maxsize=4096)
def _needs_asgi(urlconf: str, path: str) -> bool:
    return _resolves_to_async(urlconf, path)


def _resolves_to_async(urlconf: str, path: str) -> bool:
    try:
        view = resolve(path, urlconf).func
    except Resolver404:
        return False
    return asyncio.iscoroutinefunction(view) or getattr(view, "streams", False)


class PageThreads:
    """Run a WSGI app in a pool of threads for uvicorn, one hand-over per answer."""

    def __init__(self, app: WSGIApp, threads: int) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(
            thread_name_prefix="WSGI", max_workers=threads
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[dict[str, Any]]] = loop.create_future()
        environ = build_environ(scope, Body(loop, receive))  # type: ignore[arg-type]
        run = contextvars.copy_context().run
        respond = functools.partial(run, self._respond, environ, loop, answer, send)
        job = loop.run_in_executor(self.executor, respond)
        waiting: list[asyncio.Future[Any]] = [answer, job]
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if answer.done():
            for message in answer.result():
                await send(message)
        # The thread goes on with the request's work left for after the
        # answer (webmail/after_response.py); its errors surface here.
        await job

    def _respond(
        self,
        environ: Any,
        loop: asyncio.AbstractEventLoop,
        answer: asyncio.Future[list[dict[str, Any]]],
        send: Send,
    ) -> None:
        start: dict[str, Any] = {}
        written: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            start.update(
                type="http.response.start",
                status=int(status.split(" ", 1)[0]),
                headers=[
                    (
                        name.strip().encode("latin1").lower(),
                        value.strip().encode("latin1"),
                    )
                    for name, value in headers
                ],
            )
            return written.append

        body = self.app(environ, start_response)
        try:
            if getattr(body, "streaming", True):
                self._stream(loop, send, start, written, body)
                return
            content = b"".join([*written, *body])
            messages = [start, {"type": "http.response.body", "body": content}]
            loop.call_soon_threadsafe(_answer, answer, messages)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    @staticmethod
    def _stream(
        loop: asyncio.AbstractEventLoop,
        send: Send,
        start: dict[str, Any],
        written: list[bytes],
        body: Any,
    ) -> None:
        """Send each piece once the socket has taken the one before."""

        def out(message: dict[str, Any]) -> None:
            asyncio.run_coroutine_threadsafe(send(message), loop).result()

        out(start)
        for chunk in itertools.chain(written, body):
            out({"type": "http.response.body", "body": chunk, "more_body": True})
        out({"type": "http.response.body", "body": b""})


def _answer(answer: asyncio.Future[list[dict[str, Any]]], messages: Any) -> None:
    if not answer.done():
        answer.set_result(messages)


class Application:
    """Send each HTTP request to the WSGI thread pool or the ASGI handler."""

    def __init__(self, asgi_app: ASGIApp, wsgi_app: WSGIHandler, threads: int) -> None:
        self.asgi_app = asgi_app
        self.pages = PageThreads(wsgi_with_work_after(wsgi_app), threads)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not needs_asgi(scope["path"]):
            await self.pages(scope, receive, send)
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
