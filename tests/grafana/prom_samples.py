"""devtel's metrics as Grafana Cloud stores them, written as an OpenMetrics file for promtool to backfill.

The names follow the OTLP→Prometheus rules (prometheus/otlptranslator, as Grafana Cloud applies
them): dots become underscores; the unit's Prometheus name is appended unless the name already has
it as a token (``devtel.activity.active_hours`` with unit ``h`` stays ``devtel_activity_active_hours``);
unit annotations in braces (``{commit}``) add nothing; a histogram in ``s`` gains ``_seconds``; resource
attributes move to ``target_info`` with ``job`` = service.name and ``instance`` = service.instance.id.
"""

from __future__ import annotations

import datetime as dt
import random

END = 1767225600  # 2026-01-01T00:00:00Z, fixed so the blocks and the queries never depend on the clock
DAYS = 4
STEP = 1800  # one export every 30 minutes (the agent exports more often; fewer samples keep this quick)
JOB = "devtel-agent"
BUCKETS = (1, 5, 10, 30, 60, 120, 300, float("inf"))
INSTALLS = (  # install id, user id, repositories
    ("inst-a", "sarah.johnson", ("backend-api", "mobile-app")),
    ("inst-b", "omar.haddad", ("frontend-web",)),
    ("inst-c", "li.wei", ("backend-api", "infra")),
    ("inst-d", "priya.patel", ("mobile-app",)),
    ("inst-e", "diego.garcia", ("frontend-web", "infra")),  # goes silent 3 days before END
)
SILENT_INSTALL = "inst-e"
TOOLS = {"test": "pytest", "build": "make"}
AI_TOOLS = {"copilot": 0.45, "cursor": 0.4}  # acceptance rates; cursor's drops to 0.1 on the last day
LOW_ACCEPTANCE_TOOL = "cursor"

NAMES = {
    "active_hours": "devtel_activity_active_hours",
    "commits": "devtel_git_commits",
    "lines": "devtel_git_lines",
    "commands": "devtel_commands",
    "tool_in_use": "devtel_tool_in_use_ratio",
    "duration": "devtel_command_duration_seconds",
    "target_info": "target_info",
    "ai_shown": "devtel_ai_suggestions_shown",
    "ai_accepted": "devtel_ai_suggestions_accepted",
    "claude_decisions": "claude_code_code_edit_tool_decision_count",  # a counter: samples end in _total
}


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else str(float(bound))


def openmetrics(seed: int = 7) -> str:
    rng = random.Random(seed)
    start = END - DAYS * 86400
    families: dict[str, tuple[str, list[str]]] = {
        "target_info": ("gauge", []),
        NAMES["active_hours"]: ("gauge", []),
        NAMES["commits"]: ("gauge", []),
        NAMES["lines"]: ("gauge", []),
        NAMES["commands"]: ("gauge", []),
        NAMES["tool_in_use"]: ("gauge", []),
        NAMES["duration"]: ("histogram", []),
        NAMES["ai_shown"]: ("gauge", []),
        NAMES["ai_accepted"]: ("gauge", []),
        NAMES["claude_decisions"]: ("counter", []),
    }

    def add(family: str, name: str, labels: str, points: list[tuple[int, float]]) -> None:
        families[family][1].extend(f"{name}{labels} {v} {t}" for t, v in points)

    for install, user, repos in INSTALLS:
        stop = END - 3 * 86400 if install == SILENT_INSTALL else END
        times = list(range(start + STEP, stop + 1, STEP))
        add(
            "target_info",
            "target_info",
            _labels(
                job=JOB,
                instance=install,
                user_id=user,
                service_name=JOB,
                service_version="1.1.0",
                os_type="darwin",
                host_arch="arm64",
            ),
            [(t, 1) for t in times],
        )
        for decision, language, per_step in (
            ("accept", "python", 2),
            ("reject", "python", 1),
            ("accept", "go", 1),
        ):
            add(
                NAMES["claude_decisions"],
                NAMES["claude_decisions"] + "_total",
                _labels(job="claude-code", instance=install, decision=decision, language=language),
                [(t, i * per_step) for i, t in enumerate(times)],
            )
        for day in range(DAYS):
            day_start = start + day * 86400
            date = dt.datetime.fromtimestamp(day_start, dt.UTC).date().isoformat()
            day_times = [t for t in times if day_start < t <= day_start + 86400]
            if not day_times:
                continue
            base = {"job": JOB, "instance": install, "devtel_date": date}
            # Gauges carry the day's running total: they only grow through the day.
            grow = [(t, (i + 1) / len(day_times)) for i, t in enumerate(day_times)]
            hours = rng.randint(4, 9)
            add(
                NAMES["active_hours"],
                NAMES["active_hours"],
                _labels(**base),
                [(t, round(hours * f)) for t, f in grow],
            )
            for tool in ("vscode", "git", "python"):
                add(
                    NAMES["tool_in_use"],
                    NAMES["tool_in_use"],
                    _labels(**base, devtel_tool=tool),
                    [(t, 1) for t in day_times],
                )
            for category in ("test", "build", "vcs"):
                n = rng.randint(5, 30)
                add(
                    NAMES["commands"],
                    NAMES["commands"],
                    _labels(**base, devtel_command_category=category),
                    [(t, round(n * f)) for t, f in grow],
                )
            for tool, rate in AI_TOOLS.items():
                rate = 0.1 if tool == LOW_ACCEPTANCE_TOOL and day == DAYS - 1 else rate
                shown = rng.randint(30, 60)
                ai = _labels(
                    **base,
                    devtel_ai_tool=tool,
                    devtel_ai_language=rng.choice(("python", "go")),
                    devtel_ai_feature="completion",
                )
                add(NAMES["ai_shown"], NAMES["ai_shown"], ai, [(t, round(shown * f)) for t, f in grow])
                add(
                    NAMES["ai_accepted"],
                    NAMES["ai_accepted"],
                    ai,
                    [(t, round(shown * rate * f)) for t, f in grow],
                )
            for repo in repos:
                commits = rng.randint(1, 6)
                add(
                    NAMES["commits"],
                    NAMES["commits"],
                    _labels(**base, vcs_repository_name=repo),
                    [(t, round(commits * f)) for t, f in grow],
                )
                for change, per in (("added", 40), ("removed", 15)):
                    add(
                        NAMES["lines"],
                        NAMES["lines"],
                        _labels(**base, vcs_repository_name=repo, vcs_line_change_type=change),
                        [(t, round(commits * per * f)) for t, f in grow],
                    )
                for category, tool in TOOLS.items():
                    runs = 20
                    # mobile-app's tests start failing in the last 2 days: the jump the alert is for
                    jump = repo == "mobile-app" and category == "test" and day >= DAYS - 2
                    failures = 9 if jump else 2
                    for outcome, count in (("success", runs - failures), ("failure", failures)):
                        labels = {
                            **base,
                            "vcs_repository_name": repo,
                            "devtel_command_category": category,
                            "devtel_tool": tool,
                            "devtel_command_outcome": outcome,
                        }
                        durations = sorted(
                            rng.lognormvariate(3 if category == "test" else 4, 0.8) for _ in range(count)
                        )
                        for bound in BUCKETS:
                            le = sum(d <= bound for d in durations)
                            add(
                                NAMES["duration"],
                                NAMES["duration"] + "_bucket",
                                _labels(**labels, le=_le(bound)),
                                [(t, round(le * f)) for t, f in grow],
                            )
                        add(
                            NAMES["duration"],
                            NAMES["duration"] + "_count",
                            _labels(**labels),
                            [(t, round(count * f)) for t, f in grow],
                        )
                        add(
                            NAMES["duration"],
                            NAMES["duration"] + "_sum",
                            _labels(**labels),
                            [(t, round(sum(durations) * f, 3)) for t, f in grow],
                        )
    out = []
    for family, (kind, lines) in families.items():
        out.append(f"# TYPE {family} {kind}")
        out.extend(lines)
    out.append("# EOF")
    return "\n".join(out) + "\n"
