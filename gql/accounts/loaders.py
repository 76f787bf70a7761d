from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from tortoise.functions import Sum

from gql.core.loaders import CounterByIdLoader, Loader, ModelByIdLoader, page_filler
from models import lean
from models.accounts import User
from models.posts import Post, PostStatus
from models.stars import StarProfile


class UserByIdLoader(ModelByIdLoader):
    model = User


class PublishedPostCountByAuthorIdLoader(CounterByIdLoader):
    model = User
    column = "published_post_count"


class KudosReceivedByAuthorIdLoader(Loader):
    async def fetch(self, keys: list[Any]) -> dict[Hashable, Any]:
        rows = (
            await Post.filter(author_id__in=keys, status=PostStatus.PUBLISHED)
            .annotate(total=Sum("kudos_count"))
            .group_by("author_id")
            .values_list("author_id", "total")
        )
        return {author_id: int(total or 0) for author_id, total in rows}

    def missing(self) -> Any:
        return 0


class StarProfileByUserIdLoader(Loader):
    async def fetch(self, keys: list[Any]) -> dict[Hashable, Any]:
        return {profile.user_id: profile for profile in await lean.fetch_keyed(type(self), _profiles_of, keys)}


def _profiles_of(user_ids: list[Any]) -> Any:
    return StarProfile.filter(user_id__in=user_ids)


prepare_user_page = page_filler(
    starSince=(StarProfileByUserIdLoader, "pk"),
    postCount=(PublishedPostCountByAuthorIdLoader, "pk"),
    kudosReceived=(KudosReceivedByAuthorIdLoader, "pk"),
)
