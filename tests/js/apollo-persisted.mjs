// Apollo Client with its persisted-query link, hashed queries over GET: a hash-only GET first;
// on PersistedQueryNotFound a POST with the query text and hash; then hash-only GETs.
import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { endpoint, fresh, recordingFetch, report } from './recording.mjs';

const { fetchFn, requests } = recordingFetch();
const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const client = new ApolloClient({
  link: new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(new HttpLink({ uri: endpoint, fetch: fetchFn })),
  cache: new InMemoryCache(),
});
const query = gql(`query ${fresh('ApolloPersisted')} { faqs(first: 2) { nodes { slug } } }`);
const runs = [];
for (const _ of ['first', 'again']) {
  const before = requests.length;
  try {
    const result = await client.query({ query, fetchPolicy: 'network-only' });
    runs.push({ data: result.data ?? null, error: result.error?.message ?? null, requests: requests.slice(before) });
  } catch (error) {
    runs.push({ data: null, error: String(error?.message ?? error), requests: requests.slice(before) });
  }
}
report({ runs });
