"""The report in the terminal, as rich tables. Colour only on a terminal (and never with NO_COLOR):
piped into a file or another program, the output is plain text."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.table import Table

from agent.report.build import Report
from agent.report.tables import Section, sections, sent_table

PLAIN_WIDTH = 120  # rich assumes 80 columns off a terminal, which folds the wider tables


def _print(console: Console, section: Section) -> None:
    if not section.rows:
        if section.empty:
            console.print(f"{section.title}: {section.empty}")
        return
    table = Table(title=section.title, title_justify="left", title_style="bold")
    for index, header in enumerate(section.headers):
        table.add_column(header, justify="left" if index == 0 else "right")
    for row in section.rows:
        table.add_row(*row)
    console.print(table)


def render(report: Report, out: TextIO) -> None:
    tty = out.isatty()
    # No markup: a repository or tool name with brackets must print as it is.
    console = Console(
        file=out, width=None if tty else PLAIN_WIDTH, highlight=False, soft_wrap=not tty, markup=False
    )
    f = report.figures
    console.print(
        f"devtel report {report.start} to {report.end} ({len(f.days)} day(s)), "
        "from this machine's local data",
        style="bold",
    )
    console.print(report.totals)
    if f.empty:
        console.print("No data for this period: the agent has collected nothing for these dates yet.")
    console.print("\nTop chokepoints", style="bold")
    for line in report.chokepoints or ["none: no test or build runs in this period"]:
        console.print(f"  - {line}")
    for section in sections(report):
        _print(console, section)
    console.print("\nWhat leaves this machine", style="bold")
    console.print(report.disclosure.leaves)
    _print(console, sent_table(report))
