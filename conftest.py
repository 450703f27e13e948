"""Load the fixture modules that start the real servers the tests talk to."""

pytest_plugins = [
    "tests.fixtures.servers",
    "tests.fixtures.worker",
    "tests.fixtures.browser",
]
