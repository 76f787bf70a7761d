// esbuild the /graphql page (src/graphiql.js) and Monaco's web workers into OUTDIR, with
// THIRD_PARTY_LICENSES.txt: the licence file of every npm package the bundles contain.
// Run by scripts/vendor_graphiql.py after `npm ci`: the same lockfile gives the same bytes.
// Prints {"package name": "version"} of the bundled packages as JSON.
import { build } from "esbuild";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const outdir = process.argv[2];
if (!outdir) throw new Error("usage: node build.mjs OUTDIR");

const result = await build({
  absWorkingDir: here,
  entryPoints: ["src/graphiql.js", "src/editor.worker.js", "src/json.worker.js", "src/graphql.worker.js"],
  outdir,
  entryNames: "[name]",
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  charset: "utf8",
  legalComments: "none", // the packages' licence files are collected below instead
  loader: { ".ttf": "dataurl", ".woff": "dataurl", ".woff2": "dataurl" },
  define: { "process.env.NODE_ENV": '"production"' },
  metafile: true,
  logLevel: "warning",
});

// Every package with a file in any output, by its folder: the package-lock.json key, which tells
// a copy nested under another package (node_modules/a/node_modules/b) from the top-level one.
const folders = new Set();
for (const output of Object.values(result.metafile.outputs)) {
  for (const input of Object.keys(output.inputs)) {
    const match = input.match(/^(?:.*\/)?node_modules\/(?:@[^/]+\/)?[^/]+(?=\/)/);
    if (match) folders.add(match[0]);
  }
}
const bundled = {};
const sections = [];
for (const folder of [...folders].sort()) {
  const pkg = JSON.parse(readFileSync(join(here, folder, "package.json"), "utf8"));
  if (!pkg.license) throw new Error(`${folder}: ${pkg.name}@${pkg.version} declares no licence`);
  const licenceFile = readdirSync(join(here, folder)).filter((file) => /^(licen[cs]e|copying)/i.test(file)).sort()[0];
  const text = licenceFile
    ? readFileSync(join(here, folder, licenceFile), "utf8").trim()
    : `The package publishes no licence file; its package.json declares "${pkg.license}".`;
  bundled[folder] = { name: pkg.name, version: pkg.version, license: pkg.license };
  sections.push(`${pkg.name}@${pkg.version} (${pkg.license})\n\n${text}\n`);
}
writeFileSync(join(outdir, "THIRD_PARTY_LICENSES.txt"),
  "Licences of the npm packages bundled into the files of this folder.\n\n" + sections.join("\n" + "-".repeat(72) + "\n\n"));
process.stdout.write(JSON.stringify(bundled));
