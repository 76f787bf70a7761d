// The landing page: one operation renders every section, and Graphcache can store all of it
// normalized (and read it back whole) without a warning.
import { LandingPageDocument, type LandingPageQuery } from '../generated/graphql.js';
import { appClient, args, report } from './client.js';

const { endpoint, persisted } = args<{ endpoint: string; persisted?: boolean }>();
const app = appClient({ endpoint, persisted: persisted ?? false });
const result = await app.client.query(LandingPageDocument, {}).toPromise();
const data: LandingPageQuery | undefined = result.data;

/** How many items each section shows: what the page would render. */
const sections = data && {
  announcements: data.announcements.nodes.length,
  wizardOptions: data.helpWizard.firstStep.options.length,
  faqs: data.faqs.nodes.length,
  ongoingIssues: data.ongoingIssues.nodes.length,
  eligibility: data.starsProgram.eligibility.length,
  perks: data.starsProgram.perks.length,
  values: data.starsProgram.values.length,
  blogPosts: data.starsProgram.blogPosts.nodes.length,
  stars: data.stars.nodes.length,
  posts: data.posts.nodes.length,
};
// Every date the page shows, as its components format them: the schema promises one shape (UTC,
// milliseconds, `Z`), exactly what `Date.prototype.toISOString` writes back.
const dates = data ? [
  ...data.announcements.nodes.map((announcement) => announcement.publishedAt),
  ...data.ongoingIssues.nodes.flatMap((issue) => [issue.updatedAt, issue.latestUpdate?.postedAt]),
  ...data.starsProgram.blogPosts.nodes.map((post) => post.publishedAt),
  ...data.stars.nodes.map((star) => star.starSince),
].filter((value): value is string => typeof value === 'string') : [];
const unlikeToISOString = dates.filter((value) => Number.isNaN(Date.parse(value)) || new Date(value).toISOString() !== value);

// The page rendered again from the cache alone (a back navigation): whole, so not `stale` (the
// flag Graphcache sets on a partial result, when it refetches).
const again = app.client.readQuery(LandingPageDocument, {});
report({
  error: result.error?.message ?? null,
  sections: sections ?? null,
  dates: dates.length,
  unlikeToISOString,
  data: data ?? null,
  cached: again?.data ?? null,
  cachedIsStale: again?.stale ?? null,
  requests: app.requests.map(({ method, operationName, sentQuery, status }) => ({ method, operationName, sentQuery, status })),
});
await app.close();
