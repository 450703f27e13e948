"""Load the fixture modules that start the real servers the tests talk to."""

import asyncio
from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.utils import translation

pytest_plugins = [
    "tests.fixtures.servers",
    "tests.fixtures.worker",
    "tests.fixtures.browser",
]


@pytest.fixture(autouse=True)
def _no_language_left_over() -> Iterator[None]:
    # A request leaves its language active in the thread that served it (a
    # user's Japanese preference, say); the next test must not inherit it.
    yield
    translation.deactivate()


@pytest.fixture(scope="session", autouse=True)
def _async_views_connection_closed(django_db_setup: None) -> Iterator[None]:
    # Views run by AsyncClient outside a request's thread context query from
    # asgiref's one shared thread, and the test client does not close
    # connections at a request's end: left open, PostgreSQL's test database
    # could not be dropped at the end of the run.
    yield
    asyncio.run(sync_to_async(connections.close_all)())
