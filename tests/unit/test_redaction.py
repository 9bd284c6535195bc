"""The token never appears in a repr, str, error, log line or pickle."""

from __future__ import annotations

import logging
import pickle

import httpx
import pytest
import respx

from bhtom_async import Client, errors
from bhtom_async._http import RequestSpec
from bhtom_async._secret import Secret

from ..conftest import BASE_URL, FAKE_TOKEN

pytestmark = pytest.mark.anyio


def test_secret_hides_its_value() -> None:
    """repr, str and masked() never show the secret; pickling is refused."""
    secret = Secret(FAKE_TOKEN)
    assert FAKE_TOKEN not in repr(secret) + str(secret) + secret.masked()
    assert secret.masked().endswith(FAKE_TOKEN[-4:])
    with pytest.raises(TypeError):
        pickle.dumps(secret)


async def test_token_absent_from_everything_a_run_produces(
    bh: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Reprs, configs, errors (even when the server echoes the token) and debug logs stay clean."""
    caplog.set_level(logging.DEBUG, logger="bhtom_async")
    produced: list[str] = [repr(bh), str(bh.config), repr(bh.config)]
    echo = {"detail": f"Invalid token {FAKE_TOKEN}."}
    with respx.mock:
        respx.post(BASE_URL + "/a/").respond(401, json=echo)
        respx.post(BASE_URL + "/b/").respond(500, text=f"<h1>Server Error {FAKE_TOKEN}</h1>")
        respx.post(BASE_URL + "/c/").mock(side_effect=httpx.ConnectError(f"refused {FAKE_TOKEN}"))
        respx.post(BASE_URL + "/d/").respond(200, json={"ok": True})
        await bh._require_open().send(RequestSpec("POST", "/d/"))
        for path in ("/a/", "/b/", "/c/"):
            with pytest.raises(errors.BhtomError) as caught:
                await bh.with_options(max_retries=0)._require_open().send(RequestSpec("POST", path))
            produced += [str(caught.value), repr(caught.value), repr(caught.value.__dict__)]
            produced.append(repr(pickle.loads(pickle.dumps(caught.value)).__dict__))
    produced += [record.getMessage() for record in caplog.records]
    assert caplog.records, "debug logging produced nothing to check"
    for text in produced:
        assert FAKE_TOKEN not in text


def _chain(exc: BaseException | None) -> list[BaseException]:
    """The exception and every exception it links to (cause and context), transitively."""
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


async def test_no_exception_chain_carries_the_request_or_its_header(bh: Client) -> None:
    """A transport error has no __context__/__cause__ (httpx's would hold the Authorization header)."""
    with respx.mock:
        respx.post(BASE_URL + "/c/").mock(side_effect=httpx.ReadError("reset"))
        with pytest.raises(errors.TransportError) as caught:
            await bh.with_options(max_retries=0)._require_open().send(RequestSpec("POST", "/c/"))
    assert _chain(caught.value) == [caught.value]
    assert FAKE_TOKEN not in repr(vars(caught.value))


async def test_echoed_token_is_masked_in_field_errors_and_decode_snippets(bh: Client) -> None:
    """A server that echoes the token in a field error or a body snippet has it replaced by ***."""
    with respx.mock:
        respx.post(BASE_URL + "/v/").respond(400, json={"token": [f"bad {FAKE_TOKEN}"]})
        respx.post(BASE_URL + "/j/").respond(200, text=f"not json {FAKE_TOKEN}")
        with pytest.raises(errors.ValidationError) as invalid:
            await bh.with_options(max_retries=0)._require_open().send(RequestSpec("POST", "/v/"))
        response = await bh._require_open().send(RequestSpec("POST", "/j/"))
    assert invalid.value.field_errors == {"token": ("bad ***",)}
    with pytest.raises(errors.ResponseDecodeError) as garbled:
        response.json()
    assert FAKE_TOKEN not in str(invalid.value)
    assert garbled.value.snippet == "not json ***"


@pytest.mark.parametrize("token", ["abc\ndef", "abc\rdef", "tok en", "tökén", "\x00abc"])
async def test_a_token_with_impossible_characters_is_refused_without_showing_it(token: str) -> None:
    """Control, space or non-ASCII characters: refused before any request, the token not printed."""
    with pytest.raises(errors.ConfigurationError) as caught:
        async with Client(token, base_url=BASE_URL):
            pass
    assert "characters no BHTOM token has" in str(caught.value)
    assert token.strip() not in str(caught.value)
    assert token.strip() not in repr(vars(caught.value))
