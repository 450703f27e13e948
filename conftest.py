"""Load the fixture modules that start the real servers the tests talk to."""

from collections.abc import Iterator

import pytest
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
