"""The frontend's contract, tested the way a frontend team would (issue #12).

tests/js/frontend/ is a small frontend: the GraphQL documents its pages send
(`operations/*.graphql`, and the landing page's `gql/landing_page.graphql`), GraphQL Code Generator turning them and the repository's `schema.graphql`
into typed documents, and app code in strict TypeScript using urql with Graphcache (a normalized
cache keyed by `id`) and graphql-ws. Here codegen and `tsc` run first, so a schema change that
breaks a page's document or its types fails this module; then the compiled app runs against a
real uvicorn (each script prints one JSON report of what it saw, judged here):

- the landing page: one request, every section filled, and Graphcache stores and reads it back
  whole without a warning (a type it cannot key and the schema does not document as embedded
  warns); the same page in production, sent as a persisted query;
- "view all" ongoing issues, `first: 3`, while staff open issues between pages: every issue that
  existed throughout is shown exactly once;
- the Stars apply form: requirements checked with the answers typed, coded userErrors for bad
  ones, then an application the member's list and requirements show from the cache (refreshed
  by the payload's `viewer`), without a refetch;
- an issue page kept live by `issueUpdated`: a moderator's update and another member's "I have
  this too" reach the mounted page through the cache; unknown and resolved issues are refused
  with a code.

The npm packages are those pinned in tests/js/package-lock.json, installed once per session by
the `node` fixture of tests/test_js_clients.py (shared: one `npm ci` for both modules).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import pytest
import pytest_asyncio

from models.accounts import Role
from models.issues import Issue
from models.audit import ModerationAction, TargetKind
from models.stars import StarApplication
from tests.factories import make_issue, make_user, token_for
from tests.live_server import ROOT, live_server
from tests.test_js_clients import CLIENTS, node  # noqa: F401  (the fixture: the session's one `npm ci`)
from tests.test_star_applications import eligible_member, form

pytestmark = [pytest.mark.slow, pytest.mark.only_on("sqlite"), pytest.mark.usefixtures("leave_queues_as_found")]

FRONTEND = CLIENTS / "frontend"
CODEGEN = "frontend/codegen.mjs"
TSC = str(CLIENTS / "node_modules" / "typescript" / "bin" / "tsc")
SCHEMA = ROOT / "schema.graphql"
LANDING_PAGE = ROOT / "gql" / "landing_page.graphql"
UNKEYED = re.compile(r"create a custom `keys` config for `(\w+)`")


def cache_warnings(report: dict[str, Any]) -> set[str]:
    """What Graphcache warned about: the name of each type it could not key (warning 15: no `id`
    and not documented as embedded), and any other warning whole."""
    return {match.group(1) if (match := UNKEYED.search(warning)) else warning for warning in report["cacheWarnings"]}


def built_output(finished: subprocess.CompletedProcess[str]) -> str:
    return f"{' '.join(map(str, finished.args))}\n{finished.stdout}\n{finished.stderr}"


@dataclass(frozen=True)
class Built:
    """The frontend, built: the node that runs it, the folder it was built in (a copy of tests/js
    with its node_modules), and how long each build step took."""

    node: str
    clients: Path
    took: dict[str, float]


@pytest.fixture(scope="module")
def frontend(node: str, tmp_path_factory: pytest.TempPathFactory) -> Built:  # noqa: F811  (the imported fixture)
    """The frontend built as its CI builds it: codegen from schema.graphql, then strict `tsc`, in a
    copy (so that runs at once, or a failed build, never leave files in the working tree)."""
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < 20:
        pytest.skip(f"frontend contract tests skipped: they need Node 20+ (graphql-ws 6), this is {version}")
    clients = copy_of_the_frontend(tmp_path_factory.mktemp("frontend"))
    took: dict[str, float] = {}
    started = time.monotonic()
    codegen = build_step(node, clients, CODEGEN, str(SCHEMA), *documents(clients))
    took["codegen"] = time.monotonic() - started
    assert codegen.returncode == 0, f"codegen refused the frontend's documents:\n{built_output(codegen)}"
    started = time.monotonic()
    tsc = build_step(node, clients, TSC, "-p", "frontend/tsconfig.json")
    took["tsc"] = time.monotonic() - started
    assert tsc.returncode == 0, f"the frontend no longer type-checks against the schema:\n{built_output(tsc)}"
    return Built(node, clients, took)


def copy_of_the_frontend(folder: Path) -> Path:
    """tests/js/frontend's sources in `folder`/js/frontend, beside a link to the installed
    node_modules and the package.json whose `"type": "module"` the app is compiled for."""
    clients = folder / "js"
    shutil.copytree(FRONTEND, clients / "frontend", ignore=shutil.ignore_patterns("dist", "generated"))
    shutil.copy(CLIENTS / "package.json", clients / "package.json")
    (clients / "node_modules").symlink_to(CLIENTS / "node_modules")
    return clients


def documents(clients: Path) -> list[str]:
    """The frontend's operations, and the landing page's: the project's own document (GraphiQL's
    default query, which the budgets and statement counts measure), not a copy of it."""
    own = sorted(str(path) for path in (clients / "frontend" / "operations").glob("*.graphql"))
    return [*own, str(LANDING_PAGE)]


def build_step(node: str, clients: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """`node <command>` in `clients` (a copy of tests/js)."""
    return subprocess.run([node, *command], cwd=clients, capture_output=True, text=True, timeout=120)


def run(frontend: Built, script: str, **arguments: Any) -> dict[str, Any]:
    """What the compiled app script reports (its last line of output)."""
    finished = subprocess.run([frontend.node, f"frontend/dist/src/{script}.js", json.dumps(arguments)], cwd=frontend.clients,
                              capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, f"{script} failed:\n{finished.stdout}\n{finished.stderr}"
    return json.loads(finished.stdout.strip().splitlines()[-1])


@pytest_asyncio.fixture(scope="module", loop_scope="session", autouse=True)
async def leave_issues_as_found(db: str) -> AsyncIterator[None]:
    """Delete, when the module ends, the issues it opened (with their updates and marks): later
    modules read the seed's first pages."""
    latest = await Issue.all().order_by("-id").first()
    yield
    await Issue.filter(id__gt=latest.pk if latest else 0).delete()


@pytest.fixture(scope="module")
def development(db: str, db_url: str) -> Iterator[str]:
    with live_server(db_url, APP_ENV="development", SEED_ON_START="false") as base:
        yield f"{base}/graphql"


@pytest.fixture(scope="module")
def production(db: str, db_url: str) -> Iterator[str]:
    with live_server(db_url, APP_ENV="production") as base:
        yield f"{base}/graphql"


async def staff_token() -> str:
    return await token_for(await make_user("fe_staff", Role.MODERATOR))


def test_codegen_and_strict_typescript_accept_the_frontend(frontend: Built) -> None:
    """The build itself (in the fixture): the documents validate against schema.graphql and the
    app compiles with `strict`; a generated type per operation, enums as string unions."""
    generated = (frontend.clients / "frontend" / "generated" / "graphql.ts").read_text()
    for operation in ("LandingPageQuery", "OngoingIssuesPageQuery", "StarsEligibilityQuery", "ApplyToStarsMutation",
                      "IssuePageQuery", "MarkAffectedMutation", "IssueLiveSubscription"):
        assert f"export type {operation} = " in generated
    assert "export const IssueLiveDocument = " in generated
    print(f"codegen {frontend.took['codegen']:.1f} s, tsc {frontend.took['tsc']:.1f} s")


@pytest.mark.parametrize(("change", "failing_step", "named"), [
    # A field a page selects is renamed: codegen validates the documents and names the field.
    pytest.param(("  latestUpdate: IssueUpdate\n", "  newestUpdate: IssueUpdate\n"), "codegen", "latestUpdate",
                 id="a-selected-field-renamed"),
    # A requirement is added: the documents still validate, but the apply form's exhaustive
    # `switch` over RequirementCode no longer compiles until it handles the new code.
    pytest.param(("enum RequirementCode {\n", "enum RequirementCode {\n  SPEAKS_TWO_LANGUAGES\n"), "tsc",
                 "SPEAKS_TWO_LANGUAGES", id="a-requirement-code-added"),
])
def test_a_schema_change_that_breaks_the_frontend_fails_its_build(
        frontend: Built, tmp_path: Path, change: tuple[str, str], failing_step: str, named: str) -> None:
    """The refusals of the build: on a copy of the frontend (its node_modules linked), against
    schema.graphql with one change a page cannot take."""
    copy = copy_of_the_frontend(tmp_path)
    schema = SCHEMA.read_text()
    assert schema.count(change[0]) == 1, f"the schema no longer has {change[0]!r}: update this test's change"
    (tmp_path / "changed.graphql").write_text(schema.replace(*change))

    codegen = build_step(frontend.node, copy, CODEGEN, str(tmp_path / "changed.graphql"),
                         *documents(copy))
    if failing_step == "codegen":
        assert codegen.returncode != 0 and named in codegen.stdout + codegen.stderr, built_output(codegen)
        return
    assert codegen.returncode == 0, built_output(codegen)
    tsc = build_step(frontend.node, copy, TSC, "-p", "frontend/tsconfig.json", "--noEmit")
    assert tsc.returncode != 0 and named in tsc.stdout + tsc.stderr, built_output(tsc)


def landing_page_rendered(report: dict[str, Any]) -> None:
    """Every section filled, every date in the one shape the schema promises."""
    assert report["error"] is None
    empty = [section for section, shown in report["sections"].items() if shown == 0]
    assert empty == [], f"sections the landing page would show empty: {empty}"
    assert report["dates"] > 10 and report["unlikeToISOString"] == []


def test_landing_page_is_one_request_and_the_normalized_cache_keys_all_of_it(frontend: Built, development: str) -> None:
    report = run(frontend, "landing", endpoint=development)
    landing_page_rendered(report)
    assert [(r["operationName"], r["status"]) for r in report["requests"]] == [("LandingPage", 200)]
    # Read back from the cache alone, the page is whole and the same.
    assert report["cachedIsStale"] is False and report["cached"] == report["data"]
    assert cache_warnings(report) == set()


def test_landing_page_in_production_as_a_persisted_query(frontend: Built, production: str) -> None:
    """The production build sends hashes (@urql/exchange-persisted): the first visit registers the
    document, and the page is as full as in development."""
    first, again = (run(frontend, "landing", endpoint=production, persisted=True) for _ in range(2))
    for report in (first, again):
        landing_page_rendered(report)
        assert cache_warnings(report) == set()
    sent = [[(r["method"], r["sentQuery"], r["status"]) for r in report["requests"]] for report in (first, again)]
    # A hash-only GET, then (unless the hash is known already) the document once, by POST: it is
    # longer than urql puts in a URL. A later visitor sends the hash alone.
    assert sent[0] in ([("GET", False, 200), ("POST", True, 200)], [("GET", False, 200)])
    assert sent[1] == [("GET", False, 200)] and again["data"] == first["data"]


async def test_view_all_pages_show_every_issue_once_while_issues_are_opened(frontend: Built, development: str) -> None:
    for _ in range(4):  # at least three pages of three, whatever the seed holds
        await make_issue()
    report = run(frontend, "view-all", endpoint=development, staffToken=await staff_token(), pageSize=3)
    assert report["error"] is None and report["insertErrors"] == []
    pages, before = report["pages"], report["before"]
    seen = [number for page in pages for number in page]
    assert len(pages) >= 3 and all(len(page) == 3 for page in pages[:-1])
    assert len(report["inserted"]) == len(pages) - 1  # one issue opened between every two pages
    # Every issue that existed throughout, once and in order; the new ones sort before the cursor.
    assert seen == before
    assert not set(report["inserted"]) & set(seen)
    # What the list shows is the pages merged in the cache (relayPagination), one request a page.
    assert report["shown"] == seen and report["requests"] == len(pages)
    # Staff opened them through the API: each is audited.
    opened = await Issue.filter(number__in=report["inserted"]).values_list("id", flat=True)
    assert await ModerationAction.filter(target_kind=TargetKind.ISSUE, target_id__in=opened, action="CREATE").count() == \
        len(report["inserted"])
    # A cursor kept from another order (the visitor switched the sort) is refused, not misread.
    assert report["foreignCursor"] == {"data": None, "code": "BAD_USER_INPUT"}
    assert cache_warnings(report) == set()


async def test_apply_form_refuses_bad_answers_with_codes_then_lists_the_application_from_the_cache(
        frontend: Built, development: str) -> None:
    member, token = await eligible_member("fe_applicant")
    good = form()["input"]
    under_18 = str(date.today() - timedelta(days=17 * 365))
    bad = form(dateOfBirth=under_18, weeklyMinutes=0, motivation="Because.")["input"]
    report = run(frontend, "apply", endpoint=development, token=token, good=good, bad=bad)

    answers_checked = {"AGE_18_PLUS", "WEEKLY_MINUTES", "MOTIVATION"}
    assert report["sidebarBefore"] == []
    blank = report["blank"]
    assert blank["error"] is None and blank["applicationsOpen"] is True and blank["eligible"] is True
    assert {code for code, status in blank["statuses"].items() if status == "CHECKED_ON_APPLY"} == answers_checked
    assert report["typedBad"]["eligible"] is False
    assert {code for code, status in report["typedBad"]["statuses"].items() if status == "UNMET"} == answers_checked
    assert report["typedGood"]["eligible"] is True and "UNMET" not in report["typedGood"]["statuses"].values()

    refused = report["refused"]
    assert refused["error"] is None and refused["application"] is None
    # Each refusal is shown under the field the requirement check pointed at while typing.
    assert sorted(report["typedBad"]["unmetFields"]) == ["dateOfBirth", "motivation", "weeklyMinutes"]
    assert sorted((e["code"], e["field"], e["shownUnder"]) for e in refused["userErrors"]) == [
        ("AGE_18_PLUS", ["input", "dateOfBirth"], "dateOfBirth"), ("MOTIVATION", ["input", "motivation"], "motivation"),
        ("WEEKLY_MINUTES", ["input", "weeklyMinutes"], "weeklyMinutes")]
    accepted = report["accepted"]
    assert accepted["error"] is None and accepted["userErrors"] == []
    assert accepted["application"]["status"] == "SUBMITTED"
    # The refused submission stored nothing; the accepted one is the member's only application.
    assert await StarApplication.filter(user_id=member.pk).count() == 1

    # Read from the cache alone, refreshed by the payload's `viewer`: the sidebar lists the new
    # application and the requirements say it is open, with no request after the mutation.
    listed = [application["id"] for application in report["sidebarAfter"]]
    assert listed == [accepted["application"]["id"]]
    assert report["requirementsAfter"]["NO_OPEN_APPLICATION"] == "UNMET"
    assert report["requestsAfter"] == 0
    assert cache_warnings(report) == set()


async def test_issue_page_follows_updates_and_marks_live_through_the_cache(frontend: Built, development: str) -> None:
    subscriber, marker = [await token_for(await make_user(prefix)) for prefix in ("fe_watcher", "fe_marker")]
    report = run(frontend, "issue-live", endpoint=development, staffToken=await staff_token(),
                 subscriberToken=subscriber, markerToken=marker)
    assert report["updateRefused"] is None and report["markErrors"] == [] and report["resolveRefused"] is None
    assert report["loaded"]["affectedCount"] == 0 and report["loaded"]["status"] == "INVESTIGATING"
    # Each state the mounted page showed, reached through issueUpdated alone: no HTTP request.
    assert report["afterUpdate"] == {"status": "IDENTIFIED", "affectedCount": 0, "viewerIsAffected": False,
                                     "latestUpdate": "We found the cause: a fix ships with 9.1."}
    assert report["afterMark"] == {**report["afterUpdate"], "affectedCount": 1}
    assert report["afterResolve"] == {**report["afterMark"], "status": "RESOLVED", "latestUpdate": "Fixed in 9.1."}
    assert report["httpDuringLive"] == 0
    assert [event["affectedCount"] for event in report["events"]] == [0, 1, 1]
    assert (await Issue.get(number=report["issue"]["number"])).affected_count == 1
    # Refusals end the subscription with a code and no data.
    assert report["unknown"] == {"data": None, "code": "NOT_FOUND"}
    assert report["resolved"] == {"data": None, "code": "RESOLVED"}
    assert cache_warnings(report) == set()
