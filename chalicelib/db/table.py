"""Creating the table (local stack and tests; the cloud table is defined in infra/)."""
from __future__ import annotations

from chalicelib.db.models import TTL_ATTRIBUTE, Item


def create_table() -> None:
    if not Item.exists():
        Item.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
    connection = Item._get_connection().connection
    connection.client.update_time_to_live(
        TableName=Item.Meta.table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
