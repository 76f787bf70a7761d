// The graphql-http package's GraphQL-over-HTTP audit suite, as its maintainers run it on servers.
import { serverAudits } from 'graphql-http';
import { endpoint, report } from './recording.mjs';

const results = [];
for (const audit of serverAudits({ url: endpoint, fetchFn: fetch })) {
  const result = await audit.fn();
  results.push({ id: result.id, name: result.name, status: result.status, reason: result.reason ?? null });
}
report({ results });
