"""The orosync stack: composes one construct per concern, all built from `shared.resources` and the config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Stack
from constructs import Construct

from infra.api import Api
from infra.functions import Functions
from infra.monitoring import Monitoring
from infra.queues import Queues
from infra.schedules import Schedules
from infra.secrets import ServiceSecrets
from infra.tables import Tables
from shared.config import Config


class OrosyncStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: Config, config_path: Path, **kwargs: Any
    ) -> None:
        super().__init__(
            scope, construct_id, description="orosync: OroCommerce B2B <-> Cin7 Core sync", **kwargs
        )
        tables = Tables(self, "Tables")
        queues = Queues(self, "Queues")
        secrets = ServiceSecrets(self, "Secrets", config=config)
        functions = Functions(
            self,
            "Functions",
            config=config,
            config_path=config_path,
            tables=tables,
            queues=queues,
            secrets=secrets,
        )
        api = Api(self, "Api", functions=functions)
        Schedules(self, "Schedules", config=config, functions=functions)
        Monitoring(self, "Monitoring", config=config, queues=queues, functions=functions, api=api)
