"""Which changes of a mutation may tell anyone anything (`resolvers.notifications.rules`)."""

from __future__ import annotations

from db.activity import Change, issue_updated
from resolvers.notifications.rules import MAX_STATE_CHANGES_TOLD, _news


def moves(count: int) -> list[Change]:
    return [issue_updated(1, pk, "state", "7", "8") for pk in range(1, count + 1)]


def test_a_few_state_changes_are_news_for_each_issue() -> None:
    news = _news(moves(MAX_STATE_CHANGES_TOLD))
    assert len(news) == MAX_STATE_CHANGES_TOLD
    assert all(item.state_changed for item in news.values())


def test_moving_more_issues_at_once_is_housekeeping() -> None:
    assert _news(moves(MAX_STATE_CHANGES_TOLD + 1)) == {}


def test_housekeeping_keeps_the_rest_of_the_news() -> None:
    assigned = issue_updated(1, 5, "assignee", None, "42")
    news = _news([*moves(MAX_STATE_CHANGES_TOLD + 1), assigned])
    assert list(news) == [5]
    assert news[5].assigned and not news[5].state_changed
