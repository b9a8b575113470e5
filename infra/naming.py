"""Construct ids derived from the logical keys in `shared.resources`, so no name is written twice."""

from __future__ import annotations

import re


def pascal(key: str) -> str:
    """`rate_budget` -> `RateBudget`, `orders-dlq` -> `OrdersDlq`."""
    return "".join(part.capitalize() for part in re.split(r"[_\-\s]+", key) if part)
