"""The stable machine-readable shapes of upload outcomes, upload jobs and calibration results.

Documented in docs/cli.md; fields may be added, never renamed or removed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models.calibration import CalibrationResult
    from ..upload.events import UploadOutcome, UploadSummary

__all__ = ["already_uploaded", "calibration_json", "outcome_json", "summary_json"]


def outcome_json(outcome: UploadOutcome) -> dict[str, object]:
    """One file's outcome."""
    return {
        "path": str(outcome.path),
        "status": outcome.status,
        "data_product_id": outcome.data_product_id,
        "reason": outcome.reason,
        "size": outcome.size,
        "attempts": outcome.attempts,
        "reconciled": outcome.reconciled,
        "sent_as": outcome.sent_as,
        "candidates": list(outcome.candidates),
        "versions": [outcome_json(v) for v in outcome.versions],
    }


def already_uploaded(outcome: UploadOutcome) -> bool:
    """A file skipped because it is stored already (in an earlier run, or as a copy's content)."""
    return outcome.status == "skipped" and outcome.data_product_id is not None


def summary_json(summary: UploadSummary) -> dict[str, object]:
    """A whole upload job (the caller adds ``exit_code``, ``reason`` and ``interrupted``)."""
    stopped = summary.stopped
    return {
        "verdict": summary.verdict,
        "counts": summary.counts,
        "already_uploaded": sum(1 for o in summary.outcomes if already_uploaded(o)),
        "ids": list(summary.ids),
        "bytes_sent": summary.bytes_sent,
        "elapsed": round(summary.elapsed, 3),
        "stopped": stopped.headline if stopped is not None else None,
        "stopped_hint": None if stopped is None else stopped.cli_hint or stopped.hint,
        "cancelled": summary.cancelled,
        "warnings": list(summary.warnings),
        "files": [outcome_json(o) for o in summary.outcomes],
    }


def calibration_json(result: CalibrationResult) -> dict[str, object]:
    """One calibration result."""
    return {
        "dataproduct_id": result.dataproduct_id,
        "filename": result.filename,
        "status": result.status.name.lower(),
        "magnitude": result.magnitude,
        "error": result.error,
        "is_limit": result.is_limit,
        "filter": result.filter,
        "mjd": result.mjd,
        "observatory": result.observatory,
        "status_message": result.status_message,
        "message": result.message,
        "dry_run": result.dry_run,
        "plot_path": str(result.plot_path) if result.plot_path else None,
    }
