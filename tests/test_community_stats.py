"""communityStats: exact figures, a zero-filled per-day series, moderator-only figures, and a
fixed number of statements whatever `days` asks."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from models import issues, posts
from models.accounts import Role, TokenScope, User
from models.base import utcnow
from models.faqs import Faq, FaqCategory, FaqStatus
from models.issues import Issue, IssueAffected, IssueStatus
from models.posts import Kudo, Post, PostStatus, Reply
from models.stars import ApplicationStatus, StarApplication
from tests.factories import make_board, make_post, make_user, token_for
from tests.support import GraphQLClient, count_sql

DAILY = "daily(days: $days) { date newMembers newPosts replies kudos affectedMarks }"
EVERYTHING = """query($days: Int!) { communityStats {
  memberCount membersByRole { role count } starCount
  publishedPostCount postsByStatus { status count } replyCount kudosCount
  issuesByStatus { status count } affectedMarkCount
  publishedFaqCount faqViewCount faqHelpfulCount faqNotHelpfulCount
  starApplicationsByStatus { status count }
  %s
} }""" % DAILY
SERIES = ("newMembers", "newPosts", "replies", "kudos", "affectedMarks")


async def stats(client: GraphQLClient, token: str, days: int = 30) -> dict[str, Any]:
    return (await client.query(EVERYTHING, {"days": days}, token=token))["communityStats"]


def by_key(entries: list[dict[str, Any]], key: str = "status") -> dict[str, int]:
    return {entry[key]: entry["count"] for entry in entries}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before[key] for key in after if after[key] != before[key]}


def noon(days_ago: int) -> datetime:
    return datetime.combine(utcnow().date() - timedelta(days=days_ago), time(12), tzinfo=timezone.utc)


async def moderator_token(scope: TokenScope = TokenScope.FULL) -> str:
    return await token_for(await make_user("stats_mod", Role.MODERATOR), scope)


async def make_issue(status: IssueStatus) -> Issue:
    number = 50_000 + await Issue.all().count()
    return await Issue.create(number=number, title=f"Stats issue {number}", description="d", status=status,
                              created_at=utcnow(), updated_at=utcnow())


async def test_figures_count_exactly_the_rows_created(client: GraphQLClient) -> None:
    token = await moderator_token()
    before = await stats(client, token)

    star, member = await make_user("stats_star", Role.STAR), await make_user("stats_member")
    board = await make_board("stats")
    published = await make_post(star, board)
    await make_post(member, board, status=PostStatus.PENDING)
    await make_post(member, board, status=PostStatus.SPAM)
    # Through the domain rules, so that the posts' and issues' counters keep equal to their rows.
    await posts.reply_to(member, published.pk, "r")
    await Reply.create(post=published, author=member, body="hidden", status=PostStatus.HIDDEN, created_at=utcnow())
    await posts.give_kudo(member, published.pk)
    issue = await make_issue(IssueStatus.IDENTIFIED)
    await issues.mark_affected(member, issue.pk)
    await issues.mark_affected(star, issue.pk)
    await make_issue(IssueStatus.RESOLVED)
    category = await FaqCategory.get(slug="account")
    for slug, status in (("stats-published", FaqStatus.PUBLISHED), ("stats-draft", FaqStatus.DRAFT)):
        await Faq.create(slug=slug, title=slug, body="b", category=category, status=status, views=10,
                         helpful_count=3, not_helpful_count=1, created_at=utcnow(), updated_at=utcnow())
    await StarApplication.create(user=member, date_of_birth=date(1990, 1, 1), motivation="m" * 60, weekly_minutes=60,
                                 submitted_at=utcnow(), updated_at=utcnow())

    after = await stats(client, token)
    scalars = [key for key, value in after.items() if isinstance(value, int)]
    assert delta({k: before[k] for k in scalars}, {k: after[k] for k in scalars}) == {
        "memberCount": 2, "starCount": 1, "publishedPostCount": 1, "replyCount": 1, "kudosCount": 1,
        "affectedMarkCount": 2, "publishedFaqCount": 1, "faqViewCount": 10, "faqHelpfulCount": 3, "faqNotHelpfulCount": 1,
    }
    assert delta(by_key(before["membersByRole"], "role"), by_key(after["membersByRole"], "role")) == {"MEMBER": 1, "STAR": 1}
    assert delta(by_key(before["postsByStatus"]), by_key(after["postsByStatus"])) == {"PUBLISHED": 1, "PENDING": 1, "SPAM": 1}
    assert delta(by_key(before["issuesByStatus"]), by_key(after["issuesByStatus"])) == {"IDENTIFIED": 1, "RESOLVED": 1}
    assert delta(by_key(before["starApplicationsByStatus"]), by_key(after["starApplicationsByStatus"])) == {"SUBMITTED": 1}
    # Every value of every enum is listed, in the enum's order, zeros included.
    assert [e["role"] for e in after["membersByRole"]] == [r.value for r in Role]
    assert [e["status"] for e in after["postsByStatus"]] == [s.value for s in PostStatus]
    assert [e["status"] for e in after["issuesByStatus"]] == [s.value for s in IssueStatus]
    assert [e["status"] for e in after["starApplicationsByStatus"]] == [s.value for s in ApplicationStatus]
    assert by_key(after["postsByStatus"])["REJECTED"] == await Post.filter(status=PostStatus.REJECTED).count()
    # And the totals are the tables' own, not only their changes.
    assert after["memberCount"] == await User.all().count()
    assert after["affectedMarkCount"] == await IssueAffected.all().count()


async def expected_series(first_day: date, days: int) -> list[dict[str, Any]]:
    """The per-day figures computed here in Python from the rows, independently of the API."""
    since = datetime.combine(first_day, time.min, tzinfo=timezone.utc)
    moments = {
        "newMembers": await User.filter(created_at__gte=since).values_list("created_at", flat=True),
        "newPosts": await Post.filter(status=PostStatus.PUBLISHED, published_at__gte=since).values_list("published_at", flat=True),
        "replies": await Reply.filter(status=PostStatus.PUBLISHED, created_at__gte=since).values_list("created_at", flat=True),
        "kudos": await Kudo.filter(created_at__gte=since).values_list("created_at", flat=True),
        "affectedMarks": await IssueAffected.filter(created_at__gte=since).values_list("created_at", flat=True),
    }
    days_of = {name: [m.astimezone(timezone.utc).date() for m in found] for name, found in moments.items()}
    return [
        {"date": day.isoformat(), **{name: days_of[name].count(day) for name in SERIES}}
        for day in (first_day + timedelta(days=n) for n in range(days))
    ]


async def test_daily_series_is_zero_filled_oldest_first_and_exact(client: GraphQLClient) -> None:
    token = await moderator_token()
    query = "query($days: Int!) { communityStats { %s } }" % DAILY
    before = (await client.query(query, {"days": 10}, token=token))["communityStats"]["daily"]

    today = utcnow().date()
    first_day = today - timedelta(days=9)
    window_start = datetime.combine(first_day, time.min, tzinfo=timezone.utc)
    author = await make_user("stats_daily")
    reader = await make_user("stats_reader")
    await User.filter(id=author.pk).update(created_at=noon(3))
    await User.filter(id=reader.pk).update(created_at=window_start)  # the first moment of the first day
    too_old = await make_user("stats_too_old")
    await User.filter(id=too_old.pk).update(created_at=window_start - timedelta(microseconds=1))  # the day before
    post = await make_post(author, await make_board("stats_daily"), published_at=noon(3), created_at=noon(4))
    reply = await posts.reply_to(reader, post.pk, "r")
    await Reply.filter(id=reply.pk).update(created_at=noon(2))
    await posts.give_kudo(reader, post.pk)
    await Kudo.filter(post_id=post.pk, user_id=reader.pk).update(created_at=noon(1))
    issue = await make_issue(IssueStatus.INVESTIGATING)
    await issues.mark_affected(reader, issue.pk)
    await IssueAffected.filter(issue_id=issue.pk, user_id=reader.pk).update(created_at=noon(1))

    after = (await client.query(query, {"days": 10}, token=token))["communityStats"]["daily"]
    assert [day["date"] for day in after] == [(first_day + timedelta(days=n)).isoformat() for n in range(10)]
    changes = {
        day["date"]: delta({k: old[k] for k in SERIES}, {k: day[k] for k in SERIES})
        for old, day in zip(before, after)
        if day != old
    }
    assert changes == {
        first_day.isoformat(): {"newMembers": 1},
        noon(3).date().isoformat(): {"newMembers": 1, "newPosts": 1},
        noon(2).date().isoformat(): {"replies": 1},
        noon(1).date().isoformat(): {"kudos": 1, "affectedMarks": 1},
    }
    # The whole series, zeros included, equals the rows bucketed by UTC day in Python.
    year = (await client.query(query, {"days": 366}, token=token))["communityStats"]["daily"]
    assert year == await expected_series(today - timedelta(days=365), 366)
    assert any(all(day[name] == 0 for name in SERIES) for day in year)


@pytest.mark.parametrize("days", [0, -1, 367, 100_000])
async def test_days_out_of_range_are_refused_before_any_sql(client: GraphQLClient, days: int) -> None:
    query = "query($days: Int!) { communityStats { memberCount kudosCount %s } }" % DAILY
    with count_sql() as sql:
        response = await client.post(query, {"days": days})
        await asyncio.sleep(0.05)  # work left running in the background would show by now
    payload = response.json()
    if days > 10_000:
        # So many days cost more than the query budget: refused before execution, as a request error.
        assert response.status_code == 400 and payload["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    else:
        error = payload["errors"][0]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "days", "maximum": 366}
        assert "between 1 and 366" in error["message"] and error["path"] == ["communityStats"]
        assert payload["data"] is None
    assert sql.count == 0, sql.statements


async def test_days_are_checked_through_fragments_and_aliases(client: GraphQLClient) -> None:
    query = """{ communityStats { ...Activity } }
    fragment Activity on CommunityStats { memberCount week: daily(days: 7) { date } all: daily(days: 400) { kudos } }"""
    with count_sql() as sql:
        errors = await client.errors(query)
        await asyncio.sleep(0.05)
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"] and "got 400" in errors[0]["message"]
    assert sql.count == 0, sql.statements


MODERATION_FIGURES = "{ communityStats { memberCount publishedPostCount postsByStatus { status count } starApplicationsByStatus { status count } } }"


@pytest.mark.parametrize(("viewer", "code"), [("anonymous", "UNAUTHENTICATED"), ("member", "FORBIDDEN"),
                                               ("star", "FORBIDDEN"), ("suspended_moderator", "FORBIDDEN"),
                                               ("read_only_moderator", None), ("admin", None)])
async def test_moderation_figures_are_for_moderators_and_admins(client: GraphQLClient, viewer: str, code: str | None) -> None:
    token = await viewer_token(viewer)
    payload = (await client.post(MODERATION_FIGURES, token=token)).json()
    data = payload["data"]["communityStats"]
    assert data["memberCount"] == await User.all().count()
    assert data["publishedPostCount"] == await Post.filter(status=PostStatus.PUBLISHED).count()
    if code is None:
        assert "errors" not in payload, payload["errors"]
        assert by_key(data["postsByStatus"])["PUBLISHED"] == data["publishedPostCount"]
        return
    assert data["postsByStatus"] is None and data["starApplicationsByStatus"] is None
    errors = sorted(payload["errors"], key=lambda e: e["path"])
    assert [e["path"] for e in errors] == [["communityStats", "postsByStatus"], ["communityStats", "starApplicationsByStatus"]]
    assert {e["extensions"]["code"] for e in errors} == {code}


async def viewer_token(viewer: str) -> str | None:
    """Reading is decided by role: a moderator's read-only token reads; a suspended moderator does not."""
    if viewer == "anonymous":
        return None
    if viewer == "read_only_moderator":
        return await moderator_token(TokenScope.READ)
    role = {"member": Role.MEMBER, "star": Role.STAR, "admin": Role.ADMIN}.get(viewer, Role.MODERATOR)
    return await token_for(await make_user(f"stats_{viewer}", role, suspended=viewer.startswith("suspended")))


async def test_statements_and_cost_do_not_grow_with_days(client: GraphQLClient) -> None:
    token = await moderator_token()
    with count_sql() as week:
        short = await client.post(EVERYTHING, {"days": 7}, token=token)
    with count_sql() as year:
        long = await client.post(EVERYTHING, {"days": 366}, token=token)
    assert len(long.json()["data"]["communityStats"]["daily"]) == 366
    assert week.count == year.count, (week.statements, year.statements)
    # The token, then one statement each: roles, posts, replies, kudos, issues, affected marks,
    # FAQs, applications, and the five daily figures.
    assert year.count == 1 + 8 + 5, year.statements
    # Cost: communityStats and its four lists one point each, and one point a day.
    assert short.json()["extensions"]["cost"]["requested"] == 5 + 7
    assert long.json()["extensions"]["cost"]["requested"] == 5 + 366


async def test_only_selected_figures_are_queried(client: GraphQLClient) -> None:
    with count_sql() as members:
        data = await client.query("{ communityStats { memberCount starCount membersByRole { role count } } }")
    assert members.count == 1, members.statements  # one GROUP BY serves all three
    assert data["communityStats"]["memberCount"] == sum(e["count"] for e in data["communityStats"]["membersByRole"])
    with count_sql() as dates:
        days = (await client.query("{ communityStats { daily(days: 3) { date } } }"))["communityStats"]["daily"]
    assert dates.count == 0 and days[-1]["date"] == utcnow().date().isoformat()
    with count_sql() as one_series:
        await client.query("{ communityStats { daily { kudos } } }")
    assert one_series.count == 1, one_series.statements
