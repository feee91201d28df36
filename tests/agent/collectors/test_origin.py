"""A repository's identity and display name: the same on every machine, whatever the layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.collectors.origin import display_names, identity, normalize_origin


@pytest.mark.parametrize(
    "url",
    [
        "git@github.com:Acme/Proj.git",
        "ssh://git@github.com:22/acme/proj.git",
        "ssh://git@github.com/acme/proj",
        "https://github.com/acme/proj",
        "https://alice@github.com/Acme/proj.git/",
        "git://github.com/acme/proj.git",
    ],
)
def test_ssh_and_https_forms_of_one_repository_are_equal(url: str) -> None:
    assert normalize_origin(url) == ("github.com", "acme", "proj")


@pytest.mark.parametrize("url", ["/srv/git/proj.git", "file:///srv/git/proj", "../proj", ""])
def test_a_local_path_names_no_shared_place(url: str) -> None:
    assert normalize_origin(url) is None


def test_identity_never_comes_from_parent_directories() -> None:
    one = identity(Path("/home/a/proj"), "git@gitlab.com:team/sub/proj.git", None)
    two = identity(Path("/Users/b/src/old/x"), "https://gitlab.com/team/sub/proj", None)
    assert one.key == two.key == "gitlab.com/team/sub/proj"
    rootless = identity(Path("/home/a/notes"), None, "abc123")
    assert rootless.key == identity(Path("/elsewhere/notes-copy"), None, "abc123").key == "root:abc123"


def test_display_names_lengthen_only_where_two_repositories_share_one() -> None:
    acme = identity(Path("/a/proj"), "git@github.com:acme/Proj.git", None)
    bob = identity(Path("/b/proj"), "git@github.com:bob/proj.git", None)
    alone = identity(Path("/c/tool"), None, "r1")
    assert display_names([acme, alone]) == {acme.key: "Proj", alone.key: "tool"}
    assert display_names([acme, bob]) == {acme.key: "acme/Proj", bob.key: "bob/proj"}
