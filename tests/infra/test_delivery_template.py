"""The stream-driven delivery path in the synthesised stack: the table's stream, its mapping onto `deliver`, the
dead-letter queue, the alarms on both, and the delivery function's grants."""
from __future__ import annotations

import json
from typing import Any

import pytest

from infra import delivery_filter
from infra.local import stream_delivery
from tests.infra.conftest import Stack
from tests.infra.test_template import granted_actions, literal_text, refs

DELIVERY_TABLE_ACTIONS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:BatchGetItem",
                          "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem"}
STREAM_READ_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords",
                       "dynamodb:ListStreams"}
FOURTEEN_DAYS = 14 * 86400
STREAM_RETENTION_SECONDS = 86400


def mapping(stack: Stack) -> dict[str, Any]:
    return stack.one("AWS::Lambda::EventSourceMapping")[1]["Properties"]


def alarm_on(stack: Stack, metric_name: str) -> dict[str, Any]:
    [alarm] = [alarm["Properties"] for alarm in stack.of_type("AWS::CloudWatch::Alarm").values()
               if alarm["Properties"].get("MetricName") == metric_name]
    return alarm


def test_table_streams_new_images_as_locally(stack: Stack) -> None:
    table = pytest.importorskip("chalicelib.db.table")
    _, resource = stack.one("AWS::DynamoDB::Table")
    assert resource["Properties"]["StreamSpecification"] == {"StreamViewType": table.STREAM["StreamViewType"]}
    assert table.STREAM["StreamViewType"] == "NEW_IMAGE"


def test_the_stream_drives_the_deliver_function(stack: Stack) -> None:
    table, _ = stack.one("AWS::DynamoDB::Table")
    properties = mapping(stack)
    assert properties["FunctionName"] == {"Ref": "Deliver"}
    assert properties["EventSourceArn"] == {"Fn::GetAtt": [table, "StreamArn"]}
    assert stack.resources["Deliver"]["Properties"]["Handler"] == f"app.{stream_delivery.FUNCTION_NAME}"
    assert properties["StartingPosition"] == "TRIM_HORIZON"  # nothing committed before the mapping ran is skipped
    assert properties.get("Enabled", True) is True


def test_one_batch_per_shard_in_order_with_partial_failures(stack: Stack) -> None:
    properties = mapping(stack)
    assert properties["ParallelizationFactor"] == 1  # one partition key = one conversation, strictly in order
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["BisectBatchOnFunctionError"] is True
    assert properties["MaximumBatchingWindowInSeconds"] <= 1


def test_the_local_stack_reads_the_stream_like_the_mapping(stack: Stack) -> None:
    properties = mapping(stack)
    assert properties["BatchSize"] == stream_delivery.BATCH_SIZE
    assert properties["MaximumRetryAttempts"] == stream_delivery.MAX_RETRIES


def test_record_age_limit_leaves_room_for_the_alarm_and_fits_the_stream(stack: Stack) -> None:
    age = mapping(stack)["MaximumRecordAgeInSeconds"]
    assert alarm_on(stack, "IteratorAge")["Threshold"] / 1000 * 10 <= age < STREAM_RETENTION_SECONDS


def test_the_filters_pass_every_item_delivery_makes_frames_from(stack: Stack) -> None:
    delivery = pytest.importorskip("chalicelib.realtime.delivery")
    patterns = [json.loads(one["Pattern"]) for one in mapping(stack)["FilterCriteria"]["Filters"]]
    assert patterns == delivery_filter.PATTERNS
    assert len(patterns) <= 5  # the mapping's limit of filters
    kinds = {kind for pattern in patterns for kind in pattern["dynamodb"]["NewImage"]["T"]["S"]}
    assert kinds == set(delivery.PRODUCERS)


def test_given_up_batches_go_to_an_encrypted_tls_only_queue(stack: Stack) -> None:
    queue, resource = stack.one("AWS::SQS::Queue")
    assert mapping(stack)["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [queue, "Arn"]}}}
    properties = resource["Properties"]
    assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties
    assert properties["MessageRetentionPeriod"] == FOURTEEN_DAYS
    _, policy = stack.one("AWS::SQS::QueuePolicy")
    assert policy["Properties"]["Queues"] == [{"Ref": queue}]
    [deny] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert stack.template["Outputs"]["DeliveryDeadLetterQueueUrl"]["Value"] == {"Ref": queue}


def test_prod_keeps_its_dead_letters(prod_stack: Stack) -> None:
    _, queue = prod_stack.one("AWS::SQS::Queue")
    assert queue["DeletionPolicy"] == "Retain"


def test_alarms_on_dead_letters_and_iterator_age_notify_the_alarm_topic(stack: Stack) -> None:
    topic, _ = stack.one("AWS::SNS::Topic")
    queue, _ = stack.one("AWS::SQS::Queue")
    dead_letters = alarm_on(stack, "ApproximateNumberOfMessagesVisible")
    assert dead_letters["Namespace"] == "AWS/SQS"
    assert dead_letters["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
    assert (dead_letters["ComparisonOperator"], dead_letters["Threshold"]) == ("GreaterThanThreshold", 0)
    assert dead_letters["Statistic"] == "Maximum" and dead_letters["EvaluationPeriods"] == 1
    iterator_age = alarm_on(stack, "IteratorAge")
    assert iterator_age["Namespace"] == "AWS/Lambda"
    assert iterator_age["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "Deliver"}}]
    assert iterator_age["Statistic"] == "Maximum"
    assert iterator_age["ComparisonOperator"] == "GreaterThanThreshold"
    assert 0 < iterator_age["Threshold"] <= 60_000  # milliseconds
    assert iterator_age["EvaluationPeriods"] >= iterator_age.get("DatapointsToAlarm", 1) >= 2
    for alarm in (dead_letters, iterator_age):
        assert alarm["AlarmActions"] == [{"Ref": topic}]
        assert alarm["TreatMissingData"] == "notBreaching"


def test_deliver_may_do_exactly_what_delivery_does(stack: Stack) -> None:
    table, _ = stack.one("AWS::DynamoDB::Table")
    queue, _ = stack.one("AWS::SQS::Queue")
    grants = granted_actions(stack, "Deliver")
    assert set(grants) == DELIVERY_TABLE_ACTIONS | STREAM_READ_ACTIONS | {
        "sqs:SendMessage", "execute-api:ManageConnections", "logs:CreateLogStream", "logs:PutLogEvents"}
    for action in DELIVERY_TABLE_ACTIONS:  # items of the table only: no index, no stream, no other table
        assert grants[action] == [{"Fn::GetAtt": [table, "Arn"]}], action
    for action in STREAM_READ_ACTIONS:
        assert grants[action] == [{"Fn::GetAtt": [table, "StreamArn"]}], action
    assert grants["sqs:SendMessage"] == [{"Fn::GetAtt": [queue, "Arn"]}]
    [connections] = grants["execute-api:ManageConnections"]
    assert refs(connections) == {"WebsocketAPI"}
    assert literal_text(connections).endswith(":{}/api/POST/@connections/*")  # posts only: never reads or closes


def test_no_other_function_reads_the_stream_or_the_queue(stack: Stack) -> None:
    for logical_id in ("APIHandler", "WebsocketConnect", "WebsocketMessage", "WebsocketDisconnect"):
        grants = granted_actions(stack, logical_id)
        assert not STREAM_READ_ACTIONS & set(grants), logical_id
        assert not any(action.startswith("sqs:") for action in grants), logical_id


def test_the_mapping_survives_the_sam_transform(stack: Stack, expanded: dict[str, Any]) -> None:
    [expanded_mapping] = [resource["Properties"] for resource in expanded["Resources"].values()
                          if resource["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert expanded_mapping == mapping(stack)
    deliver = expanded["Resources"]["Deliver"]
    assert deliver["Type"] == "AWS::Lambda::Function"
    assert deliver["Properties"]["Role"] == stack.resources["Deliver"]["Properties"]["Role"]
