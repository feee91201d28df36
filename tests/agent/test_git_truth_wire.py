"""What leaves the machine about git, checked end to end against ``git log``: two laptops laid
out differently merge into the true day at the real receiver, pseudonymous names never leave in
clear (grepped in the bytes on the wire), and `status` names a repository whose commits match
none of the developer's addresses."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from agent import contract as C
from agent.cli import main
from tests.agent.collectors.gitrepo import OTHER, commit, git, init
from tests.agent.collectors.truth import day_truth, git_says
from tests.agent.conftest import EMAIL, otlp_sink
from tests.agent.receiver import resource_attrs
from tests.agent.test_with_receiver import _row, real_receiver  # noqa: F401  (a module fixture)

DAY = dt.date.today() - dt.timedelta(days=2)


def at(hour: int) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(hour), dt.UTC)


def machine(monkeypatch: pytest.MonkeyPatch, base: Path, config: str) -> None:
    """Switch this process to another install: its own DEVTEL_HOME and agent.toml."""
    base.mkdir(parents=True, exist_ok=True)
    (base / "agent.toml").write_text(config)
    monkeypatch.setenv("DEVTEL_HOME", str(base / "home"))
    monkeypatch.setenv("DEVTEL_CONFIG", str(base / "agent.toml"))


def collectors(root: Path) -> str:
    return f'[collectors]\nroots = ["{root}"]\n[shell]\nenabled = false\n[relay]\nenabled = false\n'


def test_two_laptops_laid_out_differently_merge_into_the_true_day(
    real_receiver,  # noqa: F811  (the imported module fixture)
    env,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver, _, key, db_path = real_receiver
    monkeypatch.setenv("TZ", "UTC")
    sink = otlp_sink(receiver.url, "r") + f'[sinks.r.headers]\nAuthorization = "Bearer {key}"\n'
    laptop, desktop = tmp_path / "laptop", tmp_path / "desktop"
    # Laptop: ~/proj (ssh origin). Desktop: ~/src/proj (https origin) and an unrelated ~/old/proj.
    proj = init(laptop / "code" / "proj")
    git(proj, "remote", "add", "origin", "git@github.com:Acme/proj.git")
    commit(proj, at(9), {"a.py": "a\n" * 3}, email=EMAIL)
    commit(proj, at(10), {"b.py": "b\n" * 5}, email=EMAIL)
    clone = desktop / "code" / "src" / "proj"
    clone.parent.mkdir(parents=True)
    git(clone.parent, "clone", "-q", str(proj), "proj")
    git(clone, "remote", "set-url", "origin", "https://github.com/acme/proj")
    commit(proj, at(11), {"c.py": "c\n" * 7, "c2.py": "x\n"}, email=EMAIL)  # only on the laptop
    commit(clone, at(14), {"d.py": "d\n" * 11}, email=EMAIL)  # only on the desktop
    old = init(desktop / "code" / "old" / "proj")
    git(old, "remote", "add", "origin", "git@github.com:bob/proj.git")
    commit(old, at(15), {"e.py": "e\n" * 13}, email=EMAIL)

    for base in (laptop, desktop):
        machine(monkeypatch, base, collectors(base / "code") + sink)
        assert main(["consent", "detailed"]) == 0
        assert main(["collect", "--date", DAY.isoformat()]) == 0

    # The truth: each clone's day from git log; shared commits once, figures per distinct commit.
    shared = {**day_truth(proj, DAY, {EMAIL}).per_commit, **day_truth(clone, DAY, {EMAIL}).per_commit}
    other = day_truth(old, DAY, {EMAIL})
    row = _row(db_path, DAY)
    assert row is not None, receiver.log()[-2000:]
    activity = json.loads(row["git_activity"])
    by_name = {r["name"]: r for r in activity["repositories"]}
    assert sorted(by_name) == ["bob/proj", "proj"]
    assert (
        (by_name["proj"]["commits"], by_name["proj"]["lines_added"], by_name["proj"]["files_changed"])
        == (
            len(shared),
            sum(c[0] for c in shared.values()),
            sum(c[2] for c in shared.values()),
        )
        == (4, 27, 5)
    )
    assert (by_name["bob/proj"]["commits"], by_name["bob/proj"]["lines_added"]) == (other.commits, 13)
    assert activity["total_commits"] == len(shared) + other.commits == 5
    assert activity["total_lines_added"] == sum(c[0] for c in shared.values()) + other.lines_added


SALT = "org-salt-for-tests"


def keyed(kind: str, name: str) -> str:
    return "h:" + hmac.new(SALT.encode(), f"{kind}:{name}".encode(), hashlib.sha256).hexdigest()[:16]


def test_pseudonymous_names_never_leave_in_clear(env, receiver, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    root = tmp_path / "home-dir"
    notes = init(root / "alice-smith-notes", branch="main")
    commit(notes, at(9), {"n.md": "n\n"}, email=EMAIL)
    git(notes, "checkout", "-q", "-b", "alice.smith/fix-login")
    commit(notes, at(10), {"m.md": "m\n"}, email=EMAIL)
    public = init(root / "devtel")
    commit(public, at(11), {"p.py": "p\n"}, email=EMAIL)
    legacy = f"{receiver.url}/api/rest/plugins/developer_telemetry/connections/1/report"
    Path(env["DEVTEL_POLICY"]).write_text(
        f'[identity]\nmode = "pseudonymous"\nsalt = "{SALT}"\nallow_names = ["main", "devtel"]\n'
    )
    Path(env["DEVTEL_CONFIG"]).write_text(
        collectors(root)
        + otlp_sink(receiver.url)
        + f'[sinks.old]\ntype = "devlake"\nurl = "{legacy}"\napi_key = "k"\n'
    )
    assert main(["consent", "detailed"]) == 0
    assert main(["collect", "--date", DAY.isoformat()]) == 0

    wire = b"".join(r.raw + r.body for r in receiver.requests)
    legacy_path = "/api/rest/plugins/developer_telemetry/connections/1/report"
    assert {r.path for r in receiver.requests} == {"/v1/metrics", "/v1/logs", legacy_path}
    for clear in (b"alice", b"Alice", b"fix-login", b"smith"):
        assert clear not in wire, clear
    for name in (keyed("repository", "alice-smith-notes"), keyed("branch", "alice.smith/fix-login")):
        assert name.encode() in wire
    assert b'"devtel"' in wire and b'"main"' in wire  # allowed names stay readable


def test_status_names_a_repository_whose_commits_match_none_of_the_addresses_once(
    env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "code"
    repo = init(root / "typo")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=30)
    commit(repo, now, {"a": "a\n"}, email=OTHER)
    commit(repo, now, {"b": "b\n"}, email="alice@old-laptop.example")
    Path(env["DEVTEL_CONFIG"]).write_text(collectors(root))

    assert main(["status"]) == 0

    warnings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert str(repo) in warnings[0] and OTHER in warnings[0] and "alice@old-laptop.example" in warnings[0]
    assert EMAIL in warnings[0]


def test_named_mode_sends_the_work_email_an_include_if_sets(
    env, receiver, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    root = tmp_path / "code"
    work = tmp_path / "work.gitconfig"
    work.write_text("[user]\n\temail = alice@corp.example\n")
    with Path(env["GIT_CONFIG_GLOBAL"]).open("a") as config:  # the personal global email stays
        config.write(f'[includeIf "gitdir:{root}/work/"]\n\tpath = {work}\n')
    repo = init(root / "work" / "api")
    commit(repo, at(9), {"a.py": "a\n"}, email="alice@corp.example")
    Path(env["DEVTEL_CONFIG"]).write_text(collectors(root) + otlp_sink(receiver.url))
    assert main(["consent", "detailed"]) == 0
    assert main(["collect", "--date", DAY.isoformat()]) == 0

    # The day's requests: its metrics and its summary event.
    day = [r for r in receiver.ok() if C.M_COMMITS.encode() in r.body or C.E_DAY_SUMMARY.encode() in r.body]
    emails = {attrs.get(C.RES_EMAIL) for r in day for attrs in resource_attrs(r.message)}
    assert len(day) == 2
    assert emails == {git_says(repo, "config", "--get", "user.email").strip()} == {"alice@corp.example"}
    assert EMAIL.encode() not in b"".join(r.body for r in day)
