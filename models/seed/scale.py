"""A deterministic scale dataset for benchmarks: N members with proportional content.

Every generated row depends only on (seed, index), never on the clock or on what ran before, so
the same arguments give the same data. Members are `member_000000` ... ; running again with a
larger N adds the missing members (and their content); running with the same N adds nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from tortoise.models import Model

from models.accounts import User
from models.faqs import Faq, FaqCategory, FaqStatus
from models.issues import Issue, IssueAffected, IssuePlatform, IssueStatus, IssueUpdate, Platform
from models.posts import Board, Kudo, Post, PostStatus, PostTag, Reply, Tag
from models.text import excerpt

BASE = datetime(2024, 1, 1, tzinfo=UTC)
BATCH = 1000
POSTS_PER_MEMBER = (1, 5)  # about 3 on average
MEMBERS_PER_FAQ = 100
MEMBERS_PER_ISSUE = 200
TAGS = ["playback", "android", "ios", "desktop", "premium", "playlists", "podcasts", "connect", "offline", "car"]
WORDS = ["song", "playlist", "album", "shuffle", "speaker", "podcast", "offline", "premium", "family", "lyrics", "queue", "radio", "artist", "download", "volume", "crossfade", "library", "wrapped", "sleep", "timer", "car", "watch", "login", "password"]

ModelT = TypeVar("ModelT", bound=Model)


def _rng(seed: int, kind: str, index: int) -> random.Random:
    return random.Random(f"{seed}:{kind}:{index}")


def _title(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))).capitalize()


async def _bulk(model: type[ModelT], rows: Iterable[ModelT]) -> int:
    """Insert `rows` in batches of BATCH; how many there were."""
    batch: list[ModelT] = []
    inserted = 0
    for row in rows:
        batch.append(row)
        inserted += 1
        if len(batch) == BATCH:
            await _insert(model, batch)
            batch = []
    if batch:
        await _insert(model, batch)
    return inserted


async def _insert(model: type[ModelT], rows: list[ModelT]) -> None:
    """`bulk_create` in one multi-row INSERT (Tortoise's runs one statement a row): the counting
    triggers (models/counted.py) then run once a batch on PostgreSQL, where they are statement
    triggers, and the rows go in with one round trip."""
    meta = model._meta
    executor = meta.db.executor_class(model=model, db=meta.db)
    names = executor.regular_columns
    query = meta.db.query_class.into(meta.basetable).columns(*(meta.fields_db_projection[name] for name in names))
    values: list[Any] = []
    for row in rows:
        parameters = []
        for name in names:
            parameters.append(executor.parameter(len(values)))
            values.append(meta.fields_map[name].to_db_value(getattr(row, name), row))
        query = query.insert(*parameters)
    await meta.db.execute_query(query.get_sql(), values)


async def _ids(model: type[Model], field: str, values: list[Any]) -> dict[Any, int]:
    found: dict[Any, int] = {}
    for start in range(0, len(values), BATCH):
        found.update({v: pk for pk, v in await model.filter(**{f"{field}__in": values[start:start + BATCH]}).values_list("id", field)})
    return found


async def generate_scale(members: int, seed: int = 1) -> dict[str, int]:
    created: Counter[str] = Counter()
    existing = await User.filter(handle__startswith="member_").count()
    new = range(existing, members)
    if not new:
        return {}
    boards = await Board.all().values_list("id", flat=True) or [(await Board.create(slug="general", name="General")).pk]
    tag_ids = [(await Tag.get_or_create(name=name))[0].pk for name in TAGS]

    handles = [f"member_{i:06d}" for i in new]
    await _bulk(User, (User(handle=h, display_name=f"Member {i}", created_at=BASE - timedelta(days=_rng(seed, "user", i).randint(1, 2000)))
                       for i, h in zip(new, handles, strict=True)))
    created["User"] += len(handles)
    user_ids = await _ids(User, "handle", handles)
    all_members = [f"member_{i:06d}" for i in range(members)]
    member_ids = {**await _ids(User, "handle", all_members[:existing]), **user_ids} if existing else user_ids

    # Posts, then their tags, kudos and replies, with counters equal to the rows: kudos_count set
    # here, every other counter (reply_count, the boards', authors' and tallies) by the triggers
    # as the rows go in (models/counted.py).
    posts: list[Post] = []
    extras: dict[str, tuple[list[int], list[str]]] = {}
    for i in new:
        rng = _rng(seed, "posts", i)
        for j in range(rng.randint(*POSTS_PER_MEMBER)):
            slug = f"gen-{i:06d}-{j}"
            kudoers = sorted({rng.randrange(members) for _ in range(rng.randint(0, 6))} - {i})
            repliers = [rng.randrange(members) for _ in range(rng.randint(0, 3))]
            when = BASE + timedelta(minutes=rng.randint(0, 60 * 24 * 600))
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 80)))
            posts.append(Post(slug=slug, board_id=rng.choice(boards), author_id=user_ids[handles[i - existing]],
                              title=_title(rng), body=body, excerpt=excerpt(body), status=PostStatus.PUBLISHED,
                              created_at=when, published_at=when, kudos_count=len(kudoers)))
            extras[slug] = ([k for k in kudoers if k < len(all_members)], [all_members[r] for r in repliers])
    await _bulk(Post, posts)
    created["Post"] += len(posts)
    post_ids = await _ids(Post, "slug", list(extras))

    def tags() -> Iterable[PostTag]:
        for pk in post_ids.values():
            for tag in _rng(seed, "tags", pk).sample(tag_ids, 2):
                yield PostTag(post_id=pk, tag_id=tag)

    def kudos() -> Iterable[Kudo]:
        for slug, (kudoers, _) in extras.items():
            for k in kudoers:
                yield Kudo(post_id=post_ids[slug], user_id=member_ids[all_members[k]])

    def replies() -> Iterable[Reply]:
        for slug, (_, repliers) in extras.items():
            for n, handle in enumerate(repliers):
                yield Reply(post_id=post_ids[slug], author_id=member_ids[handle], body=f"Reply {n} to {slug}",
                            status=PostStatus.PUBLISHED, created_at=BASE + timedelta(days=700, minutes=n))

    created["PostTag"] += await _bulk(PostTag, tags())
    created["Kudo"] += await _bulk(Kudo, kudos())
    created["Reply"] += await _bulk(Reply, replies())

    await _faqs(seed, existing, members, created)
    await _issues(seed, existing, members, all_members, member_ids, created)
    return dict(created)


async def _faqs(seed: int, existing: int, members: int, created: Counter[str]) -> None:
    categories = await FaqCategory.all().values_list("id", flat=True) or [(await FaqCategory.create(slug="general", name="General")).pk]
    numbers = range(existing // MEMBERS_PER_FAQ, members // MEMBERS_PER_FAQ)
    rows = []
    for n in numbers:
        rng = _rng(seed, "faq", n)
        when = BASE + timedelta(days=rng.randint(0, 600))
        rows.append(Faq(slug=f"gen-faq-{n:05d}", title=_title(rng) + "?", body=" ".join(rng.choice(WORDS) for _ in range(60)),
                        category_id=rng.choice(categories), status=FaqStatus.PUBLISHED, views=rng.randint(0, 100_000) * 10 + n % 10,
                        helpful_count=rng.randint(0, 500), not_helpful_count=rng.randint(0, 100),
                        created_at=when, updated_at=when, published_at=when))
    await _bulk(Faq, rows)
    created["Faq"] += len(rows)


async def _issues(seed: int, existing: int, members: int, all_members: list[str], member_ids: dict[str, int], created: Counter[str]) -> None:
    statuses = list(IssueStatus)
    platforms = list(Platform)
    for n in range(existing // MEMBERS_PER_ISSUE, members // MEMBERS_PER_ISSUE):
        rng = _rng(seed, "issue", n)
        steps = statuses[: rng.randint(1, len(statuses))]
        opened = BASE + timedelta(days=rng.randint(0, 600))
        affected = sorted({rng.randrange(members) for _ in range(rng.randint(0, 40))})
        issue = await Issue.create(number=50_000 + n, title=_title(rng), description=_title(rng), status=steps[-1],
                                   affected_count=len(affected), created_at=opened, updated_at=opened + timedelta(days=len(steps)))
        await IssuePlatform.bulk_create([IssuePlatform(issue_id=issue.pk, platform=p) for p in rng.sample(platforms, rng.randint(1, 3))])
        await IssueUpdate.bulk_create([IssueUpdate(issue_id=issue.pk, status=s, body=f"Now {s.value.lower()}.", posted_at=opened + timedelta(days=d))
                                       for d, s in enumerate(steps)])
        await IssueAffected.bulk_create([IssueAffected(issue_id=issue.pk, user_id=member_ids[all_members[a]]) for a in affected])
        created["Issue"] += 1
        created["IssueAffected"] += len(affected)
