"""``energy-monitor summary``: a household's weekly summary (docs/insights.md) as Markdown or
JSON, the same figures as the Live page's section and its download."""

from __future__ import annotations

import argparse
import json

from energy_cli.console import household_command, household_scope, instant, json_option


def cmd_summary(args: argparse.Namespace) -> int:
    from energy_core.clock import now
    from energy_core.insights import parse_week, weekly_summary
    from energy_core.insights_report import summary_json, summary_markdown
    from energy_core.stats import load_household

    monday = parse_week(args.week) if args.week else None
    with household_scope(args.user, read_only=True) as (session, user):
        household = load_household(session, user_id=user.id)
        summary = weekly_summary(session, household, now=args.now or now(), monday=monday)
    if args.json:
        print(json.dumps(summary_json(summary), indent=2, ensure_ascii=False, default=str))
    else:
        print(summary_markdown(summary), end="")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    parser = household_command(
        sub, "summary", cmd_summary, help="a household's weekly summary (default: last week)"
    )
    parser.add_argument("--week", help="an ISO week, e.g. 2026-W48 (default: the last whole week)")
    json_option(parser)
    parser.add_argument("--now", type=instant, help="pin now (ISO 8601 with offset)")
