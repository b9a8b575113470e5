"""Reading a request body off the wire for the local HTTP fronts (both sandboxes and the local runtime).

`http.server` leaves the body to its handlers. Read naively, a `Content-Length` that is not a number raises,
one larger than the body sent waits for ever, and a broken chunk size raises: the client sees the
connection dropped, or nothing at all. `read_body` instead raises `BadBody` with the status to answer:
400 for framing that cannot be read (RFC 9112 §6.3: a bad or conflicting `Content-Length`, a transfer coding
other than `chunked`, a malformed chunk, a body that ends early), 413 over `max_bytes` (decided from the
header, before reading, when there is one), 408 when the body does not arrive within the socket's timeout.
After any of them the connection cannot be reused: the caller answers, then `linger`s and closes it.
"""

from __future__ import annotations

import re
import socket
import time
from email.message import Message
from io import BufferedIOBase

_DIGITS = re.compile(r"[0-9]{1,19}")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
MAX_LINE = 4096  # a chunk-size line or a trailer line
MAX_TRAILERS = 64


class BadBody(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def read_body(rfile: BufferedIOBase, headers: Message, max_bytes: int) -> bytes:
    """The request body (b"" when there is none); `BadBody` when it cannot be read as framed."""
    try:
        return _read(rfile, headers, max_bytes)
    except TimeoutError:
        raise BadBody(408, "the request body did not arrive in time") from None


def _read(rfile: BufferedIOBase, headers: Message, max_bytes: int) -> bytes:
    codings = headers.get_all("Transfer-Encoding") or []
    lengths = headers.get_all("Content-Length") or []
    if codings:
        if lengths:
            raise BadBody(400, "both Transfer-Encoding and Content-Length are set")
        if [c.strip().lower() for c in ",".join(codings).split(",")] != ["chunked"]:
            raise BadBody(400, "Transfer-Encoding: only chunked is supported")
        return _read_chunked(rfile, max_bytes)
    if not lengths:
        return b""
    values = {v.strip() for v in ",".join(lengths).split(",")}
    if len(values) != 1 or not _DIGITS.fullmatch(next(iter(values))):
        raise BadBody(400, f"Content-Length is not one non-negative integer: {', '.join(lengths)[:60]!r}")
    length = int(values.pop())
    if length > max_bytes:
        raise BadBody(413, f"body over {max_bytes} bytes")
    body = rfile.read(length) if length else b""
    if len(body) < length:
        raise BadBody(400, f"the body ended after {len(body)} of {length} bytes (Content-Length)")
    return body


def _line(rfile: BufferedIOBase, what: str) -> bytes:
    line = rfile.readline(MAX_LINE + 1)
    if not line.endswith(b"\n"):
        raise BadBody(400, f"{what}: the line is too long or the body ended early")
    return line.rstrip(b"\r\n")


def _read_chunked(rfile: BufferedIOBase, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_text = _line(rfile, "chunk size").split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise BadBody(400, f"chunk size {size_text[:20]!r} is not a hexadecimal number")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > max_bytes:
            raise BadBody(413, f"body over {max_bytes} bytes")
        chunk = rfile.read(size)
        if len(chunk) < size:
            raise BadBody(400, "the body ended inside a chunk")
        chunks.append(chunk)
        if _line(rfile, "chunk end") != b"":
            raise BadBody(400, "a chunk is longer than its size says")
    for _ in range(MAX_TRAILERS):
        if _line(rfile, "trailer") == b"":
            return b"".join(chunks)
    raise BadBody(400, f"more than {MAX_TRAILERS} trailer lines")


def linger(connection: socket.socket, seconds: float = 2.0, max_bytes: int = 16 * 1024 * 1024) -> None:
    """Call after answering a request whose body was not read to its end, before the connection closes.

    Closing a socket with unread bytes makes TCP send a reset, which can destroy the answer in the client's
    buffer before it reads it (the client sees the connection dropped). So: end our side, then read and drop
    what the client still sends, until it closes its side, `seconds` pass or `max_bytes` were dropped."""
    deadline = time.monotonic() + seconds
    dropped = 0
    try:
        connection.shutdown(socket.SHUT_WR)
        while dropped < max_bytes and (left := deadline - time.monotonic()) > 0:
            connection.settimeout(left)
            data = connection.recv(65536)
            if not data:
                return
            dropped += len(data)
    except OSError:
        return  # the client is gone, or the time is up
