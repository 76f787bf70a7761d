// The /graphql page: GraphiQL 5 on the schema the server publishes, with no introspection.
// Bundled by scripts/vendor_graphiql.py (esbuild) into gql/http/static/graphiql/graphiql.js.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import { buildSchema } from "graphql";
import { createClient } from "graphql-ws";
import { createElement } from "react";
import { createRoot } from "react-dom/client";

// Monaco runs its language services in web workers: each is a file of this server (no blob:, no CDN).
const workers = { json: "json.worker.js", graphql: "graphql.worker.js" };
const here = new URL(".", document.currentScript.src);
globalThis.MonacoEnvironment = {
  getWorker: (_workerId, label) => new Worker(new URL(workers[label] || "editor.worker.js", here)),
};

// GraphiQL's history stores each run's headers in localStorage even with shouldPersistHeaders
// off, so a bearer token typed in the Headers tab would outlive the tab: history is stored
// without its headers (the tabs are already stored without theirs).
const ours = (key) => key.startsWith("graphiql:");
const storage = {
  getItem: (key) => localStorage.getItem(key),
  setItem(key, value) {
    if (/:(queries|favorites)$/.test(key)) {
      const stored = JSON.parse(value);
      for (const item of stored.queries || []) delete item.headers;
      value = JSON.stringify(stored);
    }
    localStorage.setItem(key, value);
  },
  removeItem: (key) => localStorage.removeItem(key),
  clear: () => Object.keys(localStorage).filter(ours).forEach((key) => localStorage.removeItem(key)),
  get length() {
    return Object.keys(localStorage).filter(ours).length;
  },
};

async function boot() {
  const config = JSON.parse(document.getElementById("graphiql-config").textContent);
  const root = document.getElementById("graphiql");
  // The schema comes from the published SDL: GraphiQL given a GraphQLSchema never introspects.
  let schema;
  try {
    const response = await fetch(config.schemaUrl, { headers: { accept: "text/plain" } });
    if (!response.ok) throw new Error("HTTP " + response.status);
    schema = buildSchema(await response.text());
  } catch (error) {
    root.textContent = "Could not load the schema from " + config.schemaUrl + ": " + error.message;
    return;
  }
  const endpoint = new URL(config.endpoint, window.location.href);
  const socket = new URL(endpoint.href);
  socket.protocol = socket.protocol === "https:" ? "wss:" : "ws:";
  const fetcher = createGraphiQLFetcher({
    url: endpoint.href,
    wsClient: createClient({ url: socket.href, lazy: true }),
  });
  root.textContent = "";
  createRoot(root).render(
    createElement(GraphiQL, {
      fetcher,
      schema,
      storage,
      defaultQuery: config.defaultQuery,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    }),
  );
}

boot();
