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

# "program", "program subcommand" or "program subcommand subcommand" -> category; the longer
# key wins. RUNNER instead of a category: the rest of the line is the command (as `uv run`).
RUNNER: Final = "runner"
_JS: Final = ("npm", "yarn", "pnpm", "bun")
DEFAULT_RULES: Final[Mapping[str, str]] = {
    **dict.fromkeys(("pytest", "py.test", "tox", "nox", "jest", "vitest", "unittest", "ctest"), "test"),
    **dict.fromkeys(("rspec", "phpunit", "mocha", "playwright", "cypress"), "test"),
    **dict.fromkeys(_JS, "other"),
    **{f"{js} {sub}": "test" for js in _JS for sub in ("test", "t")},
    **{f"{js} build": "build" for js in _JS},
    **{f"{js} {sub}": "install" for js in _JS for sub in ("install", "i", "ci", "add")},
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
    **{f"make {target}": "other" for target in ("clean", "distclean", "lint", "fmt", "format", "help")},
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
    "docker compose build": "build",
    "docker-compose build": "build",
    "podman build": "build",
    "podman compose build": "build",
    "buildah bud": "build",
    "pip install": "install",
    "pip download": "install",
    "uv": "install",
    "uv build": "build",
    "poetry install": "install",
    "poetry add": "install",
    "poetry update": "install",
    "poetry lock": "install",
    "poetry build": "build",
    "pdm install": "install",
    "pdm add": "install",
    "pdm sync": "install",
    "pdm build": "build",
    "hatch build": "build",
    "hatch test": "test",
    "bundle install": "install",
    "bundle": "install",
    "gem install": "install",
    "rake": "build",
    "rake test": "test",
    "rake spec": "test",
    "dotnet test": "test",
    "dotnet build": "build",
    "dotnet publish": "build",
    "dotnet restore": "install",
    "dotnet add": "install",
    "swift test": "test",
    "swift build": "build",
    "swift package resolve": "install",
    "swift package update": "install",
    "xcodebuild": "build",
    "xcodebuild test": "test",
    "cmake --build": "build",
    "ninja": "build",
    "ninja test": "test",
    "mix test": "test",
    "mix compile": "build",
    "mix deps.get": "install",
    "deno test": "test",
    "deno compile": "build",
    "deno install": "install",
    "deno add": "install",
    "sbt test": "test",
    "sbt compile": "build",
    "sbt package": "build",
    "sbt assembly": "build",
    "meson test": "test",
    "meson compile": "build",
    "meson setup": "build",
    "zig build": "build",
    "zig test": "test",
    "zig build test": "test",
    "python manage.py test": "test",
    "manage.py test": "test",
    **dict.fromkeys(("git", "gh", "hg", "svn", "jj"), "vcs"),
    **dict.fromkeys(("uv run", "poetry run", "pipenv run", "pdm run", "hatch run"), RUNNER),
    **dict.fromkeys(("bundle exec", "pnpm exec", "npm exec"), RUNNER),
    **dict.fromkeys(("yarn exec", "bun x", "npx", "pnpx", "uvx", "bunx"), RUNNER),
}
# The first category wins in a chain: `npm ci && npm test` is a test run.
PRIORITY: Final = ("test", "build", "install", "vcs", "other")

# Prefixes that run the rest of the line as a command of its own, with their options that take
# a value and how many positional arguments they take before the command (`timeout 60 pytest`).
_WRAPPERS: Final[Mapping[str, tuple[frozenset[str], int]]] = {
    "sudo": (frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-U", "-r", "-t"}), 0),
    "doas": (frozenset({"-u", "-C"}), 0),
    "env": (frozenset({"-u", "-C"}), 0),
    "nice": (frozenset({"-n"}), 0),
    "timeout": (frozenset({"-s", "-k", "--signal", "--kill-after"}), 1),
    "watch": (frozenset({"-n", "--interval", "-d", "-q"}), 0),
    **dict.fromkeys(("time", "nohup", "command", "exec", "builtin"), (frozenset[str](), 0)),
}
# Commands that run scripts by name (package.json's scripts, a justfile's recipes, a Taskfile's
# tasks): the script's name decides, up to its first ":" (`test:unit` is a test).
_SCRIPT_RUNNERS: Final = frozenset(
    {"npm run", "npm run-script", "pnpm run", "yarn run", "bun run", "just", "task"}
)
# `yarn <script>` and `pnpm <script>` run a script too when <script> is no command of theirs.
_BARE_SCRIPTS: Final = frozenset({"yarn", "pnpm"})
_BARE: Final[Mapping[str, tuple[str, ...]]] = {"yarn": ("install",)}  # a bare `yarn` installs
_SCRIPT_NAMES: Final[Mapping[str, str]] = {
    **dict.fromkeys(("test", "tests", "spec", "e2e", "check"), "test"),
    **dict.fromkeys(("build", "compile", "dist", "bundle"), "build"),
    **dict.fromkeys(("install", "deps", "setup"), "install"),
}
_SHELLS: Final = frozenset({"bash", "sh", "zsh", "fish", "dash"})
_KEYWORDS: Final = frozenset(
    {"if", "then", "else", "elif", "while", "until", "do", "!", "{", "}", "and", "or", "not", "begin"}
)
_SEPARATORS: Final = frozenset({"&&", "||", ";", "|", "&", "(", ")", ";;", "|&", "\n"})
_ASSIGNMENT: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_VERSIONED: Final = re.compile(r"^(python|pip)[0-9.]*$")
_OPTIONS_WITH_VALUE: Final = {
    "make": frozenset({"-C", "-f", "-j", "-l", "-o", "-W"}),
    "ninja": frozenset({"-C", "-f", "-j", "-k", "-l", "-t", "-d", "-w"}),
    "meson": frozenset({"-C"}),
    "xcodebuild": frozenset({"-scheme", "-project", "-workspace", "-configuration", "-target", "-sdk"}),
}
# Options that work as subcommands: `cmake --build dir`.
_OPTION_SUBCOMMANDS: Final = frozenset({"cmake --build"})


class RulesError(ValueError):
    """A configured rule names no known category."""


@dataclass(frozen=True, slots=True)
class Classified:
    category: str
    tool: str  # the program the rule matched, e.g. "pytest", "npm"; "" when nothing matched


def rules_with(overrides: Mapping[str, str]) -> dict[str, str]:
    """The default rules with the configured ones on top, checked."""
    for key, category in overrides.items():
        if category not in COMMAND_CATEGORIES and category != RUNNER:
            allowed = ", ".join((*PRIORITY, RUNNER))
            raise RulesError(f"{key!r} = {category!r}: the category must be one of {allowed}")
        if not key.split():
            raise RulesError(f"{key!r}: a rule names a program, optionally followed by a subcommand")
    return {**DEFAULT_RULES, **{" ".join(k.split()): v for k, v in overrides.items()}}


def classify(line: str, rules: Mapping[str, str] = DEFAULT_RULES) -> Classified:
    """The category and tool of a whole command line."""
    found = [_simple(words, rules) for words in _simple_commands(line)]
    return _most_telling(found)


def _most_telling(found: list[Classified]) -> Classified:
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
    program, args = _program(words[0]), words[1:]
    if program == "python" and len(args) >= 2 and args[0] == "-m":
        program, args = _program(args[1]), args[2:]
    if program in _SHELLS and len(args) >= 2 and args[0] == "-c":  # bash -c '...': the script decides
        return classify(args[1], rules)
    subs = _subcommands(program, args) or list(_BARE.get(program, ()))
    if subs and f"{program} {subs[0]}" in _SCRIPT_RUNNERS:  # npm run test:unit
        return _script(program, subs[1:], rules)
    if program in _SCRIPT_RUNNERS:  # just test, task build
        return _script(program, subs, rules)
    keys = [" ".join((program, *subs[:n])) for n in range(len(subs), -1, -1)]  # longest first
    matched = next((k for k in keys if k in rules), None)
    if matched is None:
        return Classified("other", "")
    if rules[matched] == RUNNER:  # uv run pytest, npx vitest: the rest decides
        words_matched = matched.count(" ")
        rest = args[args.index(subs[words_matched - 1]) + 1 :] if words_matched else args
        while rest and rest[0].startswith("-"):  # the runner's own options, `--`
            rest = rest[1:]
        return _simple(rest, rules) if rest else Classified("other", program)
    if matched == program and program in _BARE_SCRIPTS and subs:  # yarn test:e2e: a script
        return _script(program, subs, rules)
    return Classified(rules[matched], program)


def _script(program: str, subs: list[str], rules: Mapping[str, str]) -> Classified:
    """A script run by name: ``npm run test:unit``, ``just build``, ``yarn lint``."""
    name = subs[0].split(":", 1)[0] if subs else ""
    category = rules.get(f"{program} {name}") or _SCRIPT_NAMES.get(name, "other")
    return Classified("other" if category == RUNNER else category, program)


def _unwrapped(words: list[str]) -> list[str]:
    """Drops keywords, assignments and wrappers (with their options and leading arguments) in
    front of the program."""
    index = 0
    while index < len(words):
        word = words[index]
        if word in _KEYWORDS or _ASSIGNMENT.match(word):
            index += 1
        elif _program(word) in _WRAPPERS:
            takes_value, positional = _WRAPPERS[_program(word)]
            index += 1
            while index < len(words) and words[index].startswith("-"):
                index += 2 if words[index] in takes_value else 1
            index += positional
        else:
            break
    return words[index:]


def _program(word: str) -> str:
    name = os.path.basename(word)
    versioned = _VERSIONED.match(name)
    return versioned.group(1) if versioned else name


def _subcommands(program: str, args: list[str]) -> list[str]:
    """Up to two leading words that are not options, option values or assignments (with the
    options that work as subcommands, such as cmake's ``--build``)."""
    takes_value = _OPTIONS_WITH_VALUE.get(program, frozenset())
    found: list[str] = []
    skip = False
    for arg in args:
        if len(found) == 2:
            break
        if skip:
            skip = False
        elif arg in takes_value:
            skip = True
        elif _is_subcommand(program, arg, first=not found):
            found.append(arg)
    return found


def _is_subcommand(program: str, arg: str, *, first: bool) -> bool:
    """A word, not an option or an assignment; or an option that works as a subcommand."""
    if first and f"{program} {arg}" in _OPTION_SUBCOMMANDS:
        return True
    return not arg.startswith("-") and "=" not in arg
