"""One error vocabulary for every adapter (DESIGN §3): classify once, at the edge, never by message text later.

- `Throttled` and `Transient` are worth retrying: the worker gives the message back to the queue (SQS retries,
  then the DLQ). `Throttled` may carry a delay hint.
- `CredentialsRejected` is a `Transient` that no order caused: a system refused our credentials (Oro's token,
  Cin7's key) or the secret holding them cannot be read. It is an outage, alarmed at once, never a per-order
  exception: the worker drops its cached secrets and gives the message back with a growing delay.
- `Permanent` means the request or the data is wrong: retrying cannot help, so it becomes a named exception.
- `NotFound` is a `Permanent` that callers often treat as an answer ("no such sale yet").

Messages never include secrets or request bodies; they name the system, the operation and the status.
"""

from __future__ import annotations


class IntegrationError(Exception):
    """Base of the vocabulary. `system` is e.g. "cin7" or "oro"; `status` the HTTP status if any."""

    retryable: bool = False

    def __init__(self, message: str, *, system: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.system = system
        self.status = status


class Transient(IntegrationError):
    """Timeouts, connection errors, 5xx: the outcome may be unknown; retry later."""

    retryable = True


class CredentialsRejected(Transient):
    """`system` refused our credentials (or they cannot be read): every call fails until a person fixes the
    secret. Not retried inside the call (the same credentials get the same answer), but by the queue."""


class Throttled(Transient):
    """The remote system (or our own rate budget) said slow down."""

    def __init__(
        self,
        message: str,
        *,
        system: str = "",
        status: int | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message, system=system, status=status)
        self.retry_after_seconds = retry_after_seconds


class Permanent(IntegrationError):
    """The request or the data is wrong; the same call will fail again."""


class NotFound(Permanent):
    """The record does not exist."""


class AlreadyFulfilled(Permanent):
    """The ERP sale has been picked, packed or shipped (in part): it can no longer simply be voided."""


class ConfigError(Exception):
    """The configuration is invalid; the message names the bad key and why."""
