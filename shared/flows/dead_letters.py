"""Dead letters: why a queue message failed.

SQS does not keep a message's error. Each queue consumer processes its batch with `RecordingProcessor`,
which records the error of every failed message in the state table by message id (the id SQS keeps when it
moves the message to the DLQ), so `orosync dlq list` (cli/dlq_cmd.py) can show the last error of each dead
letter.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.base import FailureResponse
from aws_lambda_powertools.utilities.batch.exceptions import ExceptionInfo
from pydantic import ValidationError

from shared.observability import logger
from shared.runtime import Runtime


class RecordingProcessor(BatchProcessor):
    """An SQS BatchProcessor that also records each failed message's error (`StateStore.message_failures`)."""

    def __init__(self, queue: str) -> None:
        super().__init__(event_type=EventType.SQS)
        self.queue = queue

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> FailureResponse:
        message_id = getattr(record, "message_id", None)
        if message_id and exception[1] is not None:
            try:
                rt = Runtime.get()
                rt.state.record_message_failure(
                    message_id, self.queue, failure_text(exception[1]), rt.clock.now()
                )
            except Exception as err:  # the message is retried (and dead-lettered) all the same
                logger.warning("could not record a message failure", extra={"error": type(err).__name__})
        return super().failure_handler(record, exception)


def failure_text(err: BaseException) -> str:
    """One line: the error's type and message; a malformed message's fields and what is wrong with each."""
    if isinstance(err, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in err.errors())
        return f"{err.title} message invalid: {problems}"
    return " ".join(f"{type(err).__name__}: {err}".split()).removesuffix(":")
