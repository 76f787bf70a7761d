// An issue's page kept live: the page is read once over HTTP, then `issueUpdated` (graphql-ws over
// a real WebSocket) refreshes the normalized Issue, so the mounted page shows a moderator's
// update and another member's "I have this too" without a refetch. Unknown and resolved issues
// end the subscription with a coded error.
import type { CombinedError } from '@urql/core';
import { CreateIssueDocument, IssueLiveDocument, IssuePageDocument, MarkAffectedDocument, PostIssueUpdateDocument,
  type IssueStatus } from '../generated/graphql.js';
import { appClient, args, otherPerson, report, sleep, waitFor } from './client.js';

const { endpoint, subscriberToken, markerToken, staffToken } = args<{
  endpoint: string; subscriberToken: string; markerToken: string; staffToken: string;
}>();
const staff = otherPerson(endpoint, staffToken);
const marker = otherPerson(endpoint, markerToken);
const code = (error: CombinedError | undefined) => error?.graphQLErrors[0]?.extensions.code ?? error?.message ?? null;

const created = await staff.mutation(CreateIssueDocument, { input: {
  title: 'Lyrics do not scroll', description: 'The lyrics view stays on the first line.', platforms: ['IOS'] } }).toPromise();
const issue = created.data?.createIssue.issue;
if (!issue) throw new Error(`createIssue failed: ${JSON.stringify(created.error ?? created.data)}`);
const issueId = issue.id;

const app = appClient({ endpoint, token: subscriberToken });
const connected = new Promise<void>((resolve) => app.ws.on('connected', () => resolve()));
// The mounted page: a query source that emits again whenever the cache changes what it shows.
const page = app.client.query(IssuePageDocument, { number: issue.number });
const loaded = await waitFor(page, (result) => result.data !== undefined);
const httpBeforeLive = app.requests.length;

const events: unknown[] = [];
const live = app.client.subscription(IssueLiveDocument, { number: issue.number }).subscribe((result) => {
  events.push(result.data?.issueUpdated ?? { error: code(result.error) });
});
await connected;
// The server registers the subscription after reading the issue, and says nothing when it has:
// give it time (generous: CI machines are busy), or the first event would be published before.
await sleep(1000);

async function staffUpdate(status: IssueStatus, body: string) {
  const posted = await staff.mutation(PostIssueUpdateDocument, { input: { issueId, status, body } }).toPromise();
  return posted.error?.message ?? posted.data?.postIssueUpdate.userErrors.map((e) => e.code).join() ?? null;
}
const updateBody = 'We found the cause: a fix ships with 9.1.';
const updateRefused = await staffUpdate('IDENTIFIED', updateBody);
const afterUpdate = await waitFor(page, (result) => result.data?.issue?.latestUpdate?.body === updateBody);

const marked = await marker.mutation(MarkAffectedDocument, { issueId }).toPromise();
const afterMark = await waitFor(page, (result) => result.data?.issue?.affectedCount === 1);
const httpDuringLive = app.requests.length - httpBeforeLive;

// Resolved while watched: the update arrives and the subscription stays open; a new one is refused.
const resolveRefused = await staffUpdate('RESOLVED', 'Fixed in 9.1.');
const afterResolve = await waitFor(page, (result) => result.data?.issue?.status === 'RESOLVED');

live.unsubscribe(); // the page closes: a new subscription to the issue is a new operation, not this one
async function refusal(number: number) {
  const first = await waitFor(app.client.subscription(IssueLiveDocument, { number }), () => true);
  return { data: first?.data ?? null, code: code(first?.error) };
}
const unknown = await refusal(999_999);
const resolved = await refusal(issue.number);

const card = (result: typeof loaded) => {
  const shown = result?.data?.issue;
  return shown ? { status: shown.status, affectedCount: shown.affectedCount, viewerIsAffected: shown.viewerIsAffected,
    latestUpdate: shown.latestUpdate?.body ?? null } : null;
};
report({
  issue,
  loaded: card(loaded),
  updateRefused: updateRefused || null,
  afterUpdate: card(afterUpdate),
  markErrors: marked.error?.message ?? marked.data?.markIssueAffected.userErrors.map((e) => e.code) ?? null,
  afterMark: card(afterMark),
  httpDuringLive,
  resolveRefused: resolveRefused || null,
  afterResolve: card(afterResolve),
  events,
  unknown,
  resolved,
});
await app.close();
