// "View all" ongoing issues, `first: 3` a page, newest first, while staff open new issues between
// pages: the cursor of a page's last item must lead to exactly the items after it, so every
// issue that existed throughout is shown once, whatever was inserted before the cursor.
import type { OperationResult } from '@urql/core';
import { CreateIssueDocument, OngoingIssuesPageDocument, type IssueOrder, type OngoingIssuesPageQuery }
  from '../generated/graphql.js';
import { appClient, args, otherPerson, report } from './client.js';

const { endpoint, staffToken, pageSize } = args<{ endpoint: string; staffToken: string; pageSize: number }>();
const orderBy: IssueOrder = 'NEWEST';
const staff = otherPerson(endpoint, staffToken);

const all = await staff.query(OngoingIssuesPageDocument, { first: 100, orderBy }, { requestPolicy: 'network-only' }).toPromise();
const before = all.data?.ongoingIssues.edges.map((edge) => edge.node.number) ?? [];

const visitor = appClient({ endpoint });
const pages: number[][] = [];
const inserted: number[] = [];
const insertErrors: string[] = [];
let after: string | null = null;
let shown: number[] = [];
let error: string | null = all.error?.message ?? null;
for (let page = 0; page < 20; page++) {
  // cache-first, as the "Show more" button sends it: only the new page goes to the server.
  const result: OperationResult<OngoingIssuesPageQuery> = await visitor.client.query(OngoingIssuesPageDocument, { first: pageSize, after, orderBy }).toPromise();
  if (result.error || !result.data) {
    error = result.error?.message ?? 'no data';
    break;
  }
  const served = visitor.requests.at(-1)?.body as { data: OngoingIssuesPageQuery } | undefined;
  pages.push(served?.data.ongoingIssues.edges.map((edge) => edge.node.number) ?? []);
  // What the list shows: relayPagination merges the pages into one list in the cache.
  shown = result.data.ongoingIssues.edges.map((edge) => edge.node.number);
  const { hasNextPage, endCursor } = result.data.ongoingIssues.pageInfo;
  if (!hasNextPage) break;
  after = endCursor;
  const created = await staff.mutation(CreateIssueDocument, { input: {
    title: `Opened while a visitor pages (${page + 1})`, description: 'Inserted between two pages.', platforms: ['WEB'] } }).toPromise();
  const issue = created.data?.createIssue.issue;
  if (issue) inserted.push(issue.number);
  else insertErrors.push(created.error?.message ?? JSON.stringify(created.data?.createIssue.userErrors));
}
const requests = visitor.requests.length;
// The visitor switches the sort while keeping the cursor: another order's cursor is refused.
const switched = await visitor.client.query(OngoingIssuesPageDocument, { first: pageSize, after, orderBy: 'MOST_AFFECTED' })
  .toPromise();
const foreignCursor = { data: switched.data ?? null, code: switched.error?.graphQLErrors[0]?.extensions.code ?? null };
report({ error, before, pages, shown, inserted, insertErrors, requests, foreignCursor });
await visitor.close();
