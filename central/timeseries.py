"""Tracks and device telemetry to an InfluxDB-compatible time-series store (optional).

Written through influxdb-client's batching write API (InfluxDB v2 line protocol at
`/api/v2/write`): InfluxDB 2/3 in production, VictoriaMetrics where that is what the
operator runs. Central runs the same without it: nothing here is on the path of a
rule or an alert. Points are queued in memory and sent by the client's own
background thread, in batches, with retries; a store that is down costs memory up
to the client's buffer and a logged error per failed batch, never a stalled ingest.

Measurements (tags `device_id`, `iot_id` when bound):

| measurement | fields |
|---|---|
| `unit_position` | `lat`, `lon`, `speed_mps`, `course_deg`, `hdop`, `accuracy_m`, `mode` |
| `seal_status` | `battery_pct`, `opened` (1 when opened or tampered) |

Timestamps are the device's (`fixed_at`, `occurred_at`), in milliseconds.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contract.messages import PositionFix, SealEvent, SealState

log = logging.getLogger(__name__)


class TimeSeriesSettings(BaseModel):
    """Where tracks and telemetry go; without `url` nothing is written."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        default=None,
        description="InfluxDB v2 API base URL, e.g. http://127.0.0.1:8086 (InfluxDB) or "
        "http://127.0.0.1:8428 (VictoriaMetrics); unset: no time series",
    )
    token: str = Field(default="", description="API token (InfluxDB); VictoriaMetrics needs none")
    org: str = Field(default="corridor", description="organisation (InfluxDB)")
    bucket: str = Field(
        default="corridor", description="bucket (InfluxDB; VictoriaMetrics ignores it)"
    )
    batch_size: int = Field(default=500, ge=1, le=50_000, description="points per write")
    flush_interval_ms: int = Field(
        default=1000, ge=10, description="send a partial batch after this long"
    )
    max_retries: int = Field(default=5, ge=0, description="retries of a failed batch")
    close_wait_ms: int = Field(
        default=10_000, ge=0, description="at shutdown, wait this long for queued points"
    )


@dataclass
class TimeSeriesStats:
    queued: int = 0  # points handed to the client
    written: int = 0  # points the store acknowledged
    failed: int = 0  # points dropped after the last retry
    retried: int = 0  # batch retries


class TimeSeriesWriter:
    """One batching writer per central process; `close()` flushes what is queued."""

    def __init__(self, settings: TimeSeriesSettings) -> None:
        if not settings.url:
            raise ValueError("a time-series writer needs a URL")
        # Imported here: central without a time-series store never loads the client.
        from influxdb_client import InfluxDBClient, WriteOptions

        self.settings = settings
        self.stats = TimeSeriesStats()
        self._lock = threading.Lock()  # the callbacks run on the client's thread
        self._client = InfluxDBClient(
            url=settings.url, token=settings.token or "unused", org=settings.org, timeout=10_000
        )
        self._write = self._client.write_api(
            write_options=WriteOptions(
                batch_size=settings.batch_size,
                flush_interval=settings.flush_interval_ms,
                max_retries=settings.max_retries,
                max_close_wait=settings.close_wait_ms,
            ),
            success_callback=self._written,
            error_callback=self._failed,
            retry_callback=self._retried,
        )

    def write_fix(self, fix: PositionFix, iot_id: UUID | None) -> None:
        fields: dict[str, Any] = {"lat": fix.lat, "lon": fix.lon, "mode": fix.mode}
        for name in ("speed_mps", "course_deg", "hdop", "accuracy_m"):
            value = getattr(fix, name)
            if value is not None:
                fields[name] = float(value)
        self._point("unit_position", fix.device_id, iot_id, fields, fix.fixed_at.timestamp())

    def write_seal_event(self, event: SealEvent, iot_id: UUID | None) -> None:
        opened = event.state in (SealState.OPENED, SealState.TAMPERED) or event.event in (
            "opened",
            "tampered",
        )
        fields: dict[str, Any] = {"opened": int(opened)}
        if event.battery_pct is not None:
            fields["battery_pct"] = float(event.battery_pct)
        self._point("seal_status", event.seal_id, iot_id, fields, event.occurred_at.timestamp())

    def _point(
        self,
        measurement: str,
        device_id: str,
        iot_id: UUID | None,
        fields: dict[str, Any],
        at_s: float,
    ) -> None:
        record: dict[str, Any] = {
            "measurement": measurement,
            "tags": {"device_id": device_id} | ({"iot_id": str(iot_id)} if iot_id else {}),
            "fields": fields,
            "time": round(at_s * 1000),
        }
        # WritePrecision.MS is the plain string "ms", which the client's hints do not admit.
        self._write.write(
            bucket=self.settings.bucket,
            record=record,
            write_precision="ms",  # type: ignore[arg-type]
        )
        with self._lock:
            self.stats.queued += 1

    def close(self) -> None:
        """Send what is queued (waiting up to close_wait_ms), then release the client."""
        self._write.close()
        self._client.close()

    # ------------------------------------------------------------ client callbacks

    def _written(self, conf: tuple[str, str, str], data: str) -> None:
        with self._lock:
            self.stats.written += _points(data)

    def _failed(self, conf: tuple[str, str, str], data: str, exception: Exception) -> None:
        with self._lock:
            self.stats.failed += _points(data)
        log.error("time series: %d points not written: %s", _points(data), exception)

    def _retried(self, conf: tuple[str, str, str], data: str, exception: Exception) -> None:
        with self._lock:
            self.stats.retried += 1
        log.warning("time series: write failed, retrying: %s", exception)


def _points(data: str | bytes) -> int:
    text = data.decode() if isinstance(data, bytes) else data
    return sum(1 for line in text.splitlines() if line.strip())
