"""Cross-cutting behaviour of the main host and token auth."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from bhtom_async.emulator import Emulator

Client = Callable[..., httpx.Client]


def test_no_token_is_401_with_www_authenticate(client: Client) -> None:
    """No Authorization header -> 401 'not provided' + WWW-Authenticate: Token."""
    r = client(None).post("/targets/getTargetList/", json={})
    assert r.status_code == 401
    assert r.json() == {"detail": "Authentication credentials were not provided."}
    assert r.headers["www-authenticate"] == "Token"


def test_inactive_user_gets_token_then_401(client: Client, emu: Emulator) -> None:
    """AllowAllUsersModelBackend gives carol (inactive) a token; every call is then 401."""
    r = client(None).post("/api/token-auth/", json={"username": "carol", "password": emu.passwords["carol"]})
    assert r.status_code == 200
    token = r.json()["token"]
    assert token == emu.tokens["carol"]
    r = client(None).post("/targets/getTargetList/", json={}, headers={"Authorization": f"Token {token}"})
    assert r.status_code == 401
    assert r.json() == {"detail": "User inactive or deleted."}


def test_token_auth_is_stable_and_accepts_form(client: Client, emu: Emulator) -> None:
    """get_or_create returns the same token each time; form bodies work too."""
    c = client(None)
    first = c.post("/api/token-auth/", json={"username": "bob", "password": "bob-pass-123"})
    second = c.post("/api/token-auth/", data={"username": "bob", "password": "bob-pass-123"})
    assert first.json() == second.json() == {"token": emu.tokens["bob"]}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"username": ["This field is required."], "password": ["This field is required."]}),
        (
            {"username": "alice", "password": "x"},
            {"non_field_errors": ["Unable to log in with provided credentials."]},
        ),
        ({"username": "alice", "password": ""}, {"password": ["This field may not be blank."]}),
    ],
)
def test_token_auth_errors(client: Client, body: dict[str, str], expected: object) -> None:
    """Missing, wrong and blank credentials answer 400 with DRF's messages."""
    r = client(None).post("/api/token-auth/", json=body)
    assert (r.status_code, r.json()) == (400, expected)


def test_token_auth_with_stale_header_is_401(client: Client, emu: Emulator) -> None:
    """A bad Authorization header beats correct credentials: 401 Invalid token."""
    r = client(None).post(
        "/api/token-auth/",
        json={"username": "alice", "password": emu.passwords["alice"]},
        headers={"Authorization": "Token " + "1" * 40},
    )
    assert (r.status_code, r.json()) == (401, {"detail": "Invalid token."})


def test_token_auth_get_is_405(client: Client) -> None:
    """GET on token-auth -> 405 with DRF's detail and Allow header."""
    r = client(None).get("/api/token-auth/")
    assert r.status_code == 405
    assert r.json() == {"detail": 'Method "GET" not allowed.'}
    assert r.headers["allow"] == "POST, OPTIONS"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/common/api/users/"),
        ("DELETE", "/common/api/deleteDataProduct/"),
        ("DELETE", "/common/api/deleteReducedDatum/"),
        ("POST", "/common/api/deactivateReducedDatum/"),
        ("POST", "/calibration/restart-calib-by-id/"),
        ("POST", "/calibration/restart-calib-by-target/"),
        ("POST", "/calibration/restart-calib-by-dataproduct/"),
    ],
)
def test_admin_only_views_redirect_normal_users_to_login(client: Client, method: str, path: str) -> None:
    """A 403 becomes a 302: non-staff get 302 to /accounts/login/?next=<path>, empty body."""
    r = client("alice").request(method, path, json={})
    assert r.status_code == 302
    assert r.headers["location"] == f"/accounts/login/?next={path}"
    assert r.content == b""


def test_following_the_login_redirect_gives_html_200(client: Client) -> None:
    """A client that follows the 302 ends on an HTML login page with status 200."""
    r = client("alice", follow_redirects=True).post("/common/api/users/", json={})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")


def test_malformed_json_is_400(client: Client) -> None:
    """Malformed JSON -> 400 {"detail": "JSON parse error - ..."}."""
    r = client().post(
        "/targets/getTargetList/", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["detail"].startswith("JSON parse error - ")


def test_form_values_collapse_to_the_last_one(client: Client) -> None:
    """With form bodies request.data.get() returns the last value of a repeated field."""
    r = client().post(
        "/targets/getTargetList/",
        content=b"name=Nope&name=HarnessStar1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert [t["name"] for t in r.json()["data"]] == ["HarnessStar1"]


def test_unknown_path_is_django_html_404(client: Client) -> None:
    """Unknown path -> Django's HTML 404 page."""
    r = client().post("/nothing/here/", json={})
    assert r.status_code == 404
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Not Found</h1>" in r.text


def test_slashless_post_is_301(client: Client) -> None:
    """APPEND_SLASH: a slashless POST to an existing route answers 301 to the slash form."""
    r = client().post("/observatory/getObservatoryList", json={})
    assert r.status_code == 301
    assert r.headers["location"] == "/observatory/getObservatoryList/"


def test_slashless_target_path_hits_the_html_detail_route(client: Client) -> None:
    """Slashless /targets/<x> resolves to the HTML target-detail view (login redirect)."""
    r = client().post("/targets/getTargetList", json={})
    assert r.status_code == 302
    assert r.headers["location"].startswith("/accounts/login/")


def test_wrong_method_is_405_after_auth(client: Client) -> None:
    """Capture 10: authenticated wrong method -> 405; unauthenticated -> 401 first."""
    assert client().get("/common/api/data/").status_code == 405
    assert client(None).get("/common/api/data/").status_code == 401


def test_correlation_id_is_echoed_or_created(client: Client) -> None:
    """Every answer carries Correlation-ID, echoing a valid incoming one."""
    mine = "0123456789abcdef0123456789abcdef"
    echoed = client().post("/targets/getTargetList/", json={}, headers={"Correlation-ID": mine})
    assert echoed.headers["correlation-id"] == mine
    for response in (client().post("/x/", json={}), client(None).post("/common/api/data/")):
        assert len(response.headers["correlation-id"]) == 32


def test_bare_string_body_is_json(client: Client) -> None:
    """Response("msg") is a JSON string literal served as application/json."""
    r = client().post("/observatory/addFavouriteObservatory/", json={})
    assert r.headers["content-type"] == "application/json"
    assert r.text == '"Either (Observatory and Camera) or ONAME is required"'


def test_non_object_json_body_is_a_500(client: Client) -> None:
    """A JSON list as body makes request.data.get() fail: HTML 500."""
    r = client().post("/targets/getTargetList/", json=[1, 2])
    assert r.status_code == 500
    assert "<h1>Server Error (500)</h1>" in r.text


def _make_targets(c: httpx.Client, count: int) -> None:
    for index in range(count):
        r = c.post(
            "/targets/createTarget/", json={"name": f"Bulk{index:03d}", "ra": 100 + index * 0.01, "dec": 5.0}
        )
        assert r.status_code == 201, r.text


def test_pagination_out_of_range_answers_the_last_page(client: Client) -> None:
    """Page 0, negative or > num_pages -> last page; non-numeric or 2.5 -> page 1."""
    c = client()
    _make_targets(c, 200)  # 203 targets -> 2 pages of 200
    pages = {}
    for page in (1, 2, 0, -1, 99, "abc", 2.5, "2", None):
        envelope = c.post("/targets/getTargetList/", json={"page": page}).json()
        pages[repr(page)] = (envelope["current_page"], len(envelope["data"]))
        assert (envelope["count"], envelope["num_pages"]) == (203, 2)
    assert pages == {
        "1": (1, 200),
        "2": (2, 3),
        "0": (2, 3),
        "-1": (2, 3),
        "99": (2, 3),
        "'abc'": (1, 200),
        "2.5": (1, 200),
        "'2'": (2, 3),
        "None": (1, 200),
    }


def test_empty_result_envelope(client: Client) -> None:
    """An empty result is count 0, num_pages 1, current_page 1, data []."""
    r = client().post("/targets/getTargetList/", json={"name": "NoSuch", "page": 5})
    assert r.json() == {"count": 0, "num_pages": 1, "current_page": 1, "data": []}
