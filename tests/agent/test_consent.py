"""Consent in the data path: each level and each override decides exactly what arrives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from agent import contract as C
from agent.cli import main
from agent.store import DayStore
from tests.agent.conftest import otlp_sink, sample_day
from tests.agent.receiver import events, gauge_points, resource_attrs

TODAY = dt.date.today()
OVERRIDES = {
    "none": None,
    "do_not_track": ("DO_NOT_TRACK", "1"),
    "devtel_disable": ("DEVTEL_DISABLE_TELEMETRY", "true"),
    "otel_sdk_disabled": ("OTEL_SDK_DISABLED", "true"),
}


@pytest.fixture
def with_day(env: dict[str, str]) -> None:
    Path(env["DEVTEL_HOME"]).mkdir(parents=True, exist_ok=True)
    DayStore(Path(env["DEVTEL_HOME"])).save(sample_day(TODAY))


@pytest.mark.parametrize("override", OVERRIDES)
@pytest.mark.parametrize("level", ["off", "base", "detailed"])
def test_consent_matrix(level, override, receiver, write_config, with_day, monkeypatch) -> None:
    write_config(otlp_sink(receiver.url))
    assert main(["consent", level]) == 0
    if OVERRIDES[override]:
        monkeypatch.setenv(*OVERRIDES[override])
    assert main(["collect"]) == 0
    if override != "none" or level == "off":
        assert receiver.requests == []  # not one byte
        return
    names = {name for name, _, _ in events(receiver.requests)}
    if level == "base":
        assert names == {C.E_FIRST_SEEN, C.E_HEARTBEAT}
        assert not any(r.path == "/v1/metrics" for r in receiver.requests)
        for attrs in resource_attrs(receiver.requests[0].message):
            assert set(attrs) == {C.RES_SERVICE_NAME, C.RES_SERVICE_VERSION, C.RES_INSTANCE_ID}
        for _, _, attrs in events(receiver.requests):
            assert set(attrs) == set(C.BASE_FIELDS) | {C.ATTR_RECORD_UID}
    else:
        assert names == {C.E_FIRST_SEEN, C.E_HEARTBEAT, C.E_DAY_SUMMARY, C.E_CONSENT_GRANTED}
        assert gauge_points(receiver.ok(), C.M_ACTIVE_HOURS) == [(2, {C.ATTR_DATE: TODAY.isoformat()})]
        assert gauge_points(receiver.ok(), C.M_AGENT_RSS)


def test_policy_default_detailed_counts_as_opt_in(receiver, write_config, with_day) -> None:
    write_config(otlp_sink(receiver.url), policy='[consent]\ndefault = "detailed"\n')
    assert main(["collect"]) == 0
    assert gauge_points(receiver.ok(), C.M_COMMITS)


def test_user_can_lower_below_policy_default_but_not_raise_past_max(write_config, capsys) -> None:
    write_config(policy='[consent]\ndefault = "base"\nmax = "base"\n')
    assert main(["consent", "detailed"]) == 4
    assert "caps consent at 'base'" in capsys.readouterr().err
    assert main(["consent", "off"]) == 0
    assert main(["consent", "show"]) == 0
    assert capsys.readouterr().out.strip().endswith("off (from user)")


def test_opting_out_purges_unsent_detailed_data_at_once(receiver, write_config, with_day, capsys) -> None:
    write_config(otlp_sink(receiver.url))
    main(["consent", "detailed"])
    receiver.answers.extend([(503, {})] * 20)
    main(["collect"])
    assert main(["consent", "base"]) == 0
    assert "purged" in capsys.readouterr().out
    receiver.answers.clear()
    receiver.requests.clear()
    assert main(["flush"]) == 0
    assert {name for name, _, _ in events(receiver.ok())} <= {C.E_FIRST_SEEN, C.E_HEARTBEAT}
    assert not any(r.path == "/v1/metrics" for r in receiver.requests)


def test_consent_granted_is_sent_once_on_opt_in(receiver, write_config) -> None:
    write_config(otlp_sink(receiver.url))
    main(["consent", "detailed"])
    main(["consent", "detailed"])
    main(["flush"])
    granted = events(receiver.ok(), C.E_CONSENT_GRANTED)
    assert len(granted) == 1 and granted[0][2][C.ATTR_CONSENT_PREVIOUS] == "base"


def test_first_seen_is_sent_once_and_retried_after_a_failure(receiver, write_config) -> None:
    write_config(otlp_sink(receiver.url))
    receiver.answers.extend([(503, {})])
    main(["collect"])  # first_seen fails
    assert events(receiver.ok(), C.E_FIRST_SEEN) == []
    main(["collect"])  # a later start re-queues it (superseding the stuck copy) and sends it
    main(["collect"])
    main(["flush"])
    assert len(events(receiver.ok(), C.E_FIRST_SEEN)) == 1
    assert len(events(receiver.ok(), C.E_HEARTBEAT)) == 1  # daily


def test_opt_out_variable_holds_back_already_queued_data(
    receiver, write_config, with_day, monkeypatch, capsys
):
    write_config(otlp_sink(receiver.url))
    main(["consent", "detailed"])
    receiver.answers.extend([(503, {})] * 5)
    main(["collect"])  # queued, not yet delivered
    receiver.answers.clear()
    sent_before = len(receiver.requests)
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    capsys.readouterr()
    assert main(["flush"]) == 0
    assert len(receiver.requests) == sent_before
    assert "held back by consent" in capsys.readouterr().out
