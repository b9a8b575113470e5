"""Secrets from Secrets Manager through Powertools Parameters, cached for `max_age` seconds.

Values never reach logs or exception messages: errors name the secret and the missing key only.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities import parameters

from shared.errors import ConfigError


def get_secret_json(name: str, *, required_keys: tuple[str, ...] = (), max_age: int = 300) -> dict[str, Any]:
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
