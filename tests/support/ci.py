"""What a missing real component means: a failure in CI, where it must be there; a skip elsewhere."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(message: str) -> NoReturn:
    """CI (CI=true) fails the test; a laptop without the component skips it, saying why."""
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
