"""The framework's ceiling: the API's schema shape for W1, W2, W2b and W3 in stock Strawberry,
answering from objects already in memory (loaded once at start through bench/raw.py), with the
parser and validation caches on. No database, no ORM, no limits, no loaders: what Strawberry
and graphql-core cost by themselves for the same documents and the same answers.

Every field is a plain attribute except the connections' `first` arguments (a slice). Types,
field names, nullability, enums and the DateTime scalar are the API's, so the same query text
validates and the answer is checked equal to the API's before measuring.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from bench import raw


@strawberry.enum
class Role(Enum):
    MEMBER = "MEMBER"
    STAR = "STAR"
    MODERATOR = "MODERATOR"
    ADMIN = "ADMIN"


@strawberry.enum
class FaqOrder(Enum):
    POPULAR = "POPULAR"
    HELPFUL = "HELPFUL"
    RECENTLY_UPDATED = "RECENTLY_UPDATED"
    TITLE = "TITLE"


@strawberry.enum
class IssueStatus(Enum):
    INVESTIGATING = "INVESTIGATING"
    IDENTIFIED = "IDENTIFIED"
    MONITORING = "MONITORING"
    RESOLVED = "RESOLVED"


# Platform values are read from the API's model, so that any the data holds serializes.
def _platform_enum() -> Any:
    from models.issues import Platform as ModelPlatform

    return strawberry.enum(Enum("Platform", {member.value: member.value for member in ModelPlatform}))  # type: ignore[misc]


Platform = _platform_enum()


@strawberry.type
class Viewer:
    is_authenticated: bool
    role: Role | None


@strawberry.type
class Announcement:
    id: strawberry.ID
    title: str
    body: str
    pinned: bool
    published_at: datetime


@strawberry.type
class AnnouncementConnection:
    nodes: list[Announcement]


@strawberry.type
class WizardStep:
    id: strawberry.ID
    step_number: int
    title: str
    prompt: str
    options: list[WizardOption]


@strawberry.type
class WizardOption:
    label: str
    next: WizardStep | None


@strawberry.type
class HelpWizard:
    first_step: WizardStep


@strawberry.type
class FaqCategory:
    slug: str
    name: str


@strawberry.type
class Faq:
    id: strawberry.ID
    slug: str
    title: str
    views: int
    helpful_count: int
    category: FaqCategory
    labels: list[str]


@strawberry.type
class FaqConnection:
    total_count: int
    nodes: list[Faq]


@strawberry.type
class IssueUpdate:
    status: IssueStatus
    body: str
    posted_at: datetime


@strawberry.type
class IssueUpdateConnection:
    nodes: list[IssueUpdate]


@strawberry.type
class Issue:
    id: strawberry.ID
    number: int
    title: str
    status: IssueStatus
    affected_count: int
    platforms: list[Platform]  # type: ignore[valid-type]
    updated_at: datetime
    all_updates: strawberry.Private[list[IssueUpdate]]

    @strawberry.field
    def updates(self, first: int | None = None) -> IssueUpdateConnection:
        return IssueUpdateConnection(nodes=self.all_updates[:first])


@strawberry.type
class IssueConnection:
    total_count: int
    nodes: list[Issue]


@strawberry.type
class Board:
    slug: str
    name: str


@strawberry.type
class Post:
    id: strawberry.ID
    title: str
    excerpt: str
    published_at: datetime | None
    author: User
    board: Board | None
    tags: list[str]
    kudos_count: int
    reply_count: int


@strawberry.type
class PostConnection:
    nodes: list[Post]


@strawberry.type
class EligibilityRequirement:
    code: str
    description: str


@strawberry.type
class Perk:
    title: str


@strawberry.type
class ProgramValue:
    name: str
    description: str
    icon: str


@strawberry.type
class StarsProgram:
    name: str
    tagline: str
    description: str
    become_a_star: str
    applications_open: bool
    eligibility: list[EligibilityRequirement]
    perks: list[Perk]
    values: list[ProgramValue]
    all_blog_posts: strawberry.Private[list[Post]]

    @strawberry.field
    def blog_posts(self, first: int | None = None) -> PostConnection:
        return PostConnection(nodes=self.all_blog_posts[:first])


@strawberry.type
class User:
    """The API's User: the Stars list reads all these fields, a post's author its handle and name."""
    handle: str
    display_name: str
    id: strawberry.ID = strawberry.ID("")
    avatar_url: str | None = None
    star_since: datetime | None = None
    post_count: int = 0
    kudos_received: int = 0


@strawberry.type
class UserConnection:
    total_count: int
    nodes: list[User]


class Data:
    """The objects every query answers from, built once."""

    def __init__(self, landing: dict[str, Any], posts: list[dict[str, Any]], faqs: list[dict[str, Any]]) -> None:
        when = lambda text: datetime.fromisoformat(text) if text else None  # noqa: E731
        post = lambda p: Post(id=p["id"], title=p["title"], excerpt=p.get("excerpt", ""), published_at=when(p.get("publishedAt")),  # noqa: E731
                              author=User(handle=p["author"]["handle"], display_name=p["author"]["displayName"]),
                              board=Board(**p["board"]) if p.get("board") else None, tags=p.get("tags", []),
                              kudos_count=p.get("kudosCount", 0), reply_count=p.get("replyCount", 0))
        self.posts = [post(p) for p in posts]
        self.faqs = [Faq(id=f["id"], slug=f["slug"], title=f["title"], views=f["views"], helpful_count=f["helpfulCount"],
                         category=FaqCategory(**f["category"]), labels=f["labels"]) for f in faqs]
        self.faq_total = landing["faqs"]["totalCount"]
        self.announcements = [Announcement(id=a["id"], title=a["title"], body=a["body"], pinned=a["pinned"],
                                           published_at=when(a["publishedAt"])) for a in landing["announcements"]["nodes"]]
        step = landing["helpWizard"]["firstStep"]
        self.first_step = WizardStep(id=step["id"], step_number=step["stepNumber"], title=step["title"], prompt=step["prompt"], options=[
            WizardOption(label=o["label"], next=WizardStep(id=o["next"]["id"], title=o["next"]["title"], step_number=0, prompt="", options=[])
                         if o["next"] else None) for o in step["options"]])
        issues = landing["ongoingIssues"]
        self.issue_total = issues["totalCount"]
        self.issues = [Issue(id=i["id"], number=i["number"], title=i["title"], status=IssueStatus(i["status"]),
                             affected_count=i["affectedCount"], platforms=[Platform(p) for p in i["platforms"]],
                             updated_at=when(i["updatedAt"]),
                             all_updates=[IssueUpdate(status=IssueStatus(u["status"]), body=u["body"], posted_at=when(u["postedAt"]))
                                          for u in i["updates"]["nodes"]]) for i in issues["nodes"]]
        program = landing["starsProgram"]
        self.program = StarsProgram(
            name=program["name"], tagline=program["tagline"], description=program["description"], become_a_star=program["becomeAStar"],
            applications_open=program["applicationsOpen"], eligibility=[EligibilityRequirement(**e) for e in program["eligibility"]],
            perks=[Perk(**p) for p in program["perks"]], values=[ProgramValue(**v) for v in program["values"]],
            all_blog_posts=[post(p) for p in program["blogPosts"]["nodes"]])
        stars = landing["stars"]
        self.star_total = stars["totalCount"]
        self.stars = [User(id=s["id"], handle=s["handle"], display_name=s["displayName"], avatar_url=s["avatarUrl"],
                           star_since=when(s["starSince"]), post_count=s["postCount"], kudos_received=s["kudosReceived"])
                      for s in stars["nodes"]]


DATA: Data | None = None


def _data() -> Data:
    assert DATA is not None, "bench.ceiling.load() first"
    return DATA


@strawberry.type
class Query:
    @strawberry.field
    def viewer(self) -> Viewer:
        return Viewer(is_authenticated=False, role=None)

    @strawberry.field
    def announcements(self, first: int | None = None) -> AnnouncementConnection:
        return AnnouncementConnection(nodes=_data().announcements[:first])

    @strawberry.field
    def help_wizard(self) -> HelpWizard:
        return HelpWizard(first_step=_data().first_step)

    @strawberry.field
    def faqs(self, first: int | None = None, order_by: FaqOrder = FaqOrder.POPULAR) -> FaqConnection:
        return FaqConnection(total_count=_data().faq_total, nodes=_data().faqs[:first])

    @strawberry.field
    def ongoing_issues(self, first: int | None = None) -> IssueConnection:
        return IssueConnection(total_count=_data().issue_total, nodes=_data().issues[:first])

    @strawberry.field
    def stars_program(self) -> StarsProgram:
        return _data().program

    @strawberry.field
    def stars(self, first: int | None = None) -> UserConnection:
        return UserConnection(total_count=_data().star_total, nodes=_data().stars[:first])

    @strawberry.field
    def posts(self, first: int | None = None) -> PostConnection:
        return PostConnection(nodes=_data().posts[:first])


# The API's DateTime format (gql/core/scalars.py), so the answers compare equal.
API_DATETIME = strawberry.scalar(name="DateTime", serialize=raw.api_datetime)


def build_schema(execution_context_class: Any = None) -> strawberry.Schema:
    """Stock Strawberry (or the API's execution context, for the per-field comparison)."""
    return strawberry.Schema(query=Query, extensions=[ParserCache, ValidationCache],
                             config=StrawberryConfig(scalar_map={datetime: API_DATETIME}),
                             **({"execution_context_class": execution_context_class} if execution_context_class else {}))


async def load(db: raw.RawDB) -> Data:
    """Read everything once from the database (the raw driver) and keep it."""
    global DATA
    async with db.session() as s:
        DATA = Data(await raw.landing(s), await raw.posts_full(s, 100), await raw.faqs_full(s, 50))
    return DATA
