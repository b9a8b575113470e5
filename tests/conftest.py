"""Shared test fixtures, one plugin module per real thing the tests talk to over HTTP."""

pytest_plugins = [
    "tests.fixtures.aws",
    "tests.fixtures.oro_sandbox",
    "tests.fixtures.cin7_sandbox",
    "tests.fixtures.local_runtime",
]
