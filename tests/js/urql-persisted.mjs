// urql with @urql/exchange-persisted at its defaults: a hash-only GET first; on
// PersistedQueryNotFound a GET with the query text and hash (the registration); then hash-only.
import { Client, cacheExchange, fetchExchange, gql } from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
import { endpoint, fresh, recordingFetch, report } from './recording.mjs';

const { fetchFn, requests } = recordingFetch();
const client = new Client({ url: endpoint, exchanges: [cacheExchange, persistedExchange(), fetchExchange], fetch: fetchFn });
const query = gql(`query ${fresh('UrqlPersisted')} { faqs(first: 2) { nodes { slug } } }`);
const runs = [];
for (const _ of ['first', 'again']) {
  const before = requests.length;
  // network-only: the second run must reach the server, not urql's own document cache.
  const result = await client.query(query, {}, { requestPolicy: 'network-only' }).toPromise();
  runs.push({ data: result.data ?? null, error: result.error?.message ?? null, requests: requests.slice(before) });
}
report({ runs });
