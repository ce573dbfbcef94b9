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
 * The import is the whole loading cost only because the handler imports its dependencies statically
 * (functions/handlers/reconcile.ts): a lazy `import()` there would move the SDK and Kubernetes client out of this
 * measurement and into the first invocation.
 *
 * What the gap to the floor is made of is measured in the same alternating runs, from variants of the product
 * bundle that are never shipped (DIAGNOSIS_VARIANTS): the product as esbuild bundles it without the stack's
 * plugin (infra/bundling.ts: what it saves), and one without the Kubernetes adapter (it cannot run a reconcile:
 * what reading the cluster costs). Module init is mostly V8 compiling the bundle's source (a CPU profile puts
 * ~70 % of the import in compiling the one module), so the cost of a dependency follows the source it adds;
 * the rest is evaluating the modules' top-level code (the SDK's schemas, zod's schema objects).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';
import { BUNDLE_PLUGINS } from '../../infra/bundling.js';
import { ROOT, RUNTIME_ENVIRONMENT, reconcileEsbuildOptions } from '../../infra/constructs/route-sync.js';
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
  file: string;
}

async function buildBundles(dir: string): Promise<{ product: Built; floor: Built; diagnosis: Built[] }> {
  const product = { name: 'reconcile handler (as the stack bundles it)', file: join(dir, 'product', 'index.mjs') };
  const floor = { name: 'EC2 + EKS clients only', file: join(dir, 'floor', 'index.mjs') };
  await build(reconcileEsbuildOptions(product.file));
  const { entryPoints: _entry, ...floorOptions } = reconcileEsbuildOptions(floor.file);
  await build({ ...floorOptions, stdin: { contents: FLOOR_SOURCE, resolveDir: ROOT, sourcefile: 'floor.mjs', loader: 'js' } });
  const diagnosis: Built[] = [];
  for (const [index, variant] of DIAGNOSIS_VARIANTS.entries()) {
    const file = join(dir, `diagnosis-${index}`, 'index.mjs');
    await build({ ...reconcileEsbuildOptions(file), plugins: variant.plugins });
    diagnosis.push({ name: variant.name, file });
  }
  return { product, floor, diagnosis };
}

function importOnce(file: string, nodeOptions: string): { importMs: number; processMs: number } {
  const script = `const t0 = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); const t1 = performance.now(); process.stdout.write(JSON.stringify({ importMs: t1 - t0 }));`;
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

function sizes({ name, file }: Built): BundleMeasure {
  return { name, bytes: statSync(file).size, gzipBytes: gzipSync(readFileSync(file)).length, mapBytes: statSync(`${file}.map`).size, importMs: [], processMs: [] };
}

/** Imports every bundle `runs` times, in an order that reverses on every round, so machine drift hits all alike. */
function measureAll(bundles: Built[], runs: number, nodeOptions: string): BundleMeasure[] {
  const measures = bundles.map(sizes);
  // One unmeasured import of each first: the file system cache is then warm for all.
  for (const bundle of bundles) importOnce(bundle.file, nodeOptions);
  const order = bundles.map((_, index) => index);
  for (let i = 0; i < runs; i += 1) {
    for (const index of i % 2 === 0 ? order : [...order].reverse()) {
      const once = importOnce(bundles[index]!.file, nodeOptions);
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
