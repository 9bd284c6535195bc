"""The emulator's world: tables, deterministic ids, persistence, calibration progress.

All access goes through one re-entrant lock: the server thread mutates, tests read through
:class:`StateView` from their own thread.
"""

from __future__ import annotations

import dataclasses
import heapq
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from . import calibration as calib
from . import seed as seeding
from .dirt import dirty_rows
from .records import (
    KINDS,
    Calibration,
    Camera,
    Comment,
    DataProduct,
    Datum,
    Download,
    Favourite,
    Group,
    Observatory,
    Target,
    User,
)
from .store import SqliteStore

__all__ = ["DataProductInfo", "State", "StateView"]

R = TypeVar("R")


@dataclass(frozen=True)
class DataProductInfo:
    """What the emulator stored for one uploaded file (dry runs included)."""

    id: int
    file_name: str
    stored_name: str
    sha256: str
    size: int
    target: str
    observatory: str | None
    user: str
    data_product_type: str
    dry_run: bool
    status: str
    #: When its calibration ends in S or E, on the emulator's clock (None: no calibration).
    calibrated_at: float | None = None
    #: Where the stored bytes are on disk ("" for dry runs): tests read back what arrived.
    disk_path: str = ""


class State:
    """Tables of records keyed by id, plus counters; optionally mirrored to SQLite."""

    def __init__(
        self,
        *,
        seed: int,
        files_dir: Path,
        store: SqliteStore | None,
        settings: calib.CalibrationSettings,
        dirty: bool = False,
    ) -> None:
        self.seed = seed
        self.dirty = dirty
        self.files_dir = files_dir
        self.store = store
        self.settings = settings
        self.lock = threading.RLock()
        self.tables: dict[str, dict[int, Any]] = {kind: {} for kind in KINDS}
        self.counters: dict[str, int] = {}
        self.request_counts: Counter[str] = Counter()
        self._pending: set[int] = set()
        #: (p_until, id) of pending calibrations, soonest first (entries may be stale: see advance).
        self._due: list[tuple[float, int]] = []
        #: dataproduct id -> calibration id (calibration_of is called per listed product).
        self._cal_index: dict[int, int] = {}
        with self.lock:
            if not self._load():
                self._seed()

    # -- persistence -------------------------------------------------------------------
    def _load(self) -> bool:
        if self.store is None:
            return False
        rows, meta = self.store.load()
        if not rows:
            return False
        for kind, by_id in rows.items():
            cls = KINDS[kind]
            self.tables[kind] = {ident: cls(**body) for ident, body in by_id.items()}
        self.counters = {k: int(v) for k, v in meta.get("counters", {}).items()}
        self._pending = {c.id for c in self.calibrations() if not c.materialized}
        self._due = [(c.p_until, c.id) for c in self.calibrations() if not c.materialized]
        heapq.heapify(self._due)
        self._cal_index = {c.dataproduct_id: c.id for c in self.calibrations()}
        return True

    def _seed(self) -> None:
        world = seeding.build(self.seed)
        self.files_dir.mkdir(parents=True, exist_ok=True)
        for kind, records in (
            ("user", world.users),
            ("target", world.targets),
            ("group", world.groups),
            ("observatory", world.observatories),
            ("camera", world.cameras),
            ("favourite", world.favourites),
            ("dataproduct", world.dataproducts),
            ("calibration", world.calibrations),
            ("datum", world.datums),
            ("comment", world.comments),
        ):
            for record in records:
                self.put(kind, record)
        csv_path = self.files_dir / "targets" / "harness_phot_1.csv"
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        csv_path.write_bytes(seeding.SEEDED_CSV)
        for product in self.dataproducts():
            product.disk_path = str(csv_path)
            self.put("dataproduct", product)
        # Ids continue after the seeded rows, like a Postgres sequence.
        for kind, table in self.tables.items():
            self.counters[kind] = max(table, default=0)
        self.counters["file_prefix"] = 415
        self._save_counters()
        if self.dirty:
            self.seed_dirty()

    def seed_dirty(self) -> None:
        """Add the rows real databases hold and tidy seeds lack (see `dirt`), with fresh ids."""
        with self.lock:
            first = {kind: self.counters.get(kind, 0) + 1 for kind in KINDS}
            for kind, record in dirty_rows(first):
                self.put(kind, record)
                self.counters[kind] = max(self.counters.get(kind, 0), record.id)
            self._save_counters()

    def put_row(self, kind: str, fields: dict[str, Any], now: float) -> Any:
        """Insert a row of `kind` as given, or change the given fields of row ``fields["id"]``.

        Nothing is validated: like a write straight to the database, any value a column can
        hold is accepted (and answered exactly as the real serializers would). A new row gets
        the next id and ``created``/``modified`` = `now` unless given.

        Raises:
            KeyError: an unknown `kind` or field, or a new row missing a required field.
        """
        cls = KINDS[kind]
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise KeyError(f"{kind} has no field(s) {', '.join(unknown)}")
        with self.lock:
            existing = self.get(kind, int(fields["id"])) if "id" in fields else None
            if existing is not None:
                record = dataclasses.replace(existing, **fields)
            else:
                values = {"id": self.next_id(kind), **fields}
                for stamp in ("created", "modified"):
                    if stamp in known and stamp not in values:
                        values[stamp] = now
                try:
                    record = cls(**values)
                except TypeError as exc:
                    raise KeyError(f"cannot make a {kind}: {exc}") from None
                self.counters[kind] = max(self.counters.get(kind, 0), record.id)
                self._save_counters()
            self.put(kind, record)
            return record

    def _save_counters(self) -> None:
        if self.store is not None:
            self.store.set_meta("counters", self.counters)

    def reset(self) -> None:
        """Forget everything and go back to the seeded state."""
        with self.lock:
            self.tables = {kind: {} for kind in KINDS}
            self.counters = {}
            self.request_counts.clear()
            self._pending.clear()
            self._due.clear()
            self._cal_index.clear()
            if self.store is not None:
                self.store.clear()
            if self.files_dir.exists():
                shutil.rmtree(self.files_dir, ignore_errors=True)
            self._seed()  # with the dirty rows again when the emulator was started with them

    # -- generic table access -------------------------------------------------------------
    def next_id(self, kind: str) -> int:
        """Next id of ``kind`` (never reused, even after deletes)."""
        with self.lock:
            self.counters[kind] = self.counters.get(kind, 0) + 1
            self._save_counters()
            return self.counters[kind]

    def put(self, kind: str, record: Any) -> None:
        """Insert or update one record (and persist it)."""
        with self.lock:
            self.tables[kind][record.id] = record
            if kind == "calibration":
                self._cal_index[record.dataproduct_id] = record.id
            if self.store is not None:
                self.store.put(kind, record.id, dataclasses.asdict(record))

    def remove(self, kind: str, ident: int) -> None:
        """Delete one record by id (no error when absent)."""
        with self.lock:
            removed = self.tables[kind].pop(ident, None)
            if kind == "calibration":
                self._pending.discard(ident)
                if removed is not None:
                    self._cal_index.pop(removed.dataproduct_id, None)
            if self.store is not None:
                self.store.delete(kind, ident)

    def _rows(self, kind: str, cls: type[R]) -> list[R]:
        with self.lock:
            table = self.tables[kind]
            return [row for ident in sorted(table) if isinstance(row := table[ident], cls)]

    def users(self) -> list[User]:
        return self._rows("user", User)

    def targets(self) -> list[Target]:
        return self._rows("target", Target)

    def groups(self) -> list[Group]:
        return self._rows("group", Group)

    def observatories(self) -> list[Observatory]:
        return self._rows("observatory", Observatory)

    def cameras(self) -> list[Camera]:
        return self._rows("camera", Camera)

    def favourites(self) -> list[Favourite]:
        return self._rows("favourite", Favourite)

    def dataproducts(self) -> list[DataProduct]:
        return self._rows("dataproduct", DataProduct)

    def calibrations(self) -> list[Calibration]:
        return self._rows("calibration", Calibration)

    def datums(self) -> list[Datum]:
        return self._rows("datum", Datum)

    def comments(self) -> list[Comment]:
        return self._rows("comment", Comment)

    def downloads(self) -> list[Download]:
        return self._rows("download", Download)

    def get(self, kind: str, ident: int) -> Any:
        """Record of ``kind`` with id ``ident``, or None."""
        with self.lock:
            return self.tables[kind].get(ident)

    # -- lookups ------------------------------------------------------------------------
    def user_by_token(self, token: str) -> User | None:
        return next((u for u in self.users() if u.token and u.token == token), None)

    def user_by_name(self, username: str) -> User | None:
        return next((u for u in self.users() if u.username == username), None)

    def target_by_name(self, name: str) -> Target | None:
        return next((t for t in self.targets() if t.name == name), None)

    def camera_by_prefix(self, prefix: str) -> Camera | None:
        return next((c for c in self.cameras() if c.prefix == prefix), None)

    def observatory_by_name(self, name: str) -> Observatory | None:
        return next((o for o in self.observatories() if o.name == name), None)

    def calibration_of(self, product_id: int) -> Calibration | None:
        with self.lock:
            cal_id = self._cal_index.get(product_id)
            found: Calibration | None = None if cal_id is None else self.get("calibration", cal_id)
            return found

    def product_status(self, product: DataProduct, now: float) -> str:
        """DataProduct status letter: follows its calibration (C until one exists)."""
        cal = self.calibration_of(product.id)
        if cal is None or now < cal.registered_at:
            return "C"
        return calib.status_at(cal, now)

    def owner_favourite(self, user_id: int, camera_id: int) -> Favourite | None:
        return next(
            (
                f
                for f in self.favourites()
                if f.user_id == user_id and f.camera_id == camera_id and f.active_flg
            ),
            None,
        )

    # -- calibration progress -----------------------------------------------------------------
    def track(self, cal: Calibration) -> None:
        """Store a planned calibration and watch it until it finishes."""
        with self.lock:
            self.put("calibration", cal)
            self._pending.add(cal.id)
            heapq.heappush(self._due, (cal.p_until, cal.id))

    def advance(self, now: float) -> None:
        """Materialise every calibration whose timeline has finished by ``now`` (in id order).

        Called on every request, so it looks only at the calibrations due by now: an entry whose
        calibration was removed or already materialised is dropped, one whose end moved later is
        filed again (a restart files the new end with `track`).
        """
        with self.lock:
            due: dict[int, Calibration] = {}
            while self._due and self._due[0][0] <= now:
                _, cal_id = heapq.heappop(self._due)
                cal = self.get("calibration", cal_id) if cal_id in self._pending else None
                if cal is None:
                    self._pending.discard(cal_id)
                elif now >= cal.p_until:
                    due[cal_id] = cal
                else:
                    heapq.heappush(self._due, (cal.p_until, cal_id))
            for cal_id in sorted(due):
                self._materialise(due[cal_id])
                self._pending.discard(cal_id)

    def _materialise(self, cal: Calibration) -> None:
        product: DataProduct | None = self.get("dataproduct", cal.dataproduct_id)
        cal.materialized = True
        cal.start_processing = cal.c_until
        self.put("calibration", cal)
        if product is None:
            return
        product.modified = cal.p_until
        if cal.outcome == "S":
            self._add_points(cal, product)
            if product.data_product_type == "fits_file":
                self._write_catalogue(cal, product)
        self.put("dataproduct", product)

    def _write_catalogue(self, cal: Calibration, product: DataProduct) -> None:
        relative = str(Path(product.data).with_suffix(".dat"))
        disk = self.files_dir / relative
        disk.parent.mkdir(parents=True, exist_ok=True)
        disk.write_text(calib.synthetic_catalogue(cal, product.sha256))
        product.photometry_data = "/" + relative

    def _add_points(self, cal: Calibration, product: DataProduct) -> None:
        user: User | None = self.get("user", product.user_id)
        camera: Camera | None = self.get("camera", product.camera_id or 0)
        if camera is not None:
            observatory: Observatory | None = self.get("observatory", camera.observatory_id)
            source = camera.prefix
            facility = observatory.name if observatory else camera.prefix
        else:
            source = facility = product.observatory_text or ""
        observer = user.username if user else ""
        observers = list(product.observers) if isinstance(product.observers, list) else []
        observers = observers or [observer]
        kind = product.data_product_type
        rows: list[tuple[float, float, float, str]] = []
        if kind == "photometry_csv" and product.disk_path:
            for point in calib.csv_points(product.disk_path):
                band = point.band or cal.best_filter
                band = band if "/" in band else f"{cal.survey}/{band}"
                rows.append((point.mjd, point.mag, point.error, band))
        elif kind in ("fits_file", "photometry") and cal.mag is not None and cal.mjd is not None:
            rows.append((cal.mjd, cal.mag, cal.mag_error or 0.0, f"{cal.best_filter}({cal.survey})"))
        target: Target | None = self.get("target", product.target_id)
        for mjd, mag, error, band in rows:
            self.put(
                "datum",
                Datum(
                    self.next_id("datum"),
                    product.target_id,
                    mjd,
                    mag,
                    error,
                    band,
                    source,
                    facility,
                    observer,
                    cal.p_until,
                    data_product_id=product.id,
                    observers=observers,
                ),
            )
            if target is not None and error > 0 and mjd >= target.mjd_last:
                target.mag_last, target.mjd_last, target.filter_last = mag, mjd, band
        if target is not None:
            self.put("target", target)

    # -- inspection ---------------------------------------------------------------------------
    def product_info(self, product: DataProduct, now: float) -> DataProductInfo:
        """Inspection view of one data product."""
        user: User | None = self.get("user", product.user_id)
        target: Target | None = self.get("target", product.target_id)
        camera: Camera | None = self.get("camera", product.camera_id or 0)
        cal = None if product.dry_run else self.calibration_of(product.id)
        return DataProductInfo(
            id=product.id,
            file_name=product.file_name,
            stored_name=Path(product.data).name,
            sha256=product.sha256,
            size=product.size,
            target=target.name if target else "",
            user=user.username if user else "",
            observatory=camera.prefix if camera else product.observatory_text,
            data_product_type=product.data_product_type,
            dry_run=product.dry_run,
            status="dry_run" if product.dry_run else self.product_status(product, now),
            calibrated_at=None if cal is None else cal.p_until,
            disk_path=product.disk_path,
        )

    def snapshot(self, now: float) -> dict[str, Any]:
        """The ``/_emulator/state`` document."""
        with self.lock:
            self.advance(now)
            return {
                "dataproducts": [dataclasses.asdict(self.product_info(p, now)) for p in self.dataproducts()],
                "request_counts": dict(sorted(self.request_counts.items())),
                "targets": [t.name for t in self.targets()],
                "counts": {kind: len(rows) for kind, rows in self.tables.items()},
            }


class StateView:
    """Read-only accessors for tests: what was stored, how often each route was called."""

    def __init__(self, state: State, clock: Any) -> None:
        self._state = state
        self._clock = clock

    @contextmanager
    def _locked(self) -> Iterator[float]:
        with self._state.lock:
            now = float(self._clock())
            self._state.advance(now)
            yield now

    def dataproducts(self) -> list[DataProductInfo]:
        """Every stored data product, dry runs included, by id."""
        with self._locked() as now:
            return [self._state.product_info(p, now) for p in self._state.dataproducts()]

    def dataproduct(self, ident: int) -> DataProductInfo | None:
        """One data product by id, or None."""
        return next((p for p in self.dataproducts() if p.id == ident), None)

    def dataproducts_by_sha256(self, sha256: str) -> list[DataProductInfo]:
        """Data products whose content hash is ``sha256`` (hex)."""
        return [p for p in self.dataproducts() if p.sha256 == sha256.lower()]

    def dataproducts_by_file_name(self, file_name: str) -> list[DataProductInfo]:
        """Data products uploaded under ``file_name`` (the client's name, no prefix)."""
        return [p for p in self.dataproducts() if p.file_name == file_name]

    @property
    def request_counts(self) -> dict[str, int]:
        """Requests seen per ``"METHOD /path/"`` (both hosts; ``/_emulator/`` excluded)."""
        with self._state.lock:
            return dict(self._state.request_counts)

    def request_count(self, method: str, path: str) -> int:
        """Requests seen for one method and path."""
        return self.request_counts.get(f"{method.upper()} {path}", 0)

    def snapshot(self) -> dict[str, Any]:
        """Same document as ``GET /_emulator/state``."""
        return self._state.snapshot(float(self._clock()))

    def target_names(self) -> list[str]:
        """Names of all targets, by id."""
        return [t.name for t in self._state.targets()]
