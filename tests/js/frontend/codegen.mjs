// GraphQL Code Generator, as a frontend's build runs it: typed documents (TypedDocumentNode) and the
// result and variables types of every operation the app sends, from the repository's schema.graphql.
// Documents are validated against the schema first, so a schema change that breaks one fails here.
// Also writes the schema's introspection, which Graphcache reads to know the schema (as the
// `urql-introspection` plugin would).
//
// usage: node frontend/codegen.mjs <schema.graphql> <document.graphql>...
// writes frontend/generated/graphql.ts and frontend/generated/introspection.json
import { codegen } from '@graphql-codegen/core';
import * as typedDocumentNode from '@graphql-codegen/typed-document-node';
import * as typescriptOperations from '@graphql-codegen/typescript-operations';
import { buildSchema, introspectionFromSchema, parse } from 'graphql';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [schemaPath, ...documentPaths] = process.argv.slice(2);
if (!schemaPath || documentPaths.length === 0) {
  console.error('usage: node frontend/codegen.mjs <schema.graphql> <document.graphql>...');
  process.exit(2);
}
const sdl = readFileSync(schemaPath, 'utf8');
const schema = buildSchema(sdl);
const out = join(dirname(fileURLToPath(import.meta.url)), 'generated');
mkdirSync(out, { recursive: true });

const code = await codegen({
  filename: join(out, 'graphql.ts'),
  schema: parse(sdl),
  schemaAst: schema,
  documents: documentPaths.map((location) => ({ location, document: parse(readFileSync(location, 'utf8')) })),
  config: {
    // An unknown scalar fails the build instead of becoming `any`.
    strictScalars: true,
    scalars: { Date: 'string', DateTime: 'string' },
    // Enums as unions of their string values: a `switch` over a code can be checked exhaustive.
    enumsAsTypes: true,
    useTypeImports: true,
  },
  // typescript-operations 6 writes the enums and inputs the documents use (the `typescript`
  // plugin's whole-schema types would declare them twice).
  plugins: [{ typescriptOperations: {} }, { typedDocumentNode: {} }],
  pluginMap: { typescriptOperations, typedDocumentNode },
});
writeFileSync(join(out, 'graphql.ts'), code);
writeFileSync(join(out, 'introspection.json'), JSON.stringify(introspectionFromSchema(schema)));
console.log(JSON.stringify({ generated: join(out, 'graphql.ts'), bytes: code.length }));
