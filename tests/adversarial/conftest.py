"""The adversarial suites attack the same worlds the gateway tests build: a real anvil consortium
with one finished job, and the bank's gateway over it on loopback."""

from tests.gateway.conftest import consortium, gateway  # noqa: F401  # fixtures shared with tests/gateway, by import
