"""`devtel-agent report` over days the real collectors built: real git repositories, a real bash
session with the hook, the real process sampler, AI use recorded through the CLI. Expected
figures come from `git log`, from the hook's own spool lines and from what the test typed,
never from the report's code. The page is opened in headless Chromium and photographed."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from pathlib import Path

import pytest

from agent.cli import main
from agent.shell import spool as spool_module
from agent.shell.sampler import sample_until
from agent.shell.spool import SPOOL_FILE
from tests.agent.collectors import gitrepo
from tests.agent.shell.ptyshell import PtyShell, shell_env, write_rc
from tests.support import chromium

pytestmark = pytest.mark.timeout(180)

TODAY = dt.date.today()
PERIOD = [TODAY - dt.timedelta(days=back) for back in range(4, -1, -1)]  # 5 days, oldest first
AI_ONLY, WORKED, MISSING = PERIOD[1], PERIOD[2], PERIOD[3]


def _local(date: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(date, dt.time(hour, minute)).astimezone()


def _git_totals(repo: Path, since: dt.date) -> tuple[int, int, int]:
    """(commits, lines added, lines deleted) of the developer since ``since``, as git counts them."""
    start = int(_local(since, 0, 0).timestamp())
    out = gitrepo.git(
        repo,
        "log",
        "--branches",
        f"--author={gitrepo.DEV}",
        f"--since=@{start}",
        "--numstat",
        "--format=@@%H",
    )
    commits = out.count("@@")
    added = deleted = 0
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            added, deleted = added + int(parts[0]), deleted + int(parts[1])
    return commits, added, deleted


def _spool_durations(home: Path) -> dict[str, list[tuple[float, int]]]:
    """The hook's own lines, read without the agent: command word -> [(duration, exit code)]."""
    found: dict[str, list[tuple[float, int]]] = {}
    for path in sorted(home.glob(SPOOL_FILE + "*")):
        for line in path.read_text().splitlines():
            fields = line.split("\t", 7)
            word = fields[7].split()[0]
            found.setdefault(word, []).append((float(fields[4]) - float(fields[3]), int(fields[5])))
    return found


@pytest.fixture
def week(env, write_config, tmp_path, monkeypatch) -> dict[str, object]:
    src = tmp_path / "src"
    api, web = gitrepo.init(src / "api"), gitrepo.init(src / "web")
    # Two days ago: three commits in two clock hours; today: one each, and a colleague's in web.
    for hour, minute in ((9, 10), (9, 50), (14, 20)):
        gitrepo.commit(api, _local(WORKED, hour, minute), {f"f{hour}{minute}.py": "x\n" * minute})
    now = dt.datetime.now().astimezone() - dt.timedelta(seconds=90)
    gitrepo.commit(api, now, {"today.py": "a\nb\nc\n"})
    gitrepo.commit(web, now, {"Makefile": "all:\n\tsleep 0.2\nbroken:\n\tfalse\nslow:\n\tsleep 5.6\n"})
    gitrepo.commit(web, now, {"theirs.txt": "y\n"}, email=gitrepo.OTHER)
    write_config(f'[collectors]\nroots = ["{src}"]\nemails = ["{gitrepo.DEV}"]\n')

    home = Path(env["DEVTEL_HOME"])
    assert main(["hook", "bash"]) == 0
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pytest").write_text('#!/bin/sh\nsleep 0.3\nexit "${1:-0}"\n')
    (bin_dir / "pytest").chmod(0o755)
    shell_home = tmp_path / "home"
    shell_home.mkdir()
    variables = shell_env(shell_home, home)
    variables["PATH"] = f"{bin_dir}:{variables['PATH']}"
    stop = threading.Event()
    sampler = threading.Thread(target=sample_until, args=(home, stop, 0.5))
    sampler.start()
    try:
        session = PtyShell(write_rc("bash", shell_home), variables, api)
        for line in (
            "pytest 0",
            "pytest 1",
            "pytest 0",
            "git status --short",
            f"cd {web}",
            "make -s",
            "make -s broken",
            "make -s slow",
        ):
            session.run(line, timeout=60)
        session.close()
        time.sleep(1.2)  # a sampling round sees the slow tree gone
    finally:
        stop.set()
        sampler.join()
    hook_lines = _spool_durations(home)
    monkeypatch.setattr(spool_module, "GRACE_S", 0.0)
    for date in (WORKED, TODAY):
        assert main(["collect", "--date", date.isoformat()]) == 0
    assert main(["consent", "detailed"]) == 0  # AI use is only kept at detailed
    assert (
        main(
            [
                "ai",
                "record",
                "--tool",
                "copilot",
                "--language",
                "python",
                "--shown",
                "10",
                "--accepted",
                "4",
                "--lines",
                "12",
                "--date",
                AI_ONLY.isoformat(),
            ]
        )
        == 0
    )
    return {"home": home, "api": api, "web": web, "hook": hook_lines}


def _report(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert main(["report", "--days", "5", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_report_matches_git_the_hook_and_the_recorded_ai_use_at_any_consent(week, capsys, tmp_path):
    data = _report(capsys)
    days = {d["date"]: d for d in data["days"]}
    assert [d["date"] for d in data["days"]] == [d.isoformat() for d in PERIOD]

    repos = {r["name"]: r for r in data["repositories"]}
    for name in ("api", "web"):
        commits, added, deleted = _git_totals(week[name], PERIOD[0])
        assert (repos[name]["commits"], repos[name]["lines_added"], repos[name]["lines_deleted"]) == (
            commits,
            added,
            deleted,
        ), name
    assert repos["api"]["days"] == 2 and repos["web"]["days"] == 1
    # The colleague's commit is not ours; two days ago had commits in two local clock hours.
    assert days[WORKED.isoformat()]["commits"] == 3 and days[WORKED.isoformat()]["active_hours"] == 2

    hook = week["hook"]
    pytest_runs, make_runs = hook["pytest"], hook["make"]
    assert len(pytest_runs) == 3 and len(make_runs) == 3
    groups = {(g["tool"], g["repository"]): g for g in data["commands"]}
    assert set(groups) == {("pytest", "api"), ("make", "web")}  # git status is neither test nor build
    for key, runs in ((("pytest", "api"), pytest_runs), (("make", "web"), make_runs)):
        ordered = sorted(d for d, _ in runs)
        group = groups[key]
        assert group["runs"] == 3 and group["failed"] == sum(code != 0 for _, code in runs) == 1
        assert group["p50_s"] == pytest.approx(ordered[1], abs=1e-5)  # nearest rank of 3 runs
        assert group["p95_s"] == pytest.approx(ordered[2], abs=1e-5)
        assert group["total_s"] == pytest.approx(sum(ordered), abs=1e-4)
    today = days[TODAY.isoformat()]
    assert (today["test_runs"], today["build_runs"]) == (3, 3)
    assert {r["category"]: (r["runs"], r["failed"]) for r in data["runs"]} == {
        "test": (3, 1),
        "build": (3, 1),
    }

    # The slow make slept: the sampler saw it, and its time was waiting, not computing.
    slow = groups[("make", "web")]
    assert slow["sampled_runs"] == 1 and slow["waiting_s"] > 0.8 * slow["sampled_wall_s"] > 4.0
    assert data["chokepoints"][0].startswith("make in web: 3 runs, ") and data["chokepoints"][0].endswith(
        ", 33 % failed"
    )
    assert data["chokepoints"][1].startswith("pytest in api: 3 runs, ")

    assert data["ai"] == [{"tool": "copilot", "shown": 10, "accepted": 4, "lines": 12, "acceptance": 0.4}]
    ai_day, missing = days[AI_ONLY.isoformat()], days[MISSING.isoformat()]
    assert (ai_day["collected"], ai_day["ai_accepted"], ai_day["commits"]) == (False, 4, 0)
    assert (missing["collected"], missing["commits"], missing["test_runs"]) == (False, 0, 0)
    commits = sum(_git_totals(week[name], PERIOD[0])[0] for name in ("api", "web"))
    for part in (
        "on 2 collected day(s)",
        f", {commits} commit(s), 3 test run(s) (",
        "4 AI suggestion(s) accepted",
    ):
        assert part in data["totals"], part
    assert data["leaves_the_machine"]["level"] == "detailed"
    assert "no sink is configured: nothing leaves" in data["leaves_the_machine"]["leaves"]

    page = tmp_path / "week.html"
    capsys.readouterr()
    assert main(["report", "--days", "5", "--html", str(page)]) == 0
    terminal = capsys.readouterr().out
    assert data["chokepoints"][0] in terminal and f"wrote {page}" in terminal
    assert "\x1b[" not in terminal  # not a terminal: no colour codes
    dom = chromium.dump_dom(page)
    for chart in ("chart-hours", "chart-loop", "chart-slowest", "chart-waiting"):
        assert f'<svg id="{chart}"' in dom, chart
    # The bars' labels, as Chromium parsed them: one per day, two days ago's two clock hours among them.
    hours_chart = dom.split('<svg id="chart-hours"')[1].split("</svg>")[0]
    labels = re.findall(r'<text class="value"[^>]*>([^<]*)</text>', hours_chart)
    assert labels == [f"{d['active_hours']} h" for d in data["days"]] and labels[2] == "2 h"
    for text in (
        *data["chokepoints"],
        "copilot",
        "40 %",
        MISSING.isoformat(),
        "no data",
        "not collected",
        data["totals"],
        f"No collected day for {PERIOD[0].isoformat()}, {AI_ONLY.isoformat()}, {MISSING.isoformat()}",
    ):
        assert text in dom, text
    assert "http://" not in page.read_text().replace("http://www.w3.org/2000/svg", "")  # nothing to fetch
    chromium.screenshot(page, "report/week.png")

    # Consent off: the same figures, and the report says nothing leaves.
    assert main(["consent", "off"]) == 0
    off = _report(capsys)
    assert off["leaves_the_machine"]["leaves"].startswith("Consent is off: nothing leaves this machine.")
    assert (off["repositories"], off["commands"], off["ai"]) == (
        data["repositories"],
        data["commands"],
        data["ai"],
    )
