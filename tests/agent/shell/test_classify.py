"""Which category and tool a command line gets, and how configuration changes that."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from agent.collectors.clock import LocalDay, local_zone
from agent.config import load_settings
from agent.errors import ConfigError
from agent.shell.classify import DEFAULT_RULES, Classified, RulesError, classify, rules_with
from agent.source import shell_commands

CASES = [
    ("pytest -x tests", "test", "pytest"),
    ("py.test", "test", "py.test"),
    ("python -m pytest", "test", "pytest"),
    ("python3.12 -m unittest discover", "test", "unittest"),
    ("/usr/bin/python3 -m pytest -k slow", "test", "pytest"),
    ("tox -e py311", "test", "tox"),
    ("nox -s lint", "test", "nox"),
    ("npm test", "test", "npm"),
    ("npm run test -- --watch=false", "test", "npm"),
    ("yarn build", "build", "yarn"),
    ("pnpm install", "install", "pnpm"),
    ("npm ci", "install", "npm"),
    ("npm start", "other", "npm"),
    ("jest --ci", "test", "jest"),
    ("npx vitest run", "test", "vitest"),
    ("go test ./...", "test", "go"),
    ("go build -o bin/app .", "build", "go"),
    ("cargo test --release", "test", "cargo"),
    ("cargo build", "build", "cargo"),
    ("cargo check", "build", "cargo"),
    ("make", "build", "make"),
    ("make -j8 test", "test", "make"),
    ("make -C sub check", "test", "make"),
    ("make CC=clang all", "build", "make"),
    ("./gradlew test", "test", "gradlew"),
    ("gradle assemble", "build", "gradle"),
    ("mvn -q package", "build", "mvn"),
    ("mvn test", "test", "mvn"),
    ("bazel test //...", "test", "bazel"),
    ("bazel build //app", "build", "bazel"),
    ("docker build -t app .", "build", "docker"),
    ("pip install -r requirements.txt", "install", "pip"),
    ("python -m pip install requests", "install", "pip"),
    ("uv sync", "install", "uv"),
    ("uv run pytest", "test", "pytest"),
    ("poetry install", "install", "poetry"),
    ("poetry run pytest", "test", "pytest"),
    ("git commit -m 'wip'", "vcs", "git"),
    ("ls -la", "other", ""),
    ("", "other", ""),
]


@pytest.mark.parametrize(("line", "category", "tool"), CASES)
def test_program_and_subcommand_decide(line, category, tool):
    assert classify(line) == Classified(category, tool)


@pytest.mark.parametrize(
    "line",
    [
        "sudo pytest",
        "sudo -u builder -E pytest",
        "env CI=1 pytest",
        "env -i PATH=/bin pytest",
        "CI=1 DEBUG=0 pytest",
        "time pytest",
        "time -p pytest",
        "nice -n 10 pytest",
        "sudo env A=1 time pytest",
        "command pytest",
    ],
)
def test_wrappers_are_seen_through(line):
    assert classify(line) == Classified("test", "pytest")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("cd api && make test", Classified("test", "make")),
        ("npm ci && npm test", Classified("test", "npm")),
        ("git pull; cargo build", Classified("build", "cargo")),
        ("git pull || true", Classified("vcs", "git")),
        ("pytest | tee log", Classified("test", "pytest")),
        ("(cd sub && go test ./...)", Classified("test", "go")),
        ("for i in 1 2 3; do pytest; done", Classified("test", "pytest")),
        ("pip install x && sudo make install", Classified("build", "make")),
        ("echo 'unbalanced && pytest", Classified("test", "pytest")),
    ],
)
def test_chains_take_the_most_telling_part(line, expected):
    assert classify(line) == expected


def test_secrets_in_arguments_change_nothing():
    for line in ("export TOKEN=abc123", "mysql --password hunter2", "curl https://u:pw@example.com/x"):
        assert classify(line) == Classified("other", "")


def test_configured_rules_add_and_override():
    rules = rules_with({"just test": "test", "make": "other", "bin/rails  test": "test"})
    assert classify("just test", rules) == Classified("test", "just")
    assert classify("make", rules) == Classified("other", "make")
    assert classify("make test", rules) == Classified("test", "make")
    assert classify("bin/rails test", rules) == Classified("other", "")  # a program is its base name
    assert DEFAULT_RULES["make"] == "build"


def test_a_rule_with_an_unknown_category_is_refused():
    with pytest.raises(RulesError, match="'just test' = 'testing'"):
        rules_with({"just test": "testing"})


def test_a_bad_rule_in_the_config_names_the_file_and_key(env, write_config):
    write_config('[collectors]\nroots = []\n[shell.rules]\n"just test" = "testing"\n')
    settings = load_settings(os.environ)
    day = LocalDay.of(dt.date.today(), local_zone())
    with pytest.raises(ConfigError, match=r"agent.toml: key 'shell.rules': 'just test' = 'testing'"):
        shell_commands(settings, day)


def _table() -> list[tuple[str, str, str]]:
    """testdata/classification.tsv: command line, category, tool (comments start with #)."""
    text = (Path(__file__).parent / "testdata" / "classification.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    assert all(len(row) == 3 for row in rows), [row for row in rows if len(row) != 3]
    return [(line, category, tool) for line, category, tool in rows]


@pytest.mark.parametrize(("line", "category", "tool"), _table())
def test_the_classification_table(line, category, tool):
    assert classify(line) == Classified(category, tool)


def test_configured_rules_can_name_runners():
    rules = rules_with({"mise exec": "runner", "nx": "runner"})
    assert classify("mise exec -- pytest -x", rules) == Classified("test", "pytest")
    assert classify("nx jest", rules) == Classified("test", "jest")
    assert classify("mise exec -- pytest") == Classified("other", "")  # not a runner by default
    with pytest.raises(RulesError, match="one of test, build, install, vcs, other, runner"):
        rules_with({"mise exec": "runners"})
