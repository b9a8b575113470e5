"""Secrets from Secrets Manager through Powertools Parameters, cached for `max_age` seconds.

Values never reach logs or exception messages: errors name the secret and the missing key only. A secret that
holds a system's API credentials (`system` given) and cannot be read or lacks a key is `CredentialsRejected`:
an outage to alarm on and retry until the secret is fixed, like the system refusing it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities import parameters

from shared.errors import ConfigError, CredentialsRejected


def get_secret_json(
    name: str, *, required_keys: tuple[str, ...] = (), max_age: int = 300, system: str | None = None
) -> dict[str, Any]:
    try:
        return _read(name, required_keys, max_age)
    except ConfigError as err:
        if system is None:
            raise
        raise CredentialsRejected(f"{system}: {err}", system=system) from None


def _read(name: str, required_keys: tuple[str, ...], max_age: int) -> dict[str, Any]:
    try:
        value = parameters.get_secret(name, transform="json", max_age=max_age)
    except parameters.exceptions.TransformParameterError:
        raise ConfigError(f"secret {name!r} is not a JSON object") from None
    except parameters.exceptions.GetParameterError as err:
        raise ConfigError(f"secret {name!r} could not be read: {type(err.__cause__).__name__}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"secret {name!r} is not a JSON object")
    missing = [k for k in required_keys if not value.get(k)]
    if missing:
        raise ConfigError(f"secret {name!r} lacks {', '.join(missing)}")
    return value
