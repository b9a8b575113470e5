"""The embedded AWS endpoint: moto in server mode, a real HTTP endpoint that boto3 talks to.

`AWS_ENDPOINT_URL` set to its URL sends every boto3 client (Powertools' own included) there, so the
service code carries no endpoint plumbing.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

import httpx

# Credentials and region for the embedded endpoint only; moto accepts any values.
LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",  # noqa: S105 - not a secret: moto accepts anything
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class EmbeddedAws:
    """A moto server on a local port, started in a background thread."""

    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        from moto.server import ThreadedMotoServer

        if self.port == 0:
            self.port = free_port(self.host)
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmbeddedAws:
        self._server.start()
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"{self.endpoint_url}/moto-api/", timeout=1)
                return self
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start on {self.endpoint_url}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        """Forget every resource (moto's own reset API)."""
        httpx.post(f"{self.endpoint_url}/moto-api/reset", timeout=10)

    def environ(self) -> dict[str, str]:
        return {**LOCAL_AWS_ENV, "AWS_ENDPOINT_URL": self.endpoint_url}

    def apply_environ(self) -> None:
        os.environ.update(self.environ())
