"""Which kind of work a shell command line was: test, build, install, vcs or other.

Only the program and its subcommand decide, so arguments (where secrets live) are never
looked at beyond finding the subcommand, and the line itself is dropped by the caller.
Wrappers (``sudo``, ``env``, ``time``, ``VAR=x``, ``nice``, ``uv run``, ``npx``...) are seen
through, and in a chain (``&&``, ``||``, ``;``, ``|``, subshells) the most telling part wins.
"""

from __future__ import annotations

import os.path
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from agent.contract import COMMAND_CATEGORIES

# "program" or "program subcommand" -> category; the longer key wins.
DEFAULT_RULES: Final[Mapping[str, str]] = {
    **dict.fromkeys(("pytest", "py.test", "tox", "nox", "jest", "vitest", "unittest", "ctest"), "test"),
    **dict.fromkeys(("npm", "yarn", "pnpm"), "other"),
    **{f"{js} {sub}": "test" for js in ("npm", "yarn", "pnpm") for sub in ("test", "t")},
    **{f"{js} build": "build" for js in ("npm", "yarn", "pnpm")},
    **{f"{js} {sub}": "install" for js in ("npm", "yarn", "pnpm") for sub in ("install", "i", "ci", "add")},
    "yarn": "install",  # a bare `yarn` installs
    "go test": "test",
    "go build": "build",
    "go install": "build",
    "go get": "install",
    "go mod": "install",
    "cargo test": "test",
    "cargo nextest": "test",
    "cargo build": "build",
    "cargo check": "build",
    "cargo install": "install",
    "cargo fetch": "install",
    "make": "build",
    "make test": "test",
    "make check": "test",
    "gradle": "build",
    "gradlew": "build",
    "gradle test": "test",
    "gradlew test": "test",
    "mvn": "build",
    "mvnw": "build",
    "mvn test": "test",
    "mvnw test": "test",
    "bazel build": "build",
    "bazel test": "test",
    "bazelisk build": "build",
    "bazelisk test": "test",
    "docker build": "build",
    "docker buildx": "build",
    "pip install": "install",
    "pip download": "install",
    "uv": "install",
    "uv build": "build",
    "poetry install": "install",
    "poetry add": "install",
    "poetry update": "install",
    "poetry lock": "install",
    "poetry build": "build",
    **dict.fromkeys(("git", "gh", "hg", "svn", "jj"), "vcs"),
}
# The first category wins in a chain: `npm ci && npm test` is a test run.
PRIORITY: Final = ("test", "build", "install", "vcs", "other")

# Prefixes that run the rest of the line as a command of its own, with their options that take a value.
_WRAPPERS: Final[Mapping[str, frozenset[str]]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-U", "-r", "-t"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C"}),
    "nice": frozenset({"-n"}),
    **dict.fromkeys(("time", "nohup", "command", "exec", "builtin"), frozenset[str]()),
}
_RUNNERS: Final = frozenset({"uv run", "poetry run", "pipenv run", "pnpm exec", "npm exec", "yarn exec"})
_SCRIPT_RUNNERS: Final = frozenset({"npm run", "npm run-script", "pnpm run", "yarn run"})
_DIRECT_RUNNERS: Final = frozenset({"npx", "pnpx", "uvx"})
_KEYWORDS: Final = frozenset(
    {"if", "then", "else", "elif", "while", "until", "do", "!", "{", "}", "and", "or", "not", "begin"}
)
_SEPARATORS: Final = frozenset({"&&", "||", ";", "|", "&", "(", ")", ";;", "|&", "\n"})
_ASSIGNMENT: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PYTHON: Final = re.compile(r"^python[0-9.]*$")
_OPTIONS_WITH_VALUE: Final = {"make": frozenset({"-C", "-f", "-j", "-l", "-o", "-W"})}


class RulesError(ValueError):
    """A configured rule names no known category."""


@dataclass(frozen=True, slots=True)
class Classified:
    category: str
    tool: str  # the program the rule matched, e.g. "pytest", "npm"; "" when nothing matched


def rules_with(overrides: Mapping[str, str]) -> dict[str, str]:
    """The default rules with the configured ones on top, checked."""
    for key, category in overrides.items():
        if category not in COMMAND_CATEGORIES:
            raise RulesError(f"{key!r} = {category!r}: the category must be one of {', '.join(PRIORITY)}")
        if not key.split():
            raise RulesError(f"{key!r}: a rule names a program, optionally followed by a subcommand")
    return {**DEFAULT_RULES, **{" ".join(k.split()): v for k, v in overrides.items()}}


def classify(line: str, rules: Mapping[str, str] = DEFAULT_RULES) -> Classified:
    """The category and tool of a whole command line."""
    found = [_simple(words, rules) for words in _simple_commands(line)]
    return min(found, key=lambda c: PRIORITY.index(c.category), default=Classified("other", ""))


def _simple_commands(line: str) -> list[list[str]]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote: the words are still telling
        tokens = line.split()
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token in _SEPARATORS:
            commands.append([])
        else:
            commands[-1].append(token)
    return [words for words in commands if words]


def _simple(words: list[str], rules: Mapping[str, str]) -> Classified:
    words = _unwrapped(words)
    if not words:
        return Classified("other", "")
    program = _program(words[0])
    args = words[1:]
    if program == "python" and len(args) >= 2 and args[0] == "-m":
        program, args = args[1], args[2:]
    sub = _subcommand(program, args)
    pair = f"{program} {sub}"
    if pair in _RUNNERS or program in _DIRECT_RUNNERS:
        rest = args[args.index(sub) + 1 :] if pair in _RUNNERS else args
        return _simple(rest, rules) if rest else Classified("other", program)
    if pair in _SCRIPT_RUNNERS:
        script = _subcommand(program, args[args.index(sub) + 1 :])
        pair = f"{program} {script}"
    if pair in rules:
        return Classified(rules[pair], program)
    if program in rules:
        return Classified(rules[program], program)
    return Classified("other", "")


def _unwrapped(words: list[str]) -> list[str]:
    """Drops keywords, assignments and wrappers (with their options) in front of the program."""
    index = 0
    while index < len(words):
        word = words[index]
        if word in _KEYWORDS or _ASSIGNMENT.match(word):
            index += 1
        elif _program(word) in _WRAPPERS:
            takes_value = _WRAPPERS[_program(word)]
            index += 1
            while index < len(words) and words[index].startswith("-"):
                index += 2 if words[index] in takes_value else 1
        else:
            break
    return words[index:]


def _program(word: str) -> str:
    name = os.path.basename(word)
    return "python" if _PYTHON.match(name) else name


def _subcommand(program: str, args: list[str]) -> str:
    """The first argument that is not an option, an option's value, or an assignment."""
    takes_value = _OPTIONS_WITH_VALUE.get(program, frozenset())
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in takes_value:
            skip = True
        elif not arg.startswith("-") and "=" not in arg:
            return arg
    return ""
