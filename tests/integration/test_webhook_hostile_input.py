"""Bad input on POST /webhooks/oro never gets a 5xx: through the local API Gateway route over HTTP (and raw
sockets for framing an HTTP client will not send), against the embedded AWS endpoint. Also the framing
answers of the two sandboxes' HTTP fronts."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from local.aws import EmbeddedAws
from local.provision import provision, put_secrets
from local.runtime import API_MAX_BODY_BYTES, LocalRuntime
from sandbox.cin7.server import Cin7Sandbox
from sandbox.oro.server import OroSandbox
from shared.adapters.orocommerce.webhook import MAX_BODY_BYTES
from shared.config import load_config
from shared.resources import function, queue, table
from shared.runtime import Runtime
from tests.fixtures.oro_sandbox import ORO_CLIENT_ID, ORO_CLIENT_SECRET
from tests.fixtures.raw_http import exchange, post

CONFIG = Path(__file__).resolve().parents[2] / "config" / "example.yaml"
SECRET = "whsec-hostile-0123456789"
ROUTE = "/webhooks/oro"
READ_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def ingest(aws_server: EmbeddedAws) -> Iterator[tuple[LocalRuntime, str]]:
    """One runtime for the module (each test leaves its queue empty), its HTTP front's read timeout short."""
    cfg = load_config(CONFIG)
    prefix = f"h{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as mp:
        for key, value in aws_server.environ().items():
            mp.setenv(key, value)
        env = provision(prefix, tables=[table("state")], queues=[queue("orders")])
        put_secrets({cfg.secrets.oro_webhook: {"secret": SECRET}})
        Runtime.reset()
        rt = LocalRuntime(
            cfg,
            str(CONFIG),
            {**aws_server.environ(), **env},
            [function("webhook_ingest")],
            [],
            prefix=prefix,
            read_timeout_seconds=READ_TIMEOUT,
        )
        with rt:
            yield rt, env[queue("orders").env_var]
        Runtime.reset()


def _delivery(order_id: str = "1042", **resource: object) -> bytes:
    data = {"type": "orders", "id": order_id, "attributes": {"updatedAt": "2026-06-01T14:03:12Z"}, **resource}
    return json.dumps(
        {"topic": "order.updated", "eventData": {"data": data}, "messageId": str(uuid.uuid4())}
    ).encode()


def _sign(raw: bytes) -> str:
    return hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()


def _post(rt: LocalRuntime, raw: bytes, signature: str | bytes | None, content_type: str | None = None):
    headers: dict[str, str | bytes] = {"Content-Type": content_type or "application/json"}
    if signature is not None:
        headers["Webhook-Signature"] = signature
    return httpx.post(f"{rt.base_url}{ROUTE}", content=raw, headers=headers, timeout=10)


def _taken(queue_url: str) -> list[str]:
    """Order ids of the messages enqueued (and now removed)."""
    sqs = boto3.client("sqs", endpoint_url=queue_url.split("/", 3)[0] + "//" + queue_url.split("/")[2])
    out = []
    while msgs := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for m in msgs:
            out.append(json.loads(m["Body"])["order_id"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return out


@pytest.mark.parametrize(
    "signature",
    ["é".encode() * 32, "é".encode("latin-1") * 64, "\u2603".encode()],
    ids=["utf-8", "latin-1", "snowman"],
)
def test_non_ascii_signature_is_401(ingest, signature):
    rt, queue_url = ingest
    resp = _post(rt, _delivery(), signature)
    assert resp.status_code == 401
    assert "Webhook-Signature" in resp.json()["message"]
    assert _taken(queue_url) == []


@pytest.mark.parametrize(
    "raw, problem",
    [
        (_delivery(relationships=["internalStatus"]), "relationships: expected an object, got list"),
        (_delivery(relationships={"internalStatus": {"data": 7}}), "internalStatus.data: expected an object"),
        (_delivery(relationships={"internalStatus": "open"}), "internalStatus: expected an object, got str"),
        (b'{"topic": "order.created", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}", "nested deeper than 32"),
        (
            _delivery(meta={"a": [{"b": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]}),
            "nested deeper",
        ),
        (_delivery().decode().encode("utf-16"), "not UTF-8"),
        (b"\x80" + _delivery(), "not UTF-8"),
        (_delivery(order_id="1/../3"), "'1/../3' is not an Oro order id"),
        (_delivery(order_id="3?x=1"), "'3?x=1' is not an Oro order id"),
        (_delivery(order_id="007"), "'007' is not an Oro order id"),
    ],
)
def test_signed_body_that_cannot_be_used_is_400_and_nothing_is_enqueued(ingest, raw, problem):
    rt, queue_url = ingest
    resp = _post(rt, raw, _sign(raw))
    assert resp.status_code == 400
    assert problem in resp.json()["message"]
    assert _taken(queue_url) == []


def test_body_over_the_limit_is_413_before_the_signature_is_checked(ingest):
    rt, queue_url = ingest
    base = _delivery()
    at_limit = base[:-1] + b', "pad": "' + b"x" * (MAX_BODY_BYTES - len(base) - 11) + b'"}'
    assert len(at_limit) == MAX_BODY_BYTES
    assert _post(rt, at_limit, _sign(at_limit)).status_code == 202
    over = at_limit[:-2] + b'x"}'
    unsigned = _post(rt, over, None)  # refused on its size alone: a 401 would mean the HMAC was computed
    assert unsigned.status_code == 413
    assert unsigned.json() == {"message": f"body over {MAX_BODY_BYTES} bytes"}
    assert _post(rt, over, _sign(over)).status_code == 413
    assert _taken(queue_url) == ["1042"]


@pytest.mark.parametrize("content_type", ["", "text/plain", "application/x-www-form-urlencoded", "json"])
def test_content_type_that_is_not_json_is_415(ingest, content_type):
    rt, queue_url = ingest
    raw = _delivery()
    resp = httpx.post(
        f"{rt.base_url}{ROUTE}",
        content=raw,
        headers={"Webhook-Signature": _sign(raw), **({"Content-Type": content_type} if content_type else {})},
        timeout=10,
    )
    assert resp.status_code == 415
    assert _taken(queue_url) == []


@pytest.mark.parametrize(
    "order_id, content_type", [("77", "application/json; charset=utf-8"), ("78", "Application/JSON")]
)
def test_json_content_types_are_taken(ingest, order_id, content_type):
    rt, queue_url = ingest
    raw = _delivery(order_id)
    assert _post(rt, raw, _sign(raw), content_type).status_code == 202
    assert _taken(queue_url) == [order_id]


# ---- the HTTP front: framing -------------------------------------------------------------------------

BAD_FRAMING = [
    ([("Content-Length", "abc")], b"{}", 400),
    ([("Content-Length", "-1")], b"{}", 400),
    ([("Content-Length", "+2")], b"{}", 400),
    ([("Content-Length", "2"), ("Content-Length", "3")], b"{}", 400),
    ([("Content-Length", "10")], b"{}", 400),  # the body ends (the client closes) before 10 bytes
    ([("Content-Length", "2"), ("Transfer-Encoding", "chunked")], b"2\r\n{}\r\n0\r\n\r\n", 400),
    ([("Transfer-Encoding", "gzip, chunked")], b"2\r\n{}\r\n0\r\n\r\n", 400),
    ([("Transfer-Encoding", "chunked")], b"zz\r\n{}\r\n0\r\n\r\n", 400),
    ([("Transfer-Encoding", "chunked")], b"-2\r\n{}\r\n0\r\n\r\n", 400),
    ([("Transfer-Encoding", "chunked")], b"1\r\n{}\r\n0\r\n\r\n", 400),  # the chunk is longer than 1
    ([("Transfer-Encoding", "chunked")], b"5\r\n{}", 400),  # ends inside a chunk
    ([("Transfer-Encoding", "chunked")], b"2\r\n{}\r\n", 400),  # no last chunk
    ([("Transfer-Encoding", "chunked")], b"f" * 5000 + b"\r\n", 400),  # a chunk-size line without end
]


@pytest.mark.parametrize("headers, body, status", BAD_FRAMING)
def test_runtime_front_answers_bad_framing_with_400_and_closes(ingest, headers, body, status):
    rt, queue_url = ingest
    assert exchange(rt.port, post(ROUTE, [("Content-Type", "application/json"), *headers], body)) == [status]
    assert _taken(queue_url) == []


def test_runtime_front_answers_a_body_over_the_gateway_limit_with_413_without_reading_it(ingest):
    rt, _ = ingest
    request = post(ROUTE, {"Content-Length": str(API_MAX_BODY_BYTES + 1)}, b"{")
    assert exchange(rt.port, request) == [413]
    huge_chunk = post(ROUTE, {"Transfer-Encoding": "chunked"}, f"{API_MAX_BODY_BYTES + 1:x}\r\n".encode())
    assert exchange(rt.port, huge_chunk) == [413]


def test_runtime_front_answers_408_when_the_body_stops_coming(ingest):
    rt, _ = ingest
    stalled = post(ROUTE, {"Content-Type": "application/json", "Content-Length": "100"}, b'{"topic": ')
    # The connection stays open from our side: only the front's read timeout can end the wait.
    assert exchange(rt.port, stalled, timeout=READ_TIMEOUT + 9, close_sending=False) == [408]


def test_runtime_front_reads_a_chunked_body(ingest):
    rt, queue_url = ingest
    raw = _delivery(order_id="88")
    chunked = b"".join(f"{len(p):x};ext=1\r\n".encode() + p + b"\r\n" for p in (raw[:10], raw[10:]))
    request = post(
        ROUTE,
        {"Content-Type": "application/json", "Webhook-Signature": _sign(raw), "Transfer-Encoding": "chunked"},
        chunked + b"0\r\nX-Trailer: 1\r\n\r\n",
    )
    assert exchange(rt.port, request) == [202]
    assert _taken(queue_url) == ["88"]


@pytest.mark.parametrize("headers, body, status", BAD_FRAMING)
def test_sandbox_fronts_answer_bad_framing_with_400_and_close(
    oro_sandbox_server: OroSandbox, cin7_sandbox_server: Cin7Sandbox, headers, body, status
):
    for port, path in (
        (oro_sandbox_server.port, "/oauth2-token"),
        (cin7_sandbox_server.port, "/externalapi/v2/sale"),
    ):
        assert exchange(port, post(path, [("Content-Type", "application/json"), *headers], body)) == [status]


def test_oro_sandbox_front_reads_a_chunked_body(oro_sandbox_server: OroSandbox):
    form = json.dumps(
        {"grant_type": "client_credentials", "client_id": ORO_CLIENT_ID, "client_secret": ORO_CLIENT_SECRET}
    ).encode()
    request = post(
        "/oauth2-token",
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        f"{len(form):x}\r\n".encode() + form + b"\r\n0\r\n\r\n",
    )
    assert exchange(oro_sandbox_server.port, request) == [200]
