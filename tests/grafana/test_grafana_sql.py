"""The expansion the SQL proofs rely on matches Grafana's MySQL datasource, case by case."""

from __future__ import annotations

import pytest

from tests.grafana.grafana_sql import UnknownVariable, expand_macros, interpolate, render


def test_time_filter_is_between_from_unixtime():
    assert (
        expand_macros("WHERE $__timeFilter(date)", 100, 200)
        == "WHERE date BETWEEN FROM_UNIXTIME(100) AND FROM_UNIXTIME(200)"
    )


def test_time_group_alias_groups_by_epoch_and_names_the_column_time():
    assert (
        expand_macros("SELECT $__timeGroupAlias(date, 1d)", 0, 1)
        == 'SELECT UNIX_TIMESTAMP(date) DIV 86400 * 86400 AS "time"'
    )
    assert (
        expand_macros("$__timeGroup(created_at, '1h')", 0, 1) == "UNIX_TIMESTAMP(created_at) DIV 3600 * 3600"
    )


def test_time_from_and_to():
    assert expand_macros("$__timeFrom() - $__timeTo()", 5, 9) == "FROM_UNIXTIME(5) - FROM_UNIXTIME(9)"


def test_multi_value_variables_become_quoted_lists_and_single_values_stay_raw():
    sql = "connection_id = ${connection_id} AND developer_id IN (${developer}) AND x IN ($developer)"
    out = interpolate(sql, {"connection_id": "2", "developer": ["ann", "o'brien"]}, frozenset({"developer"}))
    assert out == "connection_id = 2 AND developer_id IN ('ann','o''brien') AND x IN ('ann','o''brien')"


def test_json_paths_are_not_taken_for_variables():
    sql = "JSON_EXTRACT(git_activity, '$.total_commits') AND $__timeFilter(date)"
    assert (
        render(sql, {}, frozenset(), 1, 2) == "JSON_EXTRACT(git_activity, '$.total_commits')"
        " AND date BETWEEN FROM_UNIXTIME(1) AND FROM_UNIXTIME(2)"
    )


def test_an_undefined_variable_is_an_error():
    with pytest.raises(UnknownVariable):
        interpolate("WHERE developer_id = ${nobody}", {}, frozenset())


def test_an_unknown_macro_is_an_error():
    with pytest.raises(ValueError, match="unknown macro"):
        expand_macros("$__nothing(x)", 0, 1)
