"""The delivery function locally: the table's stream in local AWS, read like the cloud's event source mapping
(stream_reader.py), drives the app's real `deliver` handler, as the CDK stack wires it in the cloud."""
from __future__ import annotations

import logging
from typing import Any

from chalice import Chalice

from infra.local.errors import StackError
from infra.local.faults import DeliveryKills
from infra.local.moto_server import MotoServer
from infra.local.polling import Polling
from infra.local.stream_reader import StreamReader

FUNCTION_NAME = "deliver"
POLL_SECONDS = 0.05  # Lambda polls a shard about four times a second when idle; locally we keep delivery snappy
BATCH_SIZE = 100  # the mapping's batch size in infra/stacks/philatelic_stack.py
MAX_RETRIES = 10
LOG = logging.getLogger("infra.local.delivery")


class StreamDelivery(Polling):
    name = "stream delivery"
    interval = POLL_SECONDS

    def __init__(self, aws: MotoServer, region: str, table_name: str, app: Chalice,
                 kills: DeliveryKills | None = None, lag_seconds: float = 0) -> None:
        super().__init__()
        self.kills = kills
        self.use_app(app)
        table = aws.client("dynamodb", region).describe_table(TableName=table_name)["Table"]
        self.reader = StreamReader(aws.client("dynamodbstreams", region), table["LatestStreamArn"], self._invoke,
                                   batch_size=BATCH_SIZE, max_retries=MAX_RETRIES, lag_seconds=lag_seconds)

    def use_app(self, app: Chalice) -> None:
        if FUNCTION_NAME not in app.handler_map:
            raise StackError(f"app.py defines no `{FUNCTION_NAME}` Lambda function for the table's stream")
        handler = app.handler_map[FUNCTION_NAME]
        self._handler = self.kills.wrap(handler) if self.kills is not None else handler

    def _invoke(self, event: dict[str, Any], context: Any) -> Any:
        return self._handler(event, context)

    def skip_existing(self) -> None:
        """Records written before the stack served (saved data loaded at start) are history, not news."""
        handler, self._handler = self._handler, lambda event, context: None
        lag, self.reader.lag_seconds = self.reader.lag_seconds, 0
        try:
            self.reader.poll()
        finally:
            self._handler, self.reader.lag_seconds = handler, lag

    def summary(self) -> str:
        """Printed at stop, like the fault lines: `make load` reads it."""
        killed = self.kills.killed if self.kills is not None else 0
        pushed = sorted(self.kills.pushed_before_kills) if self.kills is not None else []
        return (f"delivery: batches={self.reader.invocations} killed={killed} "
                f"dead_letters={len(self.reader.dead_letters)}\n"
                f"delivery: messages handled by killed batches={','.join(pushed)}")

    def stop(self) -> None:
        super().stop()
        print(self.summary(), flush=True)

    def tick(self) -> None:
        """Like the mapping: the shard is polled again at once while records keep coming and every batch went
        through; only an idle shard (or one whose batch failed and waits for its retry) waits for the next tick."""
        try:
            while self.reader.poll() and not self.reader.retry_waiting() and not self.stopping():
                pass
        except Exception:  # local AWS busy or stopping: the records stay in the stream for the next tick
            LOG.warning("reading the table's stream failed; retrying", exc_info=True)
