"""TLS verification stays on: real handshakes on loopback with a certificate from a throwaway CA."""

from __future__ import annotations

import http.server
import json
import ssl
import threading
from collections.abc import Iterator

import httpx
import pytest
import trustme

from bhtom_async import Client, errors
from bhtom_async._config import ClientConfig
from bhtom_async._http import tls_context
from bhtom_async.testing import ManualClock

from ..conftest import FAKE_TOKEN

pytestmark = pytest.mark.anyio
EMPTY_PAGE = {"count": 0, "num_pages": 1, "current_page": 1, "data": []}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_server(ca: trustme.CA) -> Iterator[tuple[str, list[str]]]:
    """An HTTPS server on 127.0.0.1 whose certificate `ca` issued; yields its URL and the paths it served."""
    served: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            served.append(self.path)
            body = json.dumps(EMPTY_PAGE).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()


async def test_a_certificate_the_system_does_not_trust_is_refused_before_the_token_goes_out(
    https_server: tuple[str, list[str]],
) -> None:
    """Our own pool checks certificates: the handshake fails, the error says so, no request is sent."""
    url, served = https_server
    async with Client(FAKE_TOKEN, base_url=url, upload_url=url, max_retries=0, clock=ManualClock()) as bh:
        with pytest.raises(errors.ConnectError) as caught:
            await bh.comments.list().to_list()
    assert caught.value.hint == "TLS verification failed; fix the server certificate or the URL"
    assert not caught.value.request_sent
    assert served == []


async def test_the_same_server_answers_a_pool_that_trusts_its_ca(
    ca: trustme.CA, https_server: tuple[str, list[str]]
) -> None:
    """The refusal above is the certificate's doing: trusting the CA, the same call goes through."""
    url, served = https_server
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    async with (
        httpx.AsyncClient(verify=trusting) as pool,
        Client(FAKE_TOKEN, base_url=url, upload_url=url, http_client=pool, clock=ManualClock()) as bh,
    ):
        assert await bh.comments.list().to_list() == []
    assert served == ["/common/api/comments/"]


def test_an_https_client_verifies_against_the_ca_bundle() -> None:
    """Any https URL: certificates and host names are checked, against a loaded CA bundle."""
    context = tls_context(
        ClientConfig(base_url="http://127.0.0.1:1", upload_url="https://uploadsvc2.example.test")
    )
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0


def test_a_plain_http_client_skips_the_bundle_but_would_refuse_every_certificate() -> None:
    """Both URLs plain http: no CA bundle is loaded, and the context still requires a certificate."""
    context = tls_context(ClientConfig(base_url="http://127.0.0.1:1", upload_url="http://127.0.0.1:2"))
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
