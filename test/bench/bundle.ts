/**
 * The reconcile Lambda's bundle and its module-init time, next to the unavoidable floor: a bundle that only
 * loads the EC2 and EKS clients. Both are built in the same run with esbuild and the very options and plugins the
 * stack uses (infra/bundling.ts, via reconcileEsbuildOptions), into a temporary directory.
 *
 * Module init = in a fresh `node` process (the project's Node 22), the time `await import(bundle)` takes, measured
 * inside that process; the whole process's spawn-to-exit time is recorded too. Nothing is subtracted. The runs of
 * the bundles alternate, so drift in the machine's load hits all alike, and the ratio to the floor is taken
 * from the fastest import of each (importRatio in measure.ts says why); the medians are reported beside it.
 *
 * Both are built with code splitting, as the stack builds them: a module that is only imported with `import()`
 * becomes a chunk of its own that module init does not load. In the floor too: the AWS SDK's own `import()`s
 * (the credential providers past the environment's, which a Lambda never reaches, and event streams); in the
 * product also its SSM lookup. The import measures what a cold start loads: the entry and the chunks it imports
 * statically. Everything else the reconciler needs is imported statically (functions/handlers/reconcile.ts); the
 * SSM lookup, which only a run woken by a registration event uses, is loaded by its first use, and a diagnosis
 * row measures the bundle with that chunk imported after it.
 *
 * What the gap to the floor is made of is measured in the same alternating runs, from variants of the product
 * bundle that are never shipped (DIAGNOSIS_VARIANTS): the product as esbuild bundles it without the stack's
 * plugin (infra/bundling.ts: what it saves), and one without the Kubernetes adapter (it cannot run a reconcile:
 * what reading the cluster costs). Module init is mostly V8 compiling the bundle's source (a CPU profile puts
 * ~70 % of the import in compiling the bundle's modules), so the cost of a dependency follows the source it adds;
 * the rest is evaluating the modules' top-level code (the SDK's schemas, zod's schema objects).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { BUNDLE_PLUGINS } from '../../infra/bundling.js';
import { ROOT, RUNTIME_ENVIRONMENT, reconcileEsbuildOptions } from '../../infra/constructs/route-sync.js';
import { codeOutputs, outputsHolding, staticallyLoaded } from '../support/metafile.js';
import { importRatio, median } from './measure.js';
import type { BundleMeasure, BundleResult } from './types.js';

/** The floor: the two SDK clients every run needs, and nothing else. */
const FLOOR_SOURCE = "export { EC2Client } from '@aws-sdk/client-ec2';\nexport { EKSClient } from '@aws-sdk/client-eks';\n";

/** Replaces functions/adapters/kubernetes.ts with a module that exports the one name the reconciler imports. */
const withoutKubernetesAdapter: Plugin = {
  name: 'diagnosis-without-kubernetes-adapter',
  setup(build) {
    build.onResolve({ filter: /adapters\/kubernetes\.js$/ }, (args) => (args.importer.includes('/functions/') ? { path: 'kubernetes-adapter', namespace: 'diagnosis' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'diagnosis' }, () => ({
      contents: "export const createCiliumNodePortFactory = () => { throw new Error('diagnosis bundle: no Kubernetes adapter'); };",
      loader: 'js',
    }));
  },
};

/** Never shipped; built only to say what the gap to the floor is made of. Each adds to (or drops) the stack's plugins. */
const DIAGNOSIS_VARIANTS: { name: string; plugins: Plugin[] }[] = [
  { name: "diagnosis: reconcile bundle without the stack's esbuild plugin (Powertools' zod import)", plugins: [] },
  { name: 'diagnosis: reconcile bundle without the Kubernetes adapter', plugins: [...BUNDLE_PLUGINS, withoutKubernetesAdapter] },
];

/** What the Lambda runtime sets that matters for loading; no credentials, no endpoint. */
const CHILD_ENV = { AWS_REGION: 'us-west-2', AWS_LAMBDA_FUNCTION_NAME: 'ReconcileFunction', TZ: 'UTC', POWERTOOLS_SERVICE_NAME: 'eks-hybrid-routes', POWERTOOLS_METRICS_NAMESPACE: 'EksHybridRoutes' };

interface Built {
  name: string;
  /** The entry file: what `import()` loads, with its static imports. */
  file: string;
  /** Imported right after the entry, in the same timing (a lazily loaded chunk, as its first use loads it). */
  then?: string[];
  meta: Metafile;
}

async function buildOne(name: string, file: string, options: BuildOptions): Promise<Built> {
  const { metafile } = await build({ ...options, metafile: true });
  return { name, file, meta: metafile! };
}

async function buildBundles(dir: string): Promise<{ product: Built; floor: Built; diagnosis: Built[] }> {
  const productFile = join(dir, 'product', 'index.mjs');
  const product = await buildOne('reconcile handler (as the stack bundles it)', productFile, reconcileEsbuildOptions(productFile));
  const floorFile = join(dir, 'floor', 'index.mjs');
  const { entryPoints: _entry, ...floorOptions } = reconcileEsbuildOptions(floorFile);
  const floor = await buildOne('EC2 + EKS clients only', floorFile, { ...floorOptions, stdin: { contents: FLOOR_SOURCE, resolveDir: ROOT, sourcefile: 'floor.mjs', loader: 'js' } });
  const diagnosis: Built[] = [];
  // The product bundle once more, with its SSM chunk imported right after: what a container's first registration
  // report adds to its cold start (functions/service/dependencies.ts loads the lookup on first use).
  const [ssmChunk] = outputsHolding(product.meta, 'node_modules/@aws-sdk/client-ssm/');
  if (!ssmChunk) throw new Error('the reconcile bundle has no chunk with the SSM client');
  diagnosis.push({ ...product, name: "diagnosis: reconcile bundle, then its SSM lookup chunk (a container's first registration report)", then: [ssmChunk] });
  for (const [index, variant] of DIAGNOSIS_VARIANTS.entries()) {
    const file = join(dir, `diagnosis-${index}`, 'index.mjs');
    diagnosis.push(await buildOne(variant.name, file, { ...reconcileEsbuildOptions(file), plugins: variant.plugins }));
  }
  return { product, floor, diagnosis };
}

function importOnce({ file, then = [] }: Built, nodeOptions: string): { importMs: number; processMs: number } {
  const imports = [file, ...then].map((path) => `await import(${JSON.stringify(pathToFileURL(path).href)});`).join(' ');
  const script = `const t0 = performance.now(); ${imports} const t1 = performance.now(); process.stdout.write(JSON.stringify({ importMs: t1 - t0 }));`;
  const started = performance.now();
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: join(file, '..'),
    env: { ...CHILD_ENV, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const processMs = performance.now() - started;
  if (result.status !== 0) throw new Error(`importing ${file} failed (exit ${result.status}): ${result.stderr.slice(0, 500)}`);
  const { importMs } = JSON.parse(result.stdout) as { importMs: number };
  return { importMs, processMs };
}

/** Sizes of what module init loads (for a `then` chunk: that too), and of the chunks only an `import()` loads. */
function sizes({ name, file, then = [], meta }: Built): BundleMeasure {
  const loaded = new Set([...staticallyLoaded(meta, file), ...then.flatMap((chunk) => staticallyLoaded(meta, chunk))]);
  const code = codeOutputs(meta);
  const sum = (files: string[], size: (file: string) => number) => files.reduce((total, path) => total + size(path), 0);
  const eager = code.filter((path) => loaded.has(path));
  return {
    name,
    bytes: sum(eager, (path) => statSync(path).size),
    gzipBytes: sum(eager, (path) => gzipSync(readFileSync(path)).length),
    mapBytes: sum(eager, (path) => statSync(`${path}.map`).size),
    lazyBytes: sum(code.filter((path) => !loaded.has(path)), (path) => statSync(path).size),
    importMs: [],
    processMs: [],
  };
}

/** Imports every bundle `runs` times, in an order that reverses on every round, so machine drift hits all alike. */
function measureAll(bundles: Built[], runs: number, nodeOptions: string): BundleMeasure[] {
  const measures = bundles.map(sizes);
  // One unmeasured import of each first: the file system cache is then warm for all.
  for (const bundle of bundles) importOnce(bundle, nodeOptions);
  const order = bundles.map((_, index) => index);
  for (let i = 0; i < runs; i += 1) {
    for (const index of i % 2 === 0 ? order : [...order].reverse()) {
      const once = importOnce(bundles[index]!, nodeOptions);
      measures[index]!.importMs.push(once.importMs);
      measures[index]!.processMs.push(once.processMs);
    }
  }
  for (const measure of measures) {
    measure.importMedianMs = median(measure.importMs);
    measure.importMinMs = measure.importMs.length > 0 ? Math.min(...measure.importMs) : undefined;
    measure.processMedianMs = median(measure.processMs);
  }
  return measures;
}

export async function measureBundles(options: { runs: number; log: (line: string) => void }): Promise<BundleResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ehr-bench-bundle-'));
  try {
    const built = await buildBundles(dir);
    // As shipped: infra RUNTIME_ENVIRONMENT sets no NODE_OPTIONS, so no runtime source maps (the trade-off is
    // measured and explained at functionEsbuildOptions in infra/bundling.ts).
    const nodeOptions = RUNTIME_ENVIRONMENT.NODE_OPTIONS ?? '';
    const [product, floor, ...diagnosis] = measureAll([built.product, built.floor, ...built.diagnosis], options.runs, nodeOptions);
    const ratio = importRatio(product!, floor!) ?? NaN;
    options.log(
      `  bundle: ${(product!.bytes / 1024).toFixed(0)} KiB vs floor ${(floor!.bytes / 1024).toFixed(0)} KiB; init (fastest) ${product!.importMinMs?.toFixed(0)} ms vs ${floor!.importMinMs?.toFixed(0)} ms (× ${ratio.toFixed(2)})`,
    );
    return { runs: options.runs, nodeOptions, product: product!, floor: floor!, diagnosis };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
