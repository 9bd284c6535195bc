"""How a `bhtom upload` job ends: its exit code and reason, and the summary as table, lines or JSON."""

from __future__ import annotations

import click

from ..upload.events import UploadSummary
from ._core import CliState, ExitCode, error_lines, exit_code_for
from .calibration import print_results, results_exit_code
from .output import emit_json, human_bytes, print_table, printable, timestamp, to_csv
from .progress import JobReport
from .shapes import already_uploaded, calibration_json, outcome_json, summary_json
from .signals import signal_name
from .upload_job import JobResult

__all__ = ["exit_for", "finish", "print_summary_table", "summary_lines"]

#: Problems listed one per line in the summary before "... and N more".
SUMMARY_TROUBLE_LINES = 20


def exit_for(
    summary: UploadSummary, *, signum: int | None = None, allow_empty: bool = False, unreached: int = 0
) -> tuple[int, str | None]:
    """The exit code for a job's verdict, and the one-line reason for a non-zero one."""
    counts = summary.counts
    verdict = summary.verdict
    if verdict == "cancelled" or signum is not None:
        name = signal_name(signum) if signum is not None else "a cancellation"
        code = 128 + signum if signum is not None else int(ExitCode.INTERRUPTED)
        left = f", {unreached} not reached" if unreached else ""
        return code, (
            f"interrupted by {name}: {counts['uploaded']} uploaded, {counts['unknown']} unknown, "
            f"{counts['not_attempted']} not attempted{left}; run the same command again to carry on "
            "(the journal skips what is stored and checks what is unknown)"
        )
    if verdict == "stopped":
        assert summary.stopped is not None
        code = exit_code_for(summary.stopped)
        code = code if code in (ExitCode.USAGE, ExitCode.FATAL) else ExitCode.FATAL
        return int(code), f"the job was stopped: {summary.stopped.headline}"
    if verdict == "unknown":
        unknown = summary.of("unknown")
        # Several stored products could be the file: the server's records cannot tell which.
        stuck = sum(1 for o in unknown if len(o.candidates) > 1)
        if stuck == len(unknown):
            return int(ExitCode.UNKNOWN_OUTCOME), (
                f"{_files(stuck)} with an unknown outcome that no re-run can resolve (several stored "
                "products could be each; ids above): check them on the server, then run again with "
                "--resend-unknown to send them"
            )
        also = (
            f"; {stuck} of them no re-run can resolve (several stored products could be each): check "
            "them, then use --resend-unknown"
            if stuck
            else ""
        )
        return int(ExitCode.UNKNOWN_OUTCOME), (
            f"{_files(len(unknown))} with an unknown outcome (never re-sent blindly); run again "
            f"with the same --journal to look again{also}"
        )
    if verdict == "failed":
        return int(ExitCode.SOME_FAILED), f"{_files(counts['failed'])} failed (reasons above)"
    if verdict == "incomplete":
        return int(ExitCode.INCOMPLETE), (
            f"{counts['not_ready']} not ready (still changing after --max-settle-wait), "
            f"{counts['not_attempted']} not attempted; run again to upload them"
        )
    if verdict == "empty" and not allow_empty:
        return int(ExitCode.EMPTY), (
            "nothing to upload: no files of this type were found (pass --allow-empty where "
            "quiet nights are normal)"
        )
    return int(ExitCode.OK), None


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def summary_lines(summary: UploadSummary, unreached: int = 0) -> list[str]:
    """The summary as plain lines (logs and pipes): counts, bytes and time, each problem file."""
    counts = summary.counts
    already = sum(1 for o in summary.outcomes if already_uploaded(o))
    names = [
        ("uploaded", counts["uploaded"]),
        ("already uploaded", already),
        ("skipped", counts["skipped"] - already),
        ("failed", counts["failed"]),
        ("unknown", counts["unknown"]),
        ("dry run", counts["dry_run"]),
        ("not ready", counts["not_ready"]),
        ("not attempted", counts["not_attempted"]),
        ("ignored", counts["ignored"]),
        ("not reached (interrupted first)", unreached),
    ]
    always = {"uploaded", "already uploaded", "failed", "unknown"}
    lines = [", ".join(f"{n} {label}" for label, n in names if n or label in always)]
    average = summary.bytes_sent / summary.elapsed if summary.elapsed > 0 else 0.0
    lines.append(
        f"sent {human_bytes(summary.bytes_sent)} in {summary.elapsed:.1f} s (avg {human_bytes(average)}/s)"
    )
    trouble = [o for o in summary.outcomes if o.status in ("failed", "unknown", "not_ready", "not_attempted")]
    for outcome in trouble[:SUMMARY_TROUBLE_LINES]:
        lines.append(printable(f"{outcome.status} {outcome.path}: {outcome.reason or ''}".rstrip(": ")))
    if len(trouble) > SUMMARY_TROUBLE_LINES:
        lines.append(f"... and {len(trouble) - SUMMARY_TROUBLE_LINES} more (-o json lists every file)")
    return lines


def print_summary_table(summary: UploadSummary, unreached: int = 0) -> None:
    """The summary on a terminal: files per outcome, bytes and time, then the problem files."""
    first, sent = summary_lines(summary, unreached)[:2]
    rows = [part.split(" ", 1)[::-1] for part in first.split(", ")]
    print_table(["outcome", "files"], rows, title="Upload summary")
    click.echo(sent[0].upper() + sent[1:])
    trouble = [o for o in summary.outcomes if o.status in ("failed", "unknown", "not_ready", "not_attempted")]
    if trouble and summary.stopped is None:
        rows = [[str(o.path), o.status, o.reason or ""] for o in trouble[:SUMMARY_TROUBLE_LINES]]
        print_table(["file", "status", "reason"], rows)


def finish(
    state: CliState,
    result: JobResult,
    report: JobReport,
    *,
    allow_empty: bool,
    screen: str,
) -> int:
    """Print the summary (table, lines or machine output), the stopping error and the exit reason."""
    summary = result.summary
    code, reason = exit_for(
        summary, signum=result.signum, allow_empty=allow_empty, unreached=result.unreached
    )
    if code == ExitCode.OK and report.wait:
        code = int(results_exit_code(result.results, waited=True))
        if code == ExitCode.SOME_FAILED:
            reason = "some calibrations ended in error"
        elif code == ExitCode.UNKNOWN_OUTCOME:
            reason = "some calibrations were still pending at --timeout"
    lines = summary_lines(summary, result.unreached)
    for line in lines:
        report.to_log("summary", line)
    if state.output == "table":
        if screen == "live":
            print_summary_table(summary, result.unreached)
        else:
            _plain_summary(lines)
        if result.results:
            print_results(list(result.results), title="Calibration")
    else:
        document = _document(summary, result, code, reason, waited=report.wait)
        if state.output == "jsonl":
            report.json_event("summary", **document)
        elif state.output == "csv":
            click.echo(to_csv([outcome_json(o) for o in summary.outcomes]), nl=False)
        else:
            emit_json(document)
    if summary.stopped is not None:
        message, hint = error_lines(summary.stopped)
        message, hint = printable(message), printable(hint) if hint else None
        click.secho(f"error: {message}", fg="red", err=True)
        report.to_log("error", message)
        if hint:
            click.echo(f"hint: {hint}", err=True)
            report.to_log("hint", hint)
    if reason is not None and code:
        click.secho(f"exit {code} ({summary.verdict}): {reason}", err=True)
        report.to_log("exit", f"{code} ({summary.verdict}): {reason}")
    else:
        report.to_log("exit", f"{code} ({summary.verdict})")
    return code


def _plain_summary(lines: list[str]) -> None:
    """Off a terminal (and with -q): the summary as timestamped lines on stdout."""
    for line in lines:
        click.echo(f"{timestamp()} {'summary':<13} {line}")


def _document(
    summary: UploadSummary, result: JobResult, code: int, reason: str | None, *, waited: bool
) -> dict[str, object]:
    document = summary_json(summary)
    document.update(
        unreached=result.unreached,
        exit_code=code,
        reason=reason,
        interrupted=signal_name(result.signum) if result.signum is not None else None,
        watch_ended=result.watch_ended,
    )
    if waited:
        document["results"] = [calibration_json(r) for r in result.results]
    return document
