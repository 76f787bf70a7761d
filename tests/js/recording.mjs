// Shared by the client scripts: the endpoint from argv, a fetch that records what each request
// carried (so the test can tell a hash-only GET from a registration), and one JSON report on stdout.

export const endpoint = process.argv[2];
if (!endpoint) {
  console.error(`usage: node ${process.argv[1]} http://host:port/graphql`);
  process.exit(2);
}

/** A name no server has seen: a new operation, so its persisted-query hash is unknown there. */
export const fresh = (prefix) => `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 10)}`;

/** globalThis.fetch, recording method, what the request sent (query text? hash?) and the answer's status and code. */
export function recordingFetch() {
  const requests = [];
  const fetchFn = async (input, init = {}) => {
    const url = new URL(typeof input === 'string' ? input : input.url);
    const method = (init.method || 'GET').toUpperCase();
    const sent = method === 'GET'
      ? { query: url.searchParams.get('query'), extensions: JSON.parse(url.searchParams.get('extensions') || 'null') }
      : JSON.parse(init.body || '{}');
    const response = await fetch(input, init);
    const answer = await response.clone().json().catch(() => null);
    requests.push({
      method,
      sentQuery: Boolean(sent.query),
      sentHash: Boolean(sent.extensions?.persistedQuery?.sha256Hash),
      status: response.status,
      contentType: response.headers.get('content-type'),
      code: answer?.errors?.[0]?.extensions?.code ?? null,
    });
    return response;
  };
  return { fetchFn, requests };
}

export function report(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
}
