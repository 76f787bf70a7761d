// urql as its docs set it up (cacheExchange + fetchExchange, preferGetMethod left at its
// default): a query goes out as GET with its text in the URL.
import { Client, cacheExchange, fetchExchange, gql } from '@urql/core';
import { endpoint, fresh, recordingFetch, report } from './recording.mjs';

const { fetchFn, requests } = recordingFetch();
const client = new Client({ url: endpoint, exchanges: [cacheExchange, fetchExchange], fetch: fetchFn });
const query = gql(`query ${fresh('UrqlDefaults')} { faqs(first: 2) { nodes { slug } } }`);
const result = await client.query(query, {}).toPromise();
report({ data: result.data ?? null, error: result.error?.message ?? null, requests });
