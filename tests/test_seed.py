"""The seed: the page's content is there, counters equal their rows, a second run adds nothing."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.functions import Count

from models.accounts import Role, User, verify_password
from models.announcements import Announcement, checked_link
from models.errors import Problems
from models.issues import Issue
from models.posts import Post, PostStatus
from models.seed import load_page_content
from models.seed.scale import _rng
from models.stars import StarProfile
from models.wizard import WizardOption, WizardStep


async def test_second_run_creates_nothing(db: str) -> None:
    before = {m.__name__: await m.all().count() for m in Tortoise.apps.get_models_iterable()}
    assert await load_page_content() == {}
    after = {m.__name__: await m.all().count() for m in Tortoise.apps.get_models_iterable()}
    assert after == before


async def test_the_three_intro_authors_are_stars(db: str) -> None:
    for handle in ("vincent", "ribezaz", "susana"):
        user = await User.get(handle=handle)
        assert user.role is Role.STAR
        assert await StarProfile.filter(user_id=user.pk).exists()
    assert (await User.get(handle="ribezaz")).display_name == "Leticia"


async def test_each_intro_links_the_star_it_introduces_and_calls_to_action_are_links(db: str) -> None:
    intros = {post.slug: post.featured_star_id for post in await Post.filter(board__slug="stars-blog")}
    stars = {user.handle: user.pk for user in await User.filter(handle__in=("vincent", "ribezaz", "susana"))}
    assert intros == {"backstage-intro-meet-vincent": stars["vincent"], "backstage-intro-meet-leticia": stars["ribezaz"],
                      "backstage-intro-meet-susana": stars["susana"]}
    # The seed writes links straight to the table: each must pass the rule createAnnouncement applies.
    linked = await Announcement.exclude(link_url=None)
    assert {announcement.title for announcement in linked} == {"Meet the Stars: Backstage intros are back",
                                                               "Wrapped questions? Start here"}
    for announcement in linked:
        problems = Problems()
        assert checked_link(announcement.link_url, announcement.link_label, problems) and not problems.items


async def test_demo_accounts_sign_in_with_the_demo_password(db: str) -> None:
    roles = {"demo_member": Role.MEMBER, "demo_newcomer": Role.MEMBER, "demo_moderator": Role.MODERATOR, "demo_admin": Role.ADMIN}
    for handle, role in roles.items():
        user = await User.get(handle=handle)
        assert user.role is role and verify_password(user.password_hash, "demo-password")
    assert await Post.filter(author__handle="demo_member", status=PostStatus.PUBLISHED).count() >= 5
    assert await Post.filter(author__handle="demo_newcomer", status=PostStatus.PUBLISHED).count() < 5


async def test_counters_equal_their_rows(db: str) -> None:
    for post in await Post.exclude(slug__startswith="gen-").annotate(kudo_rows=Count("kudos", distinct=True)):
        assert post.kudos_count == post.kudo_rows, post.slug
        published_replies = await post.replies.filter(status=PostStatus.PUBLISHED).count()
        assert post.reply_count == published_replies, post.slug
    for issue in await Issue.all().annotate(marks=Count("affected_marks")):
        assert issue.affected_count == issue.marks, issue.number


async def test_every_wizard_path_ends_in_a_resolution_three_steps_deep(db: str) -> None:
    first = await WizardStep.get(is_first=True)
    deepest = 0

    async def walk(step: WizardStep, depth: int) -> None:
        nonlocal deepest
        deepest = max(deepest, depth)
        options = await WizardOption.filter(step_id=step.pk)
        assert options, step.key
        for option in options:
            if option.next_step_id:
                await walk(await WizardStep.get(id=option.next_step_id), depth + 1)
            else:
                assert option.resolution_summary and option.resolution_board_id, option.label

    await walk(first, 1)
    assert deepest >= 3


def test_scale_generator_is_a_function_of_seed_and_index() -> None:
    # The generator draws every row from these streams: same arguments, same data.
    assert _rng(1, "posts", 42).random() == _rng(1, "posts", 42).random()
    assert _rng(1, "posts", 42).random() != _rng(2, "posts", 42).random()
