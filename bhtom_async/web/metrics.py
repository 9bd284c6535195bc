"""``/metrics``: a `Night` in the Prometheus text format, through the official ``prometheus_client``.

Each night has its own `CollectorRegistry` (never the process-wide default one), and the figures
are read from the night at scrape time, so the metrics and the page always agree.

Metric names (see docs/night-page.md):

- ``bhtom_uploads_total{state}``: frames by upload outcome (uploaded, already_uploaded, failed,
  unknown, skipped, not_ready, not_attempted, dry_run, ignored);
- ``bhtom_frames{state}``: frames by their state on the page right now;
- ``bhtom_upload_bytes_total``: request-body bytes sent; ``bhtom_upload_attempts_total`` and
  ``bhtom_upload_retries_total``: upload requests sent, and those beyond each file's first;
- ``bhtom_reconcile_verdicts_total{verdict}``: lost answers the server listing settled (``found``)
  or left ``unknown``;
- ``bhtom_calibrations_total{status}``: final results (calibrated, calib_failed);
- ``bhtom_calibration_pending``: uploaded frames still without a final result;
- ``bhtom_calibration_lag_seconds``: histogram of upload answer to final calibration result;
- ``bhtom_light_curve_points{filter}``: points per filter;
- ``bhtom_request_duration_seconds{route,status}``: histogram of request attempts (route is
  ``METHOD /path/``; status ``error`` when no answer came), when the client was made with
  ``on_request=night.feed``; ``bhtom_request_retries_total``: the client's own retries;
- ``bhtom_poll_rounds_total{result}`` (``ok``, ``failed``) and ``bhtom_poll_pending_ids``: the
  calibration poller's rounds and the ids it still waits for, when it was given
  ``on_round=night.feed``;
- ``bhtom_journal_write_seconds{operation}``: histogram of the journal's writes (begin, finish,
  record_stored), waiting for its lock included;
- ``bhtom_rate_limit_pauses_total`` and ``bhtom_rate_limit_pause_seconds_total``: job-wide pauses
  after the server's 429 answers, and their seconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import get_args

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from ..night import Night
from ..upload.events import OutcomeStatus

__all__ = [
    "JOURNAL_BUCKETS",
    "LAG_BUCKETS",
    "REQUEST_BUCKETS",
    "NightCollector",
    "metrics_text",
    "night_registry",
]

#: Request duration histogram buckets, seconds (an upload of a big frame takes tens of seconds).
REQUEST_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
#: Journal write histogram buckets, seconds (a local SQLite commit takes milliseconds).
JOURNAL_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
#: Calibration lag histogram buckets, seconds (the emulator answers in under a second; the real
#: server in seconds to hours).
LAG_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

#: Upload outcomes by label: the job's own, with an earlier run's uploads told apart.
_OUTCOMES = ("already_uploaded", *get_args(OutcomeStatus))


class NightCollector(Collector):
    """Reads one `Night` at every scrape."""

    def __init__(self, night: Night) -> None:
        self.night = night

    def collect(self) -> Iterator[Metric]:
        night = self.night
        counts = night.counts()
        uploads = CounterMetricFamily("bhtom_uploads", "Frames by upload outcome.", labels=["state"])
        outcome = dict.fromkeys(_OUTCOMES, 0)
        for frame in night.frames.values():
            if frame.state in ("calibrated", "calib_failed", "uploaded"):
                key = "already_uploaded" if frame.already_uploaded else "uploaded"
                outcome[key] += 1
            elif frame.state in outcome:
                outcome[frame.state] += 1
        for state, n in outcome.items():
            uploads.add_metric([state], n)
        yield uploads
        frames = GaugeMetricFamily("bhtom_frames", "Frames by their current state.", labels=["state"])
        for state, n in counts.items():
            if not state.endswith("_total"):
                frames.add_metric([state], n)
        yield frames
        yield CounterMetricFamily("bhtom_upload_bytes", "Request-body bytes sent.", value=night.bytes_sent)
        yield CounterMetricFamily("bhtom_upload_attempts", "Upload requests sent.", value=night.attempts)
        retries = sum(max(f.attempts - 1, 0) for f in night.frames.values())
        yield CounterMetricFamily(
            "bhtom_upload_retries", "Upload requests beyond each file's first.", value=retries
        )
        verdicts = CounterMetricFamily(
            "bhtom_reconcile_verdicts", "Lost upload answers settled by a server listing.", labels=["verdict"]
        )
        verdicts.add_metric(["found"], night.reconciled)
        verdicts.add_metric(["unknown"], counts["unknown"])
        yield verdicts
        calibrations = CounterMetricFamily(
            "bhtom_calibrations", "Final calibration results.", labels=["status"]
        )
        calibrations.add_metric(["calibrated"], counts["calibrated"])
        calibrations.add_metric(["calib_failed"], counts["calib_failed"])
        yield calibrations
        yield GaugeMetricFamily(
            "bhtom_calibration_pending", "Uploaded frames without a final result.", value=counts["uploaded"]
        )
        yield _histogram(
            "bhtom_calibration_lag_seconds",
            "Seconds from an upload's answer to its final calibration result.",
            {(): night.lags},
            LAG_BUCKETS,
        )
        yield _histogram(
            "bhtom_request_duration_seconds",
            "Seconds of each request attempt, by route and status.",
            night.requests,
            REQUEST_BUCKETS,
            labels=("route", "status"),
        )
        yield _histogram(
            "bhtom_journal_write_seconds",
            "Seconds of each write to the upload journal, by operation.",
            night.journal_writes,
            JOURNAL_BUCKETS,
            labels=("operation",),
        )
        yield CounterMetricFamily(
            "bhtom_request_retries",
            "Request attempts beyond the first (the client's retries).",
            value=night.request_retries,
        )
        rounds = CounterMetricFamily("bhtom_poll_rounds", "Calibration poller rounds.", labels=["result"])
        rounds.add_metric(["ok"], night.poll_rounds - night.poll_rounds_failed)
        rounds.add_metric(["failed"], night.poll_rounds_failed)
        yield rounds
        yield GaugeMetricFamily(
            "bhtom_poll_pending_ids",
            "Ids the poller still waits for (after its last round).",
            value=night.poll_pending,
        )
        yield CounterMetricFamily(
            "bhtom_rate_limit_pauses", "Job-wide pauses after a 429 answer.", value=len(night.pauses)
        )
        yield CounterMetricFamily(
            "bhtom_rate_limit_pause_seconds",
            "Seconds of job-wide pauses after 429 answers.",
            value=sum(night.pauses),
        )
        points = GaugeMetricFamily("bhtom_light_curve_points", "Light-curve points.", labels=["filter"])
        per_filter: dict[str, int] = {}
        for point in night.points:
            per_filter[point.filter] = per_filter.get(point.filter, 0) + 1
        for name, n in sorted(per_filter.items()):
            points.add_metric([name], n)
        yield points


def _histogram(
    name: str,
    documentation: str,
    series: Mapping[tuple[str, ...], list[float]],
    edges: tuple[float, ...],
    *,
    labels: tuple[str, ...] = (),
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation, labels=list(labels))
    for values, seconds in sorted(series.items()):
        buckets = [(f"{edge:g}", float(sum(1 for v in seconds if v <= edge))) for edge in edges]
        buckets.append(("+Inf", float(len(seconds))))
        family.add_metric(list(values), buckets, sum(seconds))
    return family


def night_registry(night: Night) -> CollectorRegistry:
    """A registry of its own holding `night`'s collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NightCollector(night))
    return registry


def metrics_text(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The exposition text of `registry` and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
