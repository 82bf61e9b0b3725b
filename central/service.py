"""One central process: database (migrated), site, signer, pipeline and MQTT ingest."""

from __future__ import annotations

import asyncio
import logging

from central import database, store
from central.auth.service import Authenticator
from central.ingest import MqttIngest
from central.keys import DecisionSigner, GateKeys
from central.monitoring.service import Monitoring
from central.pipeline import Pipeline
from central.settings import CentralSettings
from central.site import Site, load_site
from central.transit.service import TransitService
from contract.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class Central:
    """Everything one central process holds: database, signer, pipeline, ingest."""

    def __init__(self, settings: CentralSettings) -> None:
        self.settings = settings
        self.site: Site | None = load_site(settings.site_file) if settings.site_file else None
        self.engine = database.create_engine(settings.database_url)
        self.sessions = database.sessionmaker(self.engine)
        self.signer = DecisionSigner(settings.signing.private_key_file, settings.signing.key_id)
        self.pipeline = Pipeline(
            self.sessions,
            self.signer,
            GateKeys(settings.gate_keys_dir),
            decision_ttl_s=settings.decision_ttl_s,
            require_signed_passages=bool(settings.require_signed_passages),
        )
        self.transit = (
            TransitService(settings.transit, settings.timeseries, self.sessions)
            if settings.transit.enabled
            else None
        )
        self.ingest = (
            MqttIngest(
                settings.mqtt, self.pipeline, self.transit.pipeline if self.transit else None
            )
            if settings.mqtt.enabled
            else None
        )
        self.auth = Authenticator(self.sessions, settings.api_tokens)
        self.monitoring = Monitoring(settings, self.sessions, self.signer, self.site)
        self.api_rejected = 0
        self._ingest_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await database.migrate(self.engine)
        if self.site is not None:
            async with self.sessions.begin() as session:
                await store.sync_site(session, self.site)
            log.info(
                "site %s: %d nodes, %d processes",
                self.site.site,
                len(self.site.nodes),
                len(self.site.processes),
            )
        if self.transit is not None:
            await self.transit.start()
        if self.ingest is not None:
            self._ingest_task = asyncio.create_task(self.ingest.run(), name="central-mqtt-ingest")
        await self.monitoring.start()
        if not await self.auth.enforced():
            log.warning("no users and no api_tokens: the API is open to anyone (open mode)")

    async def stop(self) -> None:
        await self.monitoring.stop()
        if self._ingest_task is not None:
            await cancel_and_wait(self._ingest_task)
        if self.transit is not None:
            await self.transit.stop()
        await self.engine.dispose()

    @property
    def mqtt_connected(self) -> bool:
        return self.ingest is not None and self.ingest.connected
