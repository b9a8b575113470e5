"""SQS as the work queue between intake and workers."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import Transient


class SqsQueue:
    def __init__(self, queue_url: str | None = None, *, env_var: str | None = None, sqs: Any = None) -> None:
        url = queue_url or (os.environ[env_var] if env_var else None)
        if not url:
            raise ValueError("SqsQueue needs a queue URL or the environment variable that holds it")
        self.url = url
        self._sqs = sqs or boto3.client("sqs")

    def send(self, message: Mapping[str, Any], delay_seconds: int = 0) -> str:
        try:
            resp = self._sqs.send_message(
                QueueUrl=self.url,
                MessageBody=json.dumps(message, default=str, sort_keys=True),
                DelaySeconds=max(0, min(900, int(delay_seconds))),
            )
        except (ClientError, BotoCoreError) as err:
            raise Transient(f"sqs send failed: {type(err).__name__}", system="sqs") from err
        return str(resp["MessageId"])

    def delay(self, receipt_handle: str, seconds: float) -> None:
        """Give a message back to the queue for `seconds` instead of sleeping in a paid Lambda."""
        self._sqs.change_message_visibility(
            QueueUrl=self.url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(1, min(43200, int(seconds))),
        )
