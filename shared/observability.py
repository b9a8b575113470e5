"""Logger, tracer and metrics for every function, created in one place; and the personal-data mask.

Metrics are PascalCase with `flow` and `system` dimensions (STYLE.md). Logs carry the Oro order id as
correlation id. Anything that may hold personal data goes through `mask_personal` before it is logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "orosync"
NAMESPACE = "Orosync"

logger = Logger(service=SERVICE, utc=True)
tracer = Tracer(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)

# Keys whose values identify a person (both APIs' spellings, compared case-insensitively).
_PERSONAL_KEYS = {
    "email",
    "phone",
    "mobilephone",
    "fax",
    "firstname",
    "lastname",
    "contact",
    "contactname",
    "customercontact",
    "customercontactname",
    "customeremail",
    "customercontactemail",
    "line1",
    "line2",
    "street",
    "street2",
    "postcode",
    "postalcode",
    "taxnumber",
    "password",
}
_EMAIL_RE = re.compile(r"[^@\s\"']+@[^@\s\"']+")


def mask_personal(value: Any) -> Any:
    """A copy of `value` with personal fields replaced by '***' and e-mail addresses blanked in text."""
    if isinstance(value, Mapping):
        return {
            k: ("***" if str(k).lower() in _PERSONAL_KEYS and v not in (None, "") else mask_personal(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_personal(v) for v in value]
    if isinstance(value, str):
        return _EMAIL_RE.sub("***@***", value)
    return value
