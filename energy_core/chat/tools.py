"""The chat tools: the only way either engine reaches data (DESIGN.md section 7).

Each tool is a read-only function over the signed-in user's data with a typed argument model
(``toolargs``); the model's JSON schema is what an LLM sees. The user id lives in the
``ToolContext`` the server builds, never in the arguments, and every device or room named in a
call is resolved among that user's devices only. Each call returns plain data plus its evidence:
the tool, the devices, the range with its timezone, and the coverage of the data behind the
numbers. The tools themselves live in ``tools_energy``, ``tools_power`` and ``tools_insight``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from energy_core.chat.toolargs import (
    BaseloadArgs,
    CompareArgs,
    CostArgs,
    CoverageArgs,
    EnergyArgs,
    ExplainArgs,
    ListDevicesArgs,
    PowerArgs,
    ProfileArgs,
    ProjectArgs,
    StatusArgs,
    SummaryArgs,
    TopDevicesArgs,
    _Args,
)
from energy_core.chat.toolbase import (
    ToolCall,
    ToolContext,
    ToolError,
    resolve_period,
    resolve_targets,
)
from energy_core.chat.tools_energy import (
    tool_compare_periods,
    tool_cost,
    tool_energy_usage,
    tool_list_devices,
    tool_top_devices,
)
from energy_core.chat.tools_insight import (
    tool_explain_period,
    tool_project_month,
    tool_weekly_summary,
)
from energy_core.chat.tools_money import (
    BillArgs,
    CompareTariffsArgs,
    TariffDayArgs,
    tool_bill,
    tool_compare_tariffs,
    tool_tariff_day,
)
from energy_core.chat.tools_power import (
    tool_baseload,
    tool_data_coverage,
    tool_device_status,
    tool_hourly_profile,
    tool_power_stats,
)
from energy_core.chat.tools_question import QuestionArgs, tool_answer_question
from energy_core.chat.tools_runs import RunsArgs, tool_power_runs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args_model: type[_Args]
    run: Callable[[ToolContext, Any], tuple[dict, dict]]

    def openai_schema(self) -> dict[str, Any]:
        schema = self.args_model.model_json_schema()
        schema.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": schema},
        }


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool(
            "list_devices",
            "The user's devices with their ids, types and rooms, and which generate power.",
            ListDevicesArgs,
            tool_list_devices,
        ),
        Tool(
            "energy_usage",
            "Energy used (kWh) over a range by the household, some devices or rooms; optionally "
            "as a series per hour/day/week/month with the highest and lowest period.",
            EnergyArgs,
            tool_energy_usage,
        ),
        Tool(
            "top_devices",
            "Devices ranked by energy used over a range (optionally only at night etc.).",
            TopDevicesArgs,
            tool_top_devices,
        ),
        Tool(
            "compare_periods",
            "Energy of two periods side by side, with the difference and per-day averages.",
            CompareArgs,
            tool_compare_periods,
        ),
        Tool(
            "hourly_profile",
            "Typical power in each hour of the day over a range (optionally weekdays and "
            "weekends apart), the peak hours and the hours a device usually runs.",
            ProfileArgs,
            tool_hourly_profile,
        ),
        Tool(
            "power_stats",
            "Average and peak power (W) of devices, with when each peak was read, and the "
            "household's busiest hour over a range.",
            PowerArgs,
            tool_power_stats,
        ),
        Tool(
            "power_runs",
            "When and how long the power of devices (or the household) was above or below a "
            "level ('hours above 2 kW', 'when did power exceed 5 kW'), and an appliance's runs "
            "(each wash, each charge): how many, what one used and cost on average, the longest, "
            "and the hours they usually start.",
            RunsArgs,
            tool_power_runs,
        ),
        Tool(
            "baseload",
            "The always-on load: a low percentile of hourly household power over recent days, "
            "with what it costs in a year.",
            BaseloadArgs,
            tool_baseload,
        ),
        Tool(
            "cost",
            "Cost of the energy used over a range at the user's price, optionally per period "
            "(e.g. per day, for the most expensive day).",
            CostArgs,
            tool_cost,
        ),
        Tool(
            "device_status",
            "Whether each device is online now, its current power, last reading and energy today.",
            StatusArgs,
            tool_device_status,
        ),
        Tool(
            "data_coverage",
            "How complete the data is over a range, per device (share of time with readings).",
            CoverageArgs,
            tool_data_coverage,
        ),
        Tool(
            "explain_period",
            "Why a period (default yesterday) used more or less than usual: each device's and "
            "each hour's energy against its typical day over the days before.",
            ExplainArgs,
            tool_explain_period,
        ),
        Tool(
            "answer_question",
            "The whole question at once, in the question model the offline analyst uses (kind, "
            "metrics, devices/rooms, periods, comparison, grouping): returns its answer and "
            "every figure behind it. Names must be the user's own devices or rooms.",
            QuestionArgs,
            tool_answer_question,
        ),
        Tool(
            "project_month",
            "This month's bill projected: the month so far as measured plus the rest at the "
            "typical hours of recent weeks (a projection, with its assumptions).",
            ProjectArgs,
            tool_project_month,
        ),
        Tool(
            "weekly_summary",
            "A week at a glance (default the last whole week): consumption, generation, grid "
            "import and export and cost against the week before and a year earlier, the devices "
            "that changed most, the always-on load and the alerts opened.",
            SummaryArgs,
            tool_weekly_summary,
        ),
        Tool(
            "bill",
            "The bill of the current billing period so far (energy cost + standing charge + "
            "tax), projected to the period's end (with the method), the last period's bill, and "
            "the monthly budget with its progress and verdict.",
            BillArgs,
            tool_bill,
        ),
        Tool(
            "compare_tariffs",
            "What if: the last months (default 3) billed under the user's own tariff and under "
            "one of their saved alternative tariffs, with the saving. Refused, with how to add "
            "one, when the user has saved no alternative.",
            CompareTariffsArgs,
            tool_compare_tariffs,
        ),
        Tool(
            "tariff_day",
            "The tariff's prices of each hour of today (or tomorrow), the standing charge, tax "
            "and the cheapest hours to run an appliance.",
            TariffDayArgs,
            tool_tariff_day,
        ),
    )
}


def tool_schemas() -> list[dict[str, Any]]:
    return [tool.openai_schema() for tool in TOOLS.values()]


def _validation_message(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "arguments"
        problems.append(f"{where}: {error['msg']}")
    return "Invalid arguments: " + "; ".join(problems)


def run_tool(ctx: ToolContext, name: str, arguments: str | dict[str, Any] | None) -> ToolCall:
    """Validate and run one call. Refusals (unknown tool, bad JSON, invalid arguments, devices
    that are not the user's) come back as a ToolCall with ``error`` set and no data."""
    if isinstance(arguments, str):
        try:
            parsed = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            return ToolCall(name, {"raw": arguments[:500]}, error=f"Arguments are not JSON: {exc}")
    else:
        parsed = arguments or {}
    if not isinstance(parsed, dict):
        return ToolCall(name, {"raw": str(parsed)[:500]}, error="Arguments must be a JSON object.")
    tool = TOOLS.get(name)
    if tool is None:
        return ToolCall(
            name[:100],
            parsed,
            error=f"Unknown tool {name[:100]!r}. Available: {', '.join(TOOLS)}.",
        )
    try:
        args = tool.args_model.model_validate(parsed)
    except ValidationError as exc:
        return ToolCall(name, parsed, error=_validation_message(exc))
    try:
        result, evidence = tool.run(ctx, args)
    except ToolError as exc:
        return ToolCall(name, args.model_dump(exclude_defaults=True), error=str(exc))
    except ValueError as exc:
        # read_series refuses ranges it cannot answer in one read (too many periods).
        return ToolCall(name, args.model_dump(exclude_defaults=True), error=str(exc))
    log.debug("tool %s ran for user %s", name, ctx.user_id)
    return ToolCall(name, args.model_dump(exclude_defaults=True), result, evidence)


__all__ = [
    "TOOLS",
    "Tool",
    "ToolCall",
    "ToolContext",
    "ToolError",
    "resolve_period",
    "resolve_targets",
    "run_tool",
    "tool_schemas",
]
