"""`orosync config validate PATH`: check a config file without running anything."""

from __future__ import annotations

import argparse
import sys

from shared.config import load_config
from shared.errors import ConfigError


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="orosync config validate", description=__doc__)
    parser.add_argument("path", help="config file (YAML or JSON)")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.path)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    skus = len(cfg.units)
    print(
        f"{args.path}: valid (pricing authority {cfg.pricing.authority.value}, {skus} SKU unit mappings, "
        f"{len(cfg.price_lists)} price lists, {len(cfg.erp.applications)} ERP application(s))"
    )
    return 0
