#!/usr/bin/env python3
"""CDK entry point: `cdk synth -c config=PATH` builds the orosync stack from that config."""

import sys

from aws_cdk import App

from infra.app import build
from shared.errors import ConfigError

app = App()
try:
    build(app)
except ConfigError as err:
    sys.exit(f"orosync: cannot synthesize: {err}")
app.synth()
