"""Figures of a run (throughput, send→delivery latency, errors, findings), printed and written to reports/."""
from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from infra.load.chart import latency_histogram
from infra.load.model import World
from infra.load.verify import CHAT, Findings, frame_conversation

REPORTS_DIR = Path(__file__).resolve().parents[2] / "reports"


def latencies_ms(world: World) -> list[float]:
    """Send start → first arrival of the frame at each recipient other than the sender (live or replayed)."""
    first: dict[tuple[int, str, int], float] = {}
    for received in world.received:
        frame = received.frame
        if frame.get("msg_code") == CHAT and "id" in frame:
            key = (received.user_id, frame_conversation(frame), int(frame["id"]))
            first[key] = min(first.get(key, received.at), received.at)
    values = []
    for sent in world.sent:
        if sent.seq is None:
            continue
        for recipient in sent.recipients - {sent.sender}:
            arrived = first.get((recipient, sent.conversation, sent.seq))
            if arrived is not None:
                values.append((arrived - sent.started) * 1000)
    return sorted(values)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(share * len(values)))]


def build(world: World, findings: Findings, api_kinds: Counter[str], settings: dict[str, Any],
          stack_notes: dict[str, Any]) -> dict[str, Any]:
    values = latencies_ms(world)
    traffic_seconds = world.phases.get("traffic", 0.0) or 1e-9
    accepted = sum(1 for sent in world.sent if sent.answer.ok)
    errors = Counter({kind: count for kind, count in api_kinds.items() if not kind.endswith(" ok")})
    five_xx = sum(count for kind, count in api_kinds.items() if "http_5xx" in kind)
    busy = sum(count for kind, count in api_kinds.items() if kind.endswith(" busy_503"))
    return {
        "settings": settings,
        "phases_seconds": {name: round(seconds, 2) for name, seconds in world.phases.items()},
        "messages": {"attempted": len(world.sent), "accepted": accepted,
                     "private": sum(1 for s in world.sent if s.channel == 1),
                     "group": sum(1 for s in world.sent if s.channel == 2),
                     "recalls": len(world.recalls), "recalls_accepted": sum(1 for r in world.recalls if r.answer.ok)},
        "throughput_msgs_per_s": round(accepted / traffic_seconds, 1),
        "frames_received": len(world.received),
        "latency_ms": {"count": len(values), "p50": round(percentile(values, 0.50), 1),
                       "p95": round(percentile(values, 0.95), 1), "p99": round(percentile(values, 0.99), 1),
                       "max": round(values[-1], 1) if values else 0.0},
        "errors_by_kind": dict(sorted(errors.items())),
        "http_5xx": five_xx,  # 503 "busy" (throttling beyond the app's retries) is a clear answer, counted apart
        "http_503_busy_final": busy,
        "socket_drops": world.drops,
        "users_with_pending_left": world.pending_left,
        "socket_connect_retries": sum(user.socket.connect_failures for user in world.users.values()),
        "socket_unexpected_closes": sum(len(user.socket.closed_unexpectedly) for user in world.users.values()),
        "findings": findings.as_dict(),
        "stack": stack_notes,
        "_latencies": values,
    }


def failures(report: dict[str, Any]) -> list[str]:
    found = report["findings"]
    reasons = [f"{name}={found[name]}" for name in
               ("lost", "duplicated", "out_of_order", "recall_lost", "recall_duplicated", "sequence_gaps",
                "stored_duplicates", "accepted_not_stored", "stored_despite_error", "recalls_not_stored")
               if found[name]]
    if report["http_5xx"]:
        reasons.append(f"http_5xx={report['http_5xx']}")
    if report["stack"].get("dead_letters"):
        reasons.append(f"stream records the delivery gave up on={report['stack']['dead_letters']}")
    if not report["stack"].get("delivery_line_printed"):
        reasons.append("the stack printed no delivery line (kills unknown)")
    if report["stack"].get("invariant_violation_count"):
        reasons.append(f"invariant violations={report['stack']['invariant_violation_count']}")
    if report["stack"].get("refused_requests"):
        reasons.append(f"requests real DynamoDB refuses={report['stack']['refused_requests']}")
    if report["stack"].get("exit_code") != 0:
        reasons.append(f"stack exit code {report['stack'].get('exit_code')}")
    return reasons


def write(report: dict[str, Any], directory: Path = REPORTS_DIR) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    values = report.pop("_latencies")
    json_path, png_path = directory / f"load-{stamp}.json", directory / f"load-{stamp}-latency.png"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    latency = report["latency_ms"]
    title = (f"{latency['count']} deliveries of {report['messages']['accepted']} messages, "
             f"{report['settings']['users']} users, throttle rate {report['settings']['throttle_rate']}")
    latency_histogram(values, {mark: latency[mark] for mark in ("p50", "p95", "p99")}, png_path, title)
    return json_path, png_path


def summary(report: dict[str, Any]) -> str:
    latency, found, messages = report["latency_ms"], report["findings"], report["messages"]
    lines = [
        f"messages: {messages['accepted']}/{messages['attempted']} accepted ({messages['private']} private, "
        f"{messages['group']} group), recalls {messages['recalls_accepted']}/{messages['recalls']}",
        f"throughput: {report['throughput_msgs_per_s']} msgs/s over {report['phases_seconds'].get('traffic')} s",
        f"send→delivery latency ms: p50 {latency['p50']}  p95 {latency['p95']}  p99 {latency['p99']}  "
        f"max {latency['max']}  (n={latency['count']})",
        f"frames received: {report['frames_received']}, socket drops: {report['socket_drops']}, "
        f"connect retries: {report['socket_connect_retries']}, users with kept events left: "
        f"{report['users_with_pending_left']}",
        f"errors by kind: {report['errors_by_kind'] or 'none'}  (5xx other than 503: {report['http_5xx']}, "
        f"503 busy as final answer: {report['http_503_busy_final']})",
        f"lost: {found['lost']}  duplicated: {found['duplicated']}  out of order: {found['out_of_order']}  "
        f"redelivered: {found['redelivered']}  recall lost/dup/redelivered: {found['recall_lost']}/"
        f"{found['recall_duplicated']}/{found['recall_redelivered']}",
        f"delivery: {report['stack']['delivery_batches']} batches, handler killed {report['stack']['delivery_kills']}"
        f" times, dead letters {report['stack']['dead_letters']}",
        f"per-account quotas raised × {report['stack']['quota_scale']} (QUOTA_SCALE): the users send faster than "
        f"people",
        f"store: {found['stored_messages']} messages in {found['conversations']} conversations, gaps "
        f"{found['sequence_gaps']}, duplicates {found['stored_duplicates']}, accepted-not-stored "
        f"{found['accepted_not_stored']}, stored-despite-error {found['stored_despite_error']}, "
        f"orphans {found['orphans']}, unknown outcome {found['unknown_outcome']}",
        f"stack: {report['stack']}",
    ]
    return "\n".join(lines)
