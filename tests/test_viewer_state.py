"""What the viewer has done to each object (the state of a kudo, "I have this too", follow or
rating button), read in one statement per list, whatever its length."""

from __future__ import annotations

from tests.factories import gid, make_board, make_faq, make_issue, make_post, make_user, token_for
from tests.support import GraphQLClient, count_sql

POSTS = "query($author: String) { posts(author: $author, first: 50) { nodes { id viewerHasGivenKudo } } }"
ISSUE = "query($n: Int!) { issue(number: $n) { viewerIsAffected viewerIsSubscribed } }"
FAQ = "query($slug: String!) { faq(slug: $slug) { viewerRating } }"
FOLLOWED = "{ viewer { subscribedIssues(first: 10) { totalCount nodes { number viewerIsSubscribed } } } }"


async def test_kudo_state_per_post_in_one_statement(client: GraphQLClient) -> None:
    author, fan = await make_user("vs_author"), await make_user("vs_fan")
    board = await make_board("vs")
    posts = [await make_post(author, board) for _ in range(12)]
    token = await token_for(fan)
    give = "mutation($id: ID!) { giveKudo(input: {postId: $id}) { post { viewerHasGivenKudo } userErrors { code } } }"
    given = (await client.query(give, {"id": gid(posts[3])}, token=token))["giveKudo"]
    assert given == {"post": {"viewerHasGivenKudo": True}, "userErrors": []}

    page = (await client.query(POSTS, {"author": author.handle}, token=token))["posts"]["nodes"]
    assert {node["id"] for node in page if node["viewerHasGivenKudo"]} == {gid(posts[3])}
    anonymous = (await client.query(POSTS, {"author": author.handle}))["posts"]["nodes"]
    assert not any(node["viewerHasGivenKudo"] for node in anonymous)

    small = "query($author: String, $n: Int) { posts(author: $author, first: $n) { nodes { viewerHasGivenKudo } } }"
    counts = []
    for n in (2, 12):
        with count_sql() as sql:
            await client.query(small, {"author": author.handle, "n": n}, token=token)
        counts.append(sql.count)
    assert counts[0] == counts[1]


async def test_issue_marks_and_follows(client: GraphQLClient) -> None:
    issue, other = await make_issue(), await make_issue()
    token = await token_for(await make_user("vs_follower"))
    assert (await client.query(ISSUE, {"n": issue.number}, token=token))["issue"] == {
        "viewerIsAffected": False, "viewerIsSubscribed": False}
    for mutation in ("markIssueAffected", "subscribeToIssue"):
        query = "mutation($id: ID!) { %s(input: {issueId: $id}) { userErrors { code } } }" % mutation
        assert (await client.query(query, {"id": gid(issue)}, token=token))[mutation]["userErrors"] == []
    assert (await client.query(ISSUE, {"n": issue.number}, token=token))["issue"] == {
        "viewerIsAffected": True, "viewerIsSubscribed": True}
    assert (await client.query(ISSUE, {"n": other.number}, token=token))["issue"] == {
        "viewerIsAffected": False, "viewerIsSubscribed": False}
    # Another member's marks are theirs alone.
    stranger = await token_for(await make_user("vs_stranger"))
    assert (await client.query(ISSUE, {"n": issue.number}, token=stranger))["issue"]["viewerIsSubscribed"] is False
    assert (await client.query(ISSUE, {"n": issue.number}))["issue"]["viewerIsAffected"] is False

    followed = (await client.query(FOLLOWED, token=token))["viewer"]["subscribedIssues"]
    assert followed == {"totalCount": 1, "nodes": [{"number": issue.number, "viewerIsSubscribed": True}]}
    assert (await client.query(FOLLOWED))["viewer"]["subscribedIssues"] == {"totalCount": 0, "nodes": []}


async def test_faq_rating_is_null_until_rated_then_the_answer(client: GraphQLClient) -> None:
    faq = await make_faq()
    token = await token_for(await make_user("vs_rater"))
    assert (await client.query(FAQ, {"slug": faq.slug}, token=token))["faq"]["viewerRating"] is None
    rate = "mutation($id: ID!, $yes: Boolean!) { rateFaq(input: {faqId: $id, helpful: $yes}) { faq { viewerRating } } }"
    assert (await client.query(rate, {"id": gid(faq), "yes": True}, token=token))["rateFaq"]["faq"]["viewerRating"] is True
    await client.query(rate, {"id": gid(faq), "yes": False}, token=token)
    assert (await client.query(FAQ, {"slug": faq.slug}, token=token))["faq"]["viewerRating"] is False
    assert (await client.query(FAQ, {"slug": faq.slug}))["faq"]["viewerRating"] is None
