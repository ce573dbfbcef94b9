/**
 * Bundles the real reconcile Lambda with esbuild's JS API and the very options (and plugins) the stack bundles
 * it with (infra/bundling.ts), then loads the bundle under the project's Node 22 with a minimal environment and
 * the network cut off: it must start, export `handler`, and make no call on import. The stack's own bundling
 * (a child process, as `cdk synth` runs it) must produce the same files. The bundles are code-split: the entry
 * `index.mjs`, the chunks it imports statically (module init loads them too), and chunks only an `import()` loads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { build, type Metafile } from 'esbuild';
import { BUNDLE_FILE, BUNDLE_PLUGINS, bundledFunctionCode, functionEsbuildOptions, importZodAsNamespace } from '../../infra/bundling.js';
import { RECONCILE_ENTRY, ROOT, reconcileEsbuildOptions } from '../../infra/constructs/route-sync.js';
import { TEARDOWN_ENTRY } from '../../infra/constructs/teardown.js';
import { sqsRecord } from '../support/builders.js';
import { codeOutputs, importsOf, inputsOf, outputsHolding, staticallyLoaded } from '../support/metafile.js';

// Any socket opened while the module loads (an AWS call, a Kubernetes call, a metadata lookup) ends the process.
const NO_NETWORK = `data:text/javascript,${encodeURIComponent(
  "import net from 'node:net'; net.Socket.prototype.connect = function () { process.stderr.write('network call during module load\\n'); process.exit(3); };",
)}`;

/** What the Lambda runtime sets that matters for loading; no credentials. */
const RUNTIME_ENV = { AWS_REGION: 'us-west-2', AWS_LAMBDA_FUNCTION_NAME: 'ReconcileFunction', TZ: 'UTC', POWERTOOLS_SERVICE_NAME: 'eks-hybrid-routes', POWERTOOLS_METRICS_NAMESPACE: 'EksHybridRoutes' };

let dir: string;
let outfile: string;
let metafile: Metafile;
let teardownOutfile: string;
let teardownMetafile: Metafile;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ehr-bundle-'));
  // Two levels under `dir`, as the CDK's bundling directory is (<dir>/cdk.out/bundling-temp-<hash>, the synth test
  // below): the source maps name the sources relative to the bundle, and the chunks' names hash their maps too.
  outfile = join(dir, 'built', 'reconcile', BUNDLE_FILE);
  teardownOutfile = join(dir, 'built', 'teardown', BUNDLE_FILE);
  const [reconcile, teardown] = await Promise.all([
    build({ ...reconcileEsbuildOptions(outfile), metafile: true }),
    build({ ...functionEsbuildOptions(TEARDOWN_ENTRY, teardownOutfile), metafile: true }),
  ]);
  expect([...reconcile.errors, ...teardown.errors]).toEqual([]);
  metafile = reconcile.metafile!;
  teardownMetafile = teardown.metafile!;
}, 60_000);

/** The source files whose code module init loads (the entry and its static chunks), with their bytes. */
const initInputs = (meta: Metafile, entryFile: string) => inputsOf(meta, staticallyLoaded(meta, entryFile));
/** The source files whose code is anywhere in the bundle, lazily loaded chunks included. */
const assetInputs = (meta: Metafile) => inputsOf(meta, codeOutputs(meta));

/** Every file under `root`, as paths relative to it, sorted. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((path) => statSync(join(root, path)).isFile())
    .sort();
}

/** Loads a bundle in a fresh process of the project's Node, network cut off, and runs `script` against its exports `m`. */
function loadBundle(file: string, script = "if (typeof m.handler !== 'function') process.exit(1);") {
  const source = `const m = await import(${JSON.stringify(pathToFileURL(file).href)}); ${script}`;
  // As the runtime starts it: no --enable-source-maps (RUNTIME_ENVIRONMENT sets no NODE_OPTIONS).
  return spawnSync(process.execPath, ['--import', NO_NETWORK, '--input-type=module', '-e', source], {
    cwd: dir,
    env: RUNTIME_ENV,
    encoding: 'utf8',
    timeout: 30_000,
  });
}

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the stack's bundling (a child process, as `cdk synth` runs it) writes the very bundles these options build, one per function", () => {
  const outdir = join(dir, 'cdk.out');
  const app = new App({ outdir });
  const stack = new Stack(app, 'BundleCheck');
  const entries = { reconcile: RECONCILE_ENTRY, teardown: TEARDOWN_ENTRY };
  const functions = Object.entries(entries).map(
    ([name, entry]) => [name, new lambda.Function(stack, name, { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: bundledFunctionCode(entry) })] as const,
  );
  const assembly = app.synth();
  const template = assembly.getStackByName('BundleCheck').template as { Resources: Record<string, { Properties: { Code: { S3Key: string } } }> };
  // The staged asset directory is `asset.<hash>`, and the function's code is `<hash>.zip`.
  const assetOf = (fn: lambda.Function) =>
    `asset.${template.Resources[stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction)]!.Properties.Code.S3Key.replace(/\.zip$/, '')}`;
  const assets = Object.fromEntries(functions.map(([name, fn]) => [name, assetOf(fn)]));
  expect(new Set(Object.values(assets)).size).toBe(2);
  for (const [name, built] of [['reconcile', outfile], ['teardown', teardownOutfile]] as const) {
    const asset = join(outdir, assets[name]!);
    const files = filesUnder(join(built, '..'));
    expect(files).toEqual(expect.arrayContaining([BUNDLE_FILE, `${BUNDLE_FILE}.map`]));
    expect(filesUnder(asset)).toEqual(files);
    for (const file of files) expect({ file, same: readFileSync(join(asset, file)).equals(readFileSync(join(built, '..', file))) }).toEqual({ file, same: true });
  }
}, 120_000);

test('every function bundle gets the same options and plugins', () => {
  const reconcile = reconcileEsbuildOptions('/x/index.mjs');
  const teardown = functionEsbuildOptions(TEARDOWN_ENTRY, '/x/index.mjs');
  expect({ ...teardown, entryPoints: reconcile.entryPoints }).toEqual(reconcile);
  // The runtime's Node major, and the plugins (what they leave out is checked below).
  expect(reconcile).toMatchObject({ format: 'esm', target: 'node22', plugins: [...BUNDLE_PLUGINS] });
  expect(BUNDLE_PLUGINS.map((plugin) => plugin.name)).toEqual(['powertools-parser-with-zod-namespace']);
});

test('stack traces stay readable without a runtime source map: names kept, a map beside each file without sources', () => {
  const files = codeOutputs(metafile);
  // Identifiers are not minified, so a frame names the real function.
  expect(files.some((file) => /function toCiliumNodeRecord\(/.test(readFileSync(file, 'utf8')))).toBe(true);
  const sources: string[] = [];
  for (const file of files) {
    expect(readFileSync(file, 'utf8').trimEnd().endsWith(`//# sourceMappingURL=${file.split('/').pop()}.map`)).toBe(true);
    const map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[]; sourcesContent?: unknown };
    expect(map.sourcesContent).toBeUndefined();
    sources.push(...map.sources);
  }
  expect(sources.some((source) => source.endsWith('functions/adapters/kubernetes.ts'))).toBe(true);
});

test('everything but Node built-ins is in the bundle, the AWS SDK included', () => {
  const external = importsOf(metafile, codeOutputs(metafile)).filter((entry) => entry.external).map((entry) => entry.path);
  const builtin = (path: string) => path.startsWith('node:') || isBuiltin(path);
  expect(external.filter((path) => !builtin(path))).toEqual([]);
  const inputs = Object.keys(metafile.inputs);
  expect(inputs.some((input) => input.includes('node_modules/@aws-sdk/client-ec2/'))).toBe(true);
  expect(inputs.some((input) => input.includes('node_modules/@smithy/node-http-handler/'))).toBe(true);
  expect(statSync(`${outfile}.map`).size).toBeGreaterThan(0);
});

test('our code imports lazily only the SSM lookup, into a chunk module init does not load; all else our code needs it loads', () => {
  // A dynamically imported module is a chunk of its own (code splitting), loaded when the import runs. Only the
  // registration report's SSM lookup is: most runs never use it (functions/service/dependencies.ts).
  const lazy = Object.entries(metafile.inputs)
    .filter(([path]) => path.startsWith('functions/'))
    .flatMap(([path, input]) => input.imports.filter((entry) => entry.kind === 'dynamic-import' && !entry.external).map((entry) => `${path} → ${entry.path}`));
  expect(lazy).toEqual(['functions/service/dependencies.ts → functions/adapters/ssm.ts']);
  const init = staticallyLoaded(metafile, outfile);
  const withSsm = outputsHolding(metafile, 'node_modules/@aws-sdk/client-ssm/');
  expect(withSsm).toHaveLength(1);
  expect(init).not.toContain(withSsm[0]);
  expect(importsOf(metafile, init).filter((entry) => entry.kind === 'dynamic-import').map((entry) => resolve(entry.path))).toContain(withSsm[0]);
  // Every other source file of ours that the bundle holds is loaded at module init.
  const ours = (inputs: Record<string, number>) => Object.keys(inputs).filter((path) => path.startsWith('functions/'));
  expect(ours(assetInputs(metafile)).filter((path) => !ours(initInputs(metafile, outfile)).includes(path))).toEqual(['functions/adapters/ssm.ts']);
  // The chunk loads, after the entry, as its import() loads it (network cut off).
  const result = loadBundle(outfile, `await import(${JSON.stringify(pathToFileURL(withSsm[0]!).href)});`);
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
});

test("module init imports no node:http as an ES module (its WebSocket getters would load Node's own undici)", () => {
  const init = staticallyLoaded(metafile, outfile);
  const http = importsOf(metafile, init).filter((entry) => entry.external && entry.kind === 'import-statement' && (entry.path === 'node:http' || entry.path === 'http'));
  expect(http.map((entry) => relative(dir, entry.from))).toEqual([]);
});

test('the bundle leaves out what the Lambda never runs', () => {
  const bundled = Object.keys(assetInputs(metafile));
  const unwanted = [
    // Powertools Parser's schemas for the other AWS event sources (functions/handlers/events.ts imports two subpaths).
    /node_modules\/@aws-lambda-powertools\/parser\/lib\/esm\/schemas\/(?!(eventbridge|sqs)\.js$)/,
  ];
  expect(bundled.filter((path) => unwanted.some((pattern) => pattern.test(path)))).toEqual([]);
  expect(bundled).toEqual(expect.arrayContaining(['node_modules/@aws-lambda-powertools/parser/lib/esm/schemas/eventbridge.js', 'node_modules/@aws-lambda-powertools/parser/lib/esm/schemas/sqs.js']));
  // The reconciler reads CiliumNodes and Nodes over the SDK's NodeHttpHandler (functions/adapters/kubernetes.ts):
  // of @kubernetes/client-node it carries the ApiException module alone, so neither its KubeConfig (YAML,
  // JSONPath, proxy and auth providers) nor its fetch layer, and no undici (≈ 950 KiB) at all. The generated APIs
  // and models are the teardown's (kubernetes-teardown.ts).
  expect(bundled.filter((path) => path.includes('node_modules/@kubernetes/client-node/'))).toEqual(['node_modules/@kubernetes/client-node/dist/gen/apis/exception.js']);
  expect(bundled.filter((path) => /node_modules\/(undici|js-yaml|jsonpath-plus|openid-client|oauth4webapi|socks|hpagent)\//.test(path))).toEqual([]);
  // Powertools' `import { z } from 'zod'`, rewritten by the other plugin, no longer keeps all of zod: of its
  // locales only English (the default error messages), and not the JSON-schema reader.
  expect(bundled.filter((path) => /node_modules\/zod\/v4\/(locales\/(?!en\.js$)|classic\/from-json-schema)/.test(path))).toEqual([]);
  expect(bundled.some((path) => path.startsWith('node_modules/zod/v4/classic/'))).toBe(true);
});

test("the teardown's bundle keeps the generated models its CoreV1Api deserializes into, and loads", () => {
  const inputs = assetInputs(teardownMetafile);
  expect(inputs['node_modules/@kubernetes/client-node/dist/gen/apis/CoreV1Api.js']).toBeGreaterThan(0);
  expect(inputs['node_modules/@kubernetes/client-node/dist/gen/models/ObjectSerializer.js']).toBeGreaterThan(0);
  expect(inputs['node_modules/@kubernetes/client-node/dist/gen/models/V1Node.js']).toBeGreaterThan(0);
  expect(inputs['node_modules/@kubernetes/client-node/dist/gen/models/V1Eviction.js']).toBeGreaterThan(0);
  // client-node's exec/attach/cp/port-forward and their dependencies (functions/adapters/kubernetes-teardown.ts).
  const unwanted = [/node_modules\/@kubernetes\/client-node\/dist\/(index|exec|attach|cp|portforward|web-socket-handler)\.js$/, /node_modules\/(ws|tar-fs|tar-stream)\//];
  expect(Object.keys(inputs).filter((path) => unwanted.some((pattern) => pattern.test(path)))).toEqual([]);
  const result = loadBundle(teardownOutfile);
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
});

test('our code imports zod as a namespace, the one form esbuild tree-shakes', () => {
  // zod's index re-exports a namespace as `z`; esbuild keeps all of it (every locale, the JSON-schema converters,
  // ≈ 430 KiB) for a single `import { z } from 'zod'`. Powertools' event schemas use that form, and a bundle
  // plugin rewrites them (infra/bundling.ts); our own code is written in the form that needs no rewriting.
  const functionsDir = join(ROOT, 'functions');
  const sources = readdirSync(functionsDir, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => ({ path, text: readFileSync(join(functionsDir, path), 'utf8') }));
  expect(sources.filter(({ text }) => /import\s*\{[^}]*\bz\b[^}]*\}\s*from\s*'zod'/.test(text)).map(({ path }) => path)).toEqual([]);
  expect(sources.filter(({ text }) => text.includes("import * as z from 'zod';")).length).toBeGreaterThan(0);
});

test('the bundle loads on the project Node without network and exports handler', () => {
  const result = loadBundle(outfile);
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  expect(process.versions.node.split('.')[0]).toBe('22');
});

describe('importZodAsNamespace (the Powertools Parser rewrite)', () => {
  test('turns a value import of z into a namespace import and keeps the other names', () => {
    expect(importZodAsNamespace("import { z } from 'zod';\nconst a = z.string();")).toBe("import * as z from 'zod';\nconst a = z.string();");
    expect(importZodAsNamespace("import { ZodError, z } from 'zod';")).toBe("import { ZodError } from 'zod'; import * as z from 'zod';");
    expect(importZodAsNamespace("import { type ZodType, z } from 'zod';")).toBe("import { type ZodType } from 'zod'; import * as z from 'zod';");
  });

  test('leaves alone what imports no z value: other names, type-only imports, other packages', () => {
    const untouched = ["import { ZodError } from 'zod';", "import type { z } from 'zod';", "import { zed } from 'zod';", "import { z } from 'zod/mini';", "import { z } from './zod';"];
    for (const line of untouched) expect(importZodAsNamespace(line)).toBe(line);
  });
});

test("Powertools' event schemas, rewritten, parse triggers exactly as the unbundled source does", async () => {
  const eventsOutfile = join(dir, 'events', BUNDLE_FILE);
  const { entryPoints: _entry, ...options } = functionEsbuildOptions(RECONCILE_ENTRY, eventsOutfile);
  await build({ ...options, stdin: { contents: "export { parseTriggers } from './functions/handlers/events.ts';", resolveDir: ROOT, sourcefile: 'events-entry.ts', loader: 'ts' } });
  const { parseTriggers } = await import('../../functions/handlers/events.js');
  const sample = (file: string) => readFileSync(join(ROOT, 'events', file), 'utf8');
  const running = JSON.parse(sample('ec2-instance-running.json')) as Record<string, unknown>;
  const inputs: unknown[] = [
    JSON.parse(sample('scheduled-reconcile.json')),
    running,
    { ...running, time: 'yesterday' },
    { ...running, 'detail-type': 42 },
    { Records: [sample('ec2-instance-running.json'), sample('ssm-managed-instance-registration.json'), '{"not":"an event"}', 'not json'].map(sqsRecord) },
    { Records: [] },
    { Records: [{ ...sqsRecord('{}', 0), eventSource: 7 }] },
  ];
  // One function for both sides: its source runs in the bundle's process too.
  function outcome(parse: (event: unknown) => unknown, event: unknown) {
    try {
      return { ok: parse(event) };
    } catch (error) {
      return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  }
  const script = `const outcome = ${outcome.toString()}; const inputs = ${JSON.stringify(inputs)}; process.stdout.write(JSON.stringify(inputs.map((event) => outcome(m.parseTriggers, event))));`;
  const result = loadBundle(eventsOutfile, script);
  expect(result.stderr).toBe('');
  const bundled = JSON.parse(result.stdout) as unknown[];
  const source = JSON.parse(JSON.stringify(inputs.map((event) => outcome(parseTriggers, event)))) as unknown[];
  expect(bundled).toEqual(source);
  // The comparison means something only if both kinds of answer are in it.
  expect(source.filter((entry) => 'error' in (entry as object)).length).toBeGreaterThanOrEqual(3);
  expect(source.filter((entry) => 'ok' in (entry as object)).length).toBeGreaterThanOrEqual(2);
}, 60_000);
