"""Batched reads about users: rows by id, their published posts and kudos, Stars profiles."""

from __future__ import annotations

from collections.abc import Mapping

from tortoise.functions import Sum
from tortoise.queryset import QuerySet

from gql.core.loaders import CounterByIdLoader, Loader, ModelByIdLoader, page_filler
from models import lean
from models.accounts import User
from models.posts import Post, PostStatus
from models.stars import StarProfile


class UserByIdLoader(ModelByIdLoader[User]):
    model = User


class PublishedPostCountByAuthorIdLoader(CounterByIdLoader):
    model = User
    column = "published_post_count"


class KudosReceivedByAuthorIdLoader(Loader[int, int]):
    """Kudos given to each author's published posts (a sum over their posts' counters)."""

    async def fetch(self, keys: list[int]) -> Mapping[int, int]:
        rows = (
            await Post.filter(author_id__in=keys, status=PostStatus.PUBLISHED)
            .annotate(total=Sum("kudos_count"))
            .group_by("author_id")
            .values_list("author_id", "total")
        )
        return {author_id: int(total or 0) for author_id, total in rows}

    def missing(self) -> int:
        return 0


class StarProfileByUserIdLoader(Loader[int, StarProfile | None]):
    """Each user's Stars profile; None for a user who is not a Star."""

    async def fetch(self, keys: list[int]) -> Mapping[int, StarProfile | None]:
        return {profile.user_id: profile for profile in await lean.fetch_keyed(self.statement_owner, _profiles_of, keys)}

    def missing(self) -> StarProfile | None:
        return None


def _profiles_of(user_ids: list[int]) -> QuerySet[StarProfile]:
    return StarProfile.filter(user_id__in=user_ids)


prepare_user_page = page_filler(
    starSince=(StarProfileByUserIdLoader, "pk"),
    postCount=(PublishedPostCountByAuthorIdLoader, "pk"),
    kudosReceived=(KudosReceivedByAuthorIdLoader, "pk"),
)
