"""`bh.comments` and `bh.users` against the emulator over loopback."""

from __future__ import annotations

import pytest

from bhtom_async import Client, errors

pytestmark = pytest.mark.anyio


async def test_comments_of_a_target(alice: Client) -> None:
    """list(target=...) returns Gaia22bpl's comments with int target ids, oldest first."""
    comments = await alice.comments.list(target="Gaia22bpl").to_list()
    assert comments
    assert {c.target_name for c in comments} == {"Gaia22bpl"}
    assert all(isinstance(c.target_id, int) for c in comments)
    dates = [c.submit_date for c in comments]
    assert dates == sorted(dates)  # type: ignore[type-var]
    assert any("Brightening" in c.text for c in comments)


async def test_comments_filter_by_text_and_user(alice: Client) -> None:
    """text (substring) and user (exact) filters narrow the list."""
    comments = await alice.comments.list(text="brightening", user="alice").to_list()
    assert [c.text for c in comments] == ["Brightening fast, please observe!"]


async def test_comments_unknown_target_is_target_not_found(alice: Client) -> None:
    """An unknown target name raises TargetNotFoundError."""
    with pytest.raises(errors.TargetNotFoundError):
        await alice.comments.list(target="NoSuchTarget").to_list()


async def test_creating_a_target_adds_a_comment(alice: Client) -> None:
    """The server's create hook writes a "Target created by" comment."""
    await alice.targets.create("IntegStar2", 12.0, 13.0)
    comments = await alice.comments.list(target="IntegStar2").to_list()
    assert any(c.text.startswith("Target created by") for c in comments)


async def test_users_list_for_admin_has_no_password_hashes(admin: Client) -> None:
    """The admin sees users; no password hash is kept anywhere on the models."""
    users = await admin.users.list().to_list()
    alice = next(u for u in users if u.username == "alice")
    assert (alice.id, alice.is_staff) == (3, False)
    for user in users:
        assert "password" not in user.extra
        assert "pbkdf2" not in repr(user) + repr(dict(user.extra))


async def test_users_filter_by_username(admin: Client) -> None:
    """username is an exact filter."""
    (user,) = await admin.users.list(username="bob").to_list()
    assert user.username == "bob"


async def test_users_refuse_normal_users(alice: Client) -> None:
    """A normal user gets PermissionDeniedError (the server redirects to its login page)."""
    with pytest.raises(errors.PermissionDeniedError):
        await alice.users.list().to_list()
