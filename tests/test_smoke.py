from tests.support import GraphQLClient


async def test_viewer_is_anonymous_without_a_token(client: GraphQLClient) -> None:
    data = await client.query("{ viewer { isAuthenticated user { handle } role } }")
    assert data == {"viewer": {"isAuthenticated": False, "user": None, "role": None}}


async def test_announcements_connection_shape(client: GraphQLClient) -> None:
    data = await client.query("{ announcements(first: 2) { totalCount pageInfo { hasNextPage } nodes { id title } } }")
    assert data["announcements"]["totalCount"] >= 0
