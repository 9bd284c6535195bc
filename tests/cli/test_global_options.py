"""Global options also work after the command; -o picks table, json, jsonl or csv; usage errors: one line."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest
from click.testing import Result

from .conftest import parse_json

Run = Callable[..., Result]
AsUser = Callable[[str], None]


def test_json_after_the_command_is_the_same_as_before_it(run_cli: Run, as_user: AsUser) -> None:
    """`bhtom targets list --json` prints what `bhtom --json targets list` prints."""
    as_user("alice")
    before = run_cli("--json", "targets", "list")
    after = run_cli("targets", "list", "--json")
    assert (before.exit_code, after.exit_code) == (0, 0)
    assert parse_json(after.stdout) == parse_json(before.stdout)
    assert "Gaia22bpl" in {t["name"] for t in parse_json(after.stdout)}


def test_results_take_json_after_the_ids(run_cli: Run, as_user: AsUser) -> None:
    """The issue's `bhtom results --json 2`: accepted, one JSON array on stdout."""
    as_user("alice")
    result = run_cli("results", "--json", "1")
    assert result.exit_code == 0, result.output
    (item,) = parse_json(result.stdout)
    assert item["dataproduct_id"] == 1


@pytest.mark.parametrize("where", ["before", "after"])
def test_output_json_lines_prints_one_object_per_row(run_cli: Run, as_user: AsUser, where: str) -> None:
    """`-o jsonl` (either side of the command): each line is one target object."""
    as_user("alice")
    args = ("-o", "jsonl", "targets", "list") if where == "before" else ("targets", "list", "-o", "jsonl")
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["name"] for r in rows] == [
        t["name"] for t in parse_json(run_cli("--json", "targets", "list").stdout)
    ]


def test_output_csv_prints_a_header_and_one_row_per_item(run_cli: Run, as_user: AsUser) -> None:
    """`--output csv`: a header of the JSON fields, then one row per target (nested values as JSON)."""
    as_user("alice")
    result = run_cli("targets", "list", "--output", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    listed = parse_json(run_cli("--json", "targets", "list").stdout)
    assert [r["name"] for r in rows] == [t["name"] for t in listed]
    assert list(rows[0]) == list(listed[0])


def test_output_json_is_the_same_as_json(run_cli: Run, as_user: AsUser) -> None:
    """`-o json` is `--json`."""
    as_user("alice")
    assert (
        run_cli("observatories", "list", "-o", "json").stdout
        == run_cli("--json", "observatories", "list").stdout
    )


def test_a_json_error_after_the_command(run_cli: Run, as_user: AsUser) -> None:
    """A library error with `--json` after the command is still one JSON object on stdout."""
    as_user("alice")
    result = run_cli("photometry", "NoSuchStar", "--json")
    assert result.exit_code == 3
    assert parse_json(result.stdout)["type"] == "TargetNotFoundError"


def test_token_after_the_command_is_used_and_warned_about(run_cli: Run, as_user: AsUser) -> None:
    """`--token` after the command overrides the environment, with a warning (shown once)."""
    as_user("alice")
    result = run_cli("--token", "1" * 40, "targets", "list", "--token", "0" * 40)
    assert result.exit_code == 3  # the (bad) token given last was used, not BHTOM_TOKEN
    assert result.stderr.count("warning: --token on the command line is visible") == 1


def test_an_unknown_option_is_a_one_line_usage_error(run_cli: Run) -> None:
    """Click's four-line usage block becomes one line naming the help to read; exit 2."""
    result = run_cli("upload", "--no-such-option")
    assert result.exit_code == 2
    assert result.stderr == "error: No such option '--no-such-option'. (see `bhtom upload --help`)\n"


def test_upload_help_documents_the_exit_codes(run_cli: Run) -> None:
    """`bhtom upload --help` lists every exit code, 130 and 143 included."""
    result = run_cli("upload", "--help")
    assert result.exit_code == 0
    for code in ("0 ", "1 ", "2 ", "3 ", "4 ", "5 ", "6 ", "130", "143"):
        assert f"\n    {code}" in result.stdout
    options = result.stdout.split("\nOptions:\n", 1)[1]
    assert "--target " in options
    assert "--directory" not in options  # the official scripts' aliases stay out of the list


def test_a_group_without_a_command_shows_its_help(run_cli: Run) -> None:
    """`bhtom targets` alone prints the group's usage and commands (not an `error:` line)."""
    result = run_cli("targets")
    assert result.exit_code == 2
    assert result.output.startswith("Usage: bhtom targets [OPTIONS] COMMAND [ARGS]...")
    assert "create" in result.output
