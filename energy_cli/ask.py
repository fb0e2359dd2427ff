"""``energy-monitor ask``: the chat analyst from the terminal."""

from __future__ import annotations

import argparse
import sys

from energy_cli.console import command, household_scope, now_option, pinned_clock


def cmd_ask(args: argparse.Namespace) -> int:
    """Ask the chat analyst; the same engine selection as the Chat page, history included."""
    with pinned_clock(args.now):
        return _ask(args)


def _ask(args: argparse.Namespace) -> int:
    import json

    from energy_core.chat import load_history, record_exchange, stream_answer
    from energy_core.chat.render import plain_stream, sanitized_stream
    from energy_core.db import session_scope

    with household_scope(args.user, read_only=True) as (session, user):
        history = [
            {"role": m.role, "content": m.content}
            for m in load_history(session, user_id=user.id, limit=20)
        ]
        stream = stream_answer(session, user_id=user.id, question=args.question, history=history)
        # The answer is Markdown for the Chat page; the terminal gets it as plain text.
        for chunk in plain_stream(sanitized_stream(stream)):
            if not args.json:
                sys.stdout.write(chunk)
                sys.stdout.flush()
        answer = stream.result()
    if not args.no_history:
        with session_scope() as session:
            record_exchange(session, user_id=user.id, question=args.question, answer=answer)
    if args.json:
        print(json.dumps({**answer.to_dict(), "figures": answer.figures()}, indent=2, default=str))
    else:
        print()
        if answer.suggestions and not answer.understood:
            # The questions the Chat page offers as buttons with this answer.
            print()
            print("\n".join(f"- {question}" for question in answer.suggestions))
        print(f"({answer.engine} engine, {len(answer.tool_calls)} tool calls)", file=sys.stderr)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    ask = command(sub, "ask", cmd_ask, help="ask the chat analyst a question about a user's data")
    ask.add_argument("--user", required=True, help="whose data (email)")
    ask.add_argument("question", help='e.g. "How much did the fridge use last week?"')
    ask.add_argument(
        "--json", action="store_true", help="print the answer, tool calls and results as JSON"
    )
    now_option(ask, doing="answer as if it were")
    ask.add_argument(
        "--no-history", action="store_true", help="do not store the exchange in the chat history"
    )
