/**
 * Bundles the real reconcile Lambda with esbuild's JS API and the very options the stack gives
 * NodejsFunction (infra/constructs/route-sync.ts), then loads the bundle under the project's Node 22 with a
 * minimal environment and the network cut off: it must start, export `handler`, and make no call on import.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { RECONCILE_BUNDLE, ROOT, reconcileBundling, reconcileEsbuildOptions } from '../../infra/constructs/route-sync.js';

// Any socket opened while the module loads (an AWS call, a Kubernetes call, a metadata lookup) ends the process.
const NO_NETWORK = `data:text/javascript,${encodeURIComponent(
  "import net from 'node:net'; net.Socket.prototype.connect = function () { process.stderr.write('network call during module load\\n'); process.exit(3); };",
)}`;

let dir: string;
let outfile: string;
let metafile: Metafile;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ehr-bundle-'));
  outfile = join(dir, 'index.mjs');
  const result = await build({ ...reconcileEsbuildOptions(outfile), metafile: true });
  expect(result.errors).toEqual([]);
  metafile = result.metafile!;
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the stack bundles with the same options (one source)', () => {
  expect(reconcileBundling).toMatchObject({
    format: 'esm',
    target: RECONCILE_BUNDLE.target,
    // Whitespace and syntax minified, identifiers not (readable stack traces without a runtime source map).
    minify: false,
    esbuildArgs: { '--minify-whitespace': true, '--minify-syntax': true },
    sourceMap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    banner: RECONCILE_BUNDLE.banner,
    bundleAwsSDK: true,
    externalModules: [],
  });
});

test('everything but Node built-ins is in the bundle, the AWS SDK included', () => {
  const output = metafile.outputs[Object.keys(metafile.outputs).find((name) => name.endsWith('index.mjs'))!]!;
  const external = output.imports.filter((entry) => entry.external).map((entry) => entry.path);
  const builtin = (path: string) => path.startsWith('node:') || isBuiltin(path);
  // ws (under @kubernetes/client-node) tries these optional native add-ons in a try/catch and falls back to
  // plain JavaScript: esbuild leaves such requires alone, and in the Lambda they fail and are caught.
  const OPTIONAL_NATIVE = ['bufferutil', 'utf-8-validate'];
  expect(external.filter((path) => !builtin(path) && !OPTIONAL_NATIVE.includes(path))).toEqual([]);
  const inputs = Object.keys(metafile.inputs);
  expect(inputs.some((input) => input.includes('node_modules/@aws-sdk/client-ec2/'))).toBe(true);
  expect(inputs.some((input) => input.includes('node_modules/@kubernetes/client-node/'))).toBe(true);
  expect(statSync(`${outfile}.map`).size).toBeGreaterThan(0);
});

test('our code imports nothing lazily: everything the first invocation needs is loaded at module init', () => {
  // Without code splitting, esbuild wraps a dynamically imported module and everything under it in lazy
  // initialisers; it cannot tree-shake inside them (the EC2 and SSM clients came with every command), and the
  // loading moves into the first invocation, out of sight of the module-init measurement (test/bench/bundle.ts).
  const lazy = Object.entries(metafile.inputs)
    .filter(([path]) => path.startsWith('functions/'))
    .flatMap(([path, input]) => input.imports.filter((entry) => entry.kind === 'dynamic-import' && !entry.external).map((entry) => `${path} → ${entry.path}`));
  expect(lazy).toEqual([]);
});

test('the bundle leaves out what the Lambda never runs', () => {
  const output = metafile.outputs[Object.keys(metafile.outputs).find((name) => name.endsWith('index.mjs'))!]!;
  const bundled = Object.keys(output.inputs);
  const unwanted = [
    // Powertools Parser's schemas for the other AWS event sources (functions/handlers/events.ts imports two subpaths).
    /node_modules\/@aws-lambda-powertools\/parser\/lib\/esm\/schemas\/(?!(eventbridge|sqs)\.js$)/,
    // client-node's exec/attach/cp/port-forward and their dependencies (functions/adapters/kubernetes.ts).
    /node_modules\/@kubernetes\/client-node\/dist\/(index|exec|attach|cp|portforward|web-socket-handler)\.js$/,
    /node_modules\/(ws|tar-fs|tar-stream)\//,
  ];
  expect(bundled.filter((path) => unwanted.some((pattern) => pattern.test(path)))).toEqual([]);
  expect(bundled).toEqual(expect.arrayContaining(['node_modules/@aws-lambda-powertools/parser/lib/esm/schemas/eventbridge.js', 'node_modules/@aws-lambda-powertools/parser/lib/esm/schemas/sqs.js']));
  // The generated CoreV1Api (≈ 900 KiB) is the teardown's: the reconciler reads a Node through client-node's request layer.
  expect(output.inputs['node_modules/@kubernetes/client-node/dist/gen/apis/CoreV1Api.js']?.bytesInOutput ?? 0).toBe(0);
  expect(output.inputs['node_modules/@kubernetes/client-node/dist/gen/apis/CustomObjectsApi.js']?.bytesInOutput).toBeGreaterThan(0);
});

test('our code imports zod as a namespace, the one form esbuild tree-shakes', () => {
  // zod's index re-exports a namespace as `z`; esbuild keeps all of it (every locale, the JSON-schema converters,
  // ≈ 430 KiB) for a single `import { z } from 'zod'`. Powertools' event schemas still use that form
  // (test/bench/bundle.ts measures what it costs).
  const functionsDir = join(ROOT, 'functions');
  const sources = readdirSync(functionsDir, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => ({ path, text: readFileSync(join(functionsDir, path), 'utf8') }));
  expect(sources.filter(({ text }) => /import\s*\{[^}]*\bz\b[^}]*\}\s*from\s*'zod'/.test(text)).map(({ path }) => path)).toEqual([]);
  expect(sources.filter(({ text }) => text.includes("import * as z from 'zod';")).length).toBeGreaterThan(0);
});

test('the bundle loads on the project Node without network and exports handler', () => {
  const script = `import(${JSON.stringify(pathToFileURL(outfile).href)}).then((m) => { if (typeof m.handler !== 'function') process.exit(1); })`;
  // As the runtime starts it: no --enable-source-maps (RUNTIME_ENVIRONMENT sets no NODE_OPTIONS).
  const result = spawnSync(process.execPath, ['--import', NO_NETWORK, '--input-type=module', '-e', script], {
    cwd: dir,
    // Minimal: what the Lambda runtime sets that matters here, no credentials.
    env: { AWS_REGION: 'us-west-2', AWS_LAMBDA_FUNCTION_NAME: 'ReconcileFunction', TZ: 'UTC', POWERTOOLS_SERVICE_NAME: 'eks-hybrid-routes', POWERTOOLS_METRICS_NAMESPACE: 'EksHybridRoutes' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  expect(process.versions.node.split('.')[0]).toBe('22');
});
