"""Creating the table (local stack and tests; the cloud table is defined in infra/)."""
from __future__ import annotations

from chalicelib.db.models import TTL_ATTRIBUTE, Item

# The delivery function reads new images only: every frame is built from what a write committed.
STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}


def create_table() -> None:
    if not Item.exists():
        Item.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
    client = Item._get_connection().connection.client
    name = Item.Meta.table_name
    client.update_time_to_live(TableName=name,
                               TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE})
    if not client.describe_table(TableName=name)["Table"].get("StreamSpecification", {}).get("StreamEnabled"):
        client.update_table(TableName=name, StreamSpecification=STREAM)
