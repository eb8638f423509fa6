"""`python -m infra.load [--users N] [--messages M] [--duration S] …` — see infra/load/README.md."""
from __future__ import annotations

import argparse
import sys

from infra.load import report as reporting
from infra.load.run import LoadSettings, run


def parse(argv: list[str]) -> LoadSettings:
    defaults = LoadSettings()
    parser = argparse.ArgumentParser(prog="python -m infra.load", description=__doc__)
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--messages", type=int, default=defaults.messages)
    parser.add_argument("--duration", type=float, default=defaults.duration, help="cap on the traffic phase (s)")
    parser.add_argument("--throttle-rate", type=float, default=defaults.throttle_rate,
                        help="share of DynamoDB attempts answered with a throttling error (0 disables)")
    parser.add_argument("--throttle-last-attempt", action="store_true",
                        help="also throttle a call's last attempt, so some calls run out of retries")
    parser.add_argument("--conflict-rate", type=float, default=defaults.conflict_rate,
                        help="share of DynamoDB transactions/conditional writes answered as a transaction conflict")
    parser.add_argument("--delivery-kill-rate", type=float, default=defaults.delivery_kill_rate,
                        help="share of delivery handler invocations killed mid-batch (the batch is retried whole)")
    parser.add_argument("--delivery-lag", type=int, default=defaults.delivery_lag,
                        help="seconds the stream is delivered behind its writes, like a Lambda iterator age")
    parser.add_argument("--post-fail-rate", type=float, default=defaults.post_fail_rate,
                        help="share of @connections posts answered 500 (batches then report failures)")
    parser.add_argument("--drop-every", type=float, default=defaults.drop_every,
                        help="seconds between socket drops during traffic (0 disables)")
    parser.add_argument("--groups", type=int, default=defaults.groups)
    parser.add_argument("--concurrency", type=int, default=defaults.http_concurrency)
    parser.add_argument("--raw-moto", action="store_true", help="run moto unpatched (shows its transaction race)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--profile", action="store_true",
                        help="py-spy flame graphs of local AWS and the stack during the traffic, in reports/")
    args = parser.parse_args(argv)
    return LoadSettings(users=args.users, messages=args.messages, duration=args.duration,
                        throttle_rate=args.throttle_rate, throttle_last_attempt=args.throttle_last_attempt,
                        conflict_rate=args.conflict_rate, delivery_kill_rate=args.delivery_kill_rate,
                        delivery_lag=args.delivery_lag, post_fail_rate=args.post_fail_rate,
                        drop_every=args.drop_every, groups=args.groups, http_concurrency=args.concurrency,
                        seed=args.seed, raw_moto=args.raw_moto, profile=args.profile)


def main(argv: list[str] | None = None) -> int:
    report, failed = run(parse(sys.argv[1:] if argv is None else argv))
    json_path, png_path = reporting.write(report)
    print(reporting.summary(report))
    print(f"report: {json_path}\nhistogram: {png_path}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("OK: nothing lost, nothing duplicated, nothing out of order, no 5xx, table invariants hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
