"""The generated parts of the operations guide (docs/operations.md): the exceptions catalogue and the alarms,
each between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`, written from the code
(shared/domain/exceptions_catalogue.py, shared/alarms.py with the example config). `make docs` rewrites them;
tests/unit/test_operations_guide.py fails when the guide and the code disagree.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from shared import alarms
from shared.config import Config, load_config
from shared.domain import exceptions_catalogue

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "operations.md"
EXAMPLE_CONFIG = ROOT / "config" / "example.yaml"


def sections(config: Config) -> dict[str, str]:
    return {"catalogue": exceptions_catalogue.as_markdown(), "alarms": alarms.as_markdown(config)}


def render(text: str, config: Config) -> str:
    """`text` with each generated section replaced by what the code says now."""
    for name, body in sections(config).items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"the guide has no generated:{name} section")
        match = pattern.search(text)
        assert match is not None
        text = text[: match.start()] + match.group(1) + body + "\n" + match.group(2) + text[match.end() :]
    return text


def main() -> int:
    current = GUIDE.read_text()
    updated = render(current, load_config(EXAMPLE_CONFIG))
    if updated != current:
        GUIDE.write_text(updated)
        print(f"{GUIDE.relative_to(ROOT)}: generated sections rewritten")
    else:
        print(f"{GUIDE.relative_to(ROOT)}: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
