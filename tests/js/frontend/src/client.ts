// The frontend's GraphQL client, as the app sets it up: urql with Graphcache (a normalized cache,
// entities keyed by `id`, aware of the schema through its introspection), relay pagination for
// "view all" lists, graphql-ws for subscriptions; plus what the contract tests need to watch it:
// every HTTP request it makes, and every warning Graphcache logs.
import { Client, fetchExchange, subscriptionExchange, type Exchange, type OperationResult,
  type OperationResultSource } from '@urql/core';
import { cacheExchange, type KeyingConfig } from '@urql/exchange-graphcache';
import { relayPagination } from '@urql/exchange-graphcache/extras';
import { persistedExchange } from '@urql/exchange-persisted';
import type { IntrospectionObjectType, IntrospectionQuery } from 'graphql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

/** The schema as codegen saw it (frontend/generated/introspection.json). */
export const introspection = JSON.parse(
  readFileSync(new URL('../../generated/introspection.json', import.meta.url), 'utf8')) as IntrospectionQuery;

/**
 * Object types without an `id` whose description ends with `note` ("Embedded value:" or
 * "Singleton:", gql/documented.py). Embedded ones Graphcache stores inside their parent, on
 * purpose; a singleton (one per request: `Viewer`) is keyed by its type alone, so that a mutation
 * payload's `viewer` refreshes the `viewer` every page read. Every other type must be keyable by
 * `id`, or Graphcache warns, and the tests fail on the warning.
 */
export function unkeyedTypes(schema: IntrospectionQuery, note: 'Embedded value:' | 'Singleton:'): string[] {
  const roots = new Set([schema.__schema.queryType?.name, schema.__schema.mutationType?.name,
    schema.__schema.subscriptionType?.name]);
  return schema.__schema.types
    .filter((type): type is IntrospectionObjectType => type.kind === 'OBJECT')
    .filter((type) => !type.name.startsWith('__') && !roots.has(type.name))
    .filter((type) => !type.fields.some((field) => field.name === 'id'))
    .filter((type) => (type.description ?? '').includes(note))
    .map((type) => type.name);
}

export function embeddedTypes(schema: IntrospectionQuery): string[] {
  return unkeyedTypes(schema, 'Embedded value:');
}

/** What Graphcache logged at `warn` or `error` (missing keys, fields unknown to the schema, ...). */
export const cacheWarnings: string[] = [];

export interface RecordedRequest {
  method: string;
  operationName: string | null;
  sentQuery: boolean;
  status: number;
  body: unknown;
}

export interface AppClient {
  client: Client;
  /** Every HTTP request the client made, in order, with the parsed answer. */
  requests: RecordedRequest[];
  /** The graphql-ws client subscriptions go through (it connects on the first one). */
  ws: WsClient;
  /** Closes the WebSocket, if one was opened. */
  close(): Promise<void>;
}

export interface ClientOptions {
  endpoint: string;
  token?: string | undefined;
  /** Register and send queries by hash (@urql/exchange-persisted), as the production build does. */
  persisted?: boolean;
}

function recordingFetch(requests: RecordedRequest[]): typeof fetch {
  return async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const method = (init?.method ?? 'GET').toUpperCase();
    const sent = method === 'GET'
      ? { query: url.searchParams.get('query'), operationName: url.searchParams.get('operationName') }
      : JSON.parse(String(init?.body ?? '{}')) as { query?: string; operationName?: string };
    const response = await fetch(input, init);
    const body: unknown = await response.clone().json().catch(() => null);
    requests.push({ method, operationName: sent.operationName ?? null, sentQuery: Boolean(sent.query),
      status: response.status, body });
    return response;
  };
}

/** The app's client for one visitor (signed in when `token` is given). */
export function appClient(options: ClientOptions): AppClient {
  const requests: RecordedRequest[] = [];
  const keys: KeyingConfig = {
    ...Object.fromEntries(embeddedTypes(introspection).map((name) => [name, () => null])),
    ...Object.fromEntries(unkeyedTypes(introspection, 'Singleton:').map((name) => [name, () => name])),
  };
  const cache = cacheExchange({
    schema: introspection,
    keys,
    resolvers: { Query: { ongoingIssues: relayPagination() } },
    logger: (severity, message) => {
      if (severity === 'warn' || severity === 'error') cacheWarnings.push(message);
    },
  });
  const authorization = options.token ? { Authorization: `Bearer ${options.token}` } : undefined;
  const ws = createWsClient({
    url: options.endpoint.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: authorization ?? {},
    lazy: true,
    retryAttempts: 0,
  });
  const exchanges: Exchange[] = [
    cache,
    ...(options.persisted ? [persistedExchange()] : []),
    fetchExchange,
    subscriptionExchange({
      forwardSubscription(request) {
        const operation = { ...request, query: request.query ?? '' };
        return { subscribe: (sink) => ({ unsubscribe: ws.subscribe(operation, sink) }) };
      },
    }),
  ];
  const client = new Client({
    url: options.endpoint,
    exchanges,
    fetch: recordingFetch(requests),
    ...(authorization ? { fetchOptions: { headers: authorization } } : {}),
  });
  return { client, requests, ws, close: async () => { await ws.dispose(); } };
}

/**
 * A plain client (no cache) signed in with `token`: another person acting meanwhile, a moderator
 * in the staff console or a second member, whose requests never touch the visitor's cache.
 */
export function otherPerson(endpoint: string, token: string): Client {
  return new Client({ url: endpoint, exchanges: [fetchExchange], preferGetMethod: false,
    fetchOptions: { headers: { Authorization: `Bearer ${token}` } } });
}

/**
 * The first result of `source` that `accept` accepts, as a mounted component would see it; null
 * after `timeoutMs` (reported as such: the tests assert on the result, not on the time).
 */
export function waitFor<Data, Variables extends Record<string, unknown>>(
  source: OperationResultSource<OperationResult<Data, Variables>>,
  accept: (result: OperationResult<Data, Variables>) => boolean,
  timeoutMs = 10_000,
): Promise<OperationResult<Data, Variables> | null> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: OperationResult<Data, Variables> | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Unsubscribing inside the callback that delivered the result: defer it a tick.
      setTimeout(() => subscription.unsubscribe(), 0);
      resolve(result);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    const subscription = source.subscribe((result) => {
      if (accept(result)) finish(result);
    });
  });
}

/** The run's arguments: one JSON object in argv[2]. */
export function args<T>(): T {
  const raw = process.argv[2];
  if (!raw) {
    console.error(`usage: node ${process.argv[1]} '<json arguments>'`);
    process.exit(2);
  }
  return JSON.parse(raw) as T;
}

/** One JSON line on stdout: what the run saw, for the Python test to judge. */
export function report(result: object): void {
  process.stdout.write(JSON.stringify({ ...result, cacheWarnings }) + '\n');
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
