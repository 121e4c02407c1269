"""The answer size cap on a real requests Session against a real local HTTP server."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from trayapp.sources.base import SourceError
from trayapp.sources.size_cap import cap_session

LIMIT = 64 * 1024


class Handler(BaseHTTPRequestHandler):
    """``/N``: N bytes with no Content-Length (the end is the closed connection); ``/gz/N``:
    N bytes gzipped, so the wire carries little and the decoded body is large."""

    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        size = int(parts[-1])
        body = b"x" * size
        self.send_response(200)
        if parts[0] == "gz":
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for start in range(0, len(body), 8192):  # a stream of pieces, as a slow server sends
            self.wfile.write(body[start : start + 8192])

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/compute/v1/projects/p/regions/r"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as capped:
        cap_session(capped, LIMIT)
        yield capped


def test_an_answer_within_the_cap_is_read_whole(server, session):
    assert session.get(f"{server}/{LIMIT}", timeout=5).content == b"x" * LIMIT


@pytest.mark.parametrize("path", [f"{LIMIT + 1}", f"{LIMIT * 50}", f"gz/{LIMIT * 50}"])
def test_a_longer_answer_is_refused_without_a_length_or_when_compressed(server, session, path):
    with pytest.raises(SourceError) as refused:
        session.get(f"{server}/{path}", timeout=5)
    assert refused.value.kind == "bad_response"
    assert refused.value.message == "p/r: answer larger than 0.0625 MB refused"
