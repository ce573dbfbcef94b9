/**
 * The reconcile Lambda's bundle and its module-init time, next to the unavoidable floor: a bundle that only
 * loads the EC2 and EKS clients. Both are built in the same run with esbuild and the very options the stack uses
 * (RECONCILE_BUNDLE via reconcileEsbuildOptions, infra/constructs/route-sync.ts), into a temporary directory.
 *
 * Module init = in a fresh `node` process (the project's Node 22), the time `await import(bundle)` takes, measured
 * inside that process; the whole process's spawn-to-exit time is recorded too. Nothing is subtracted. The runs of
 * the two bundles alternate, so drift in the machine's load hits both alike.
 *
 * The import is the whole loading cost only because the handler imports its dependencies statically
 * (functions/handlers/reconcile.ts): a lazy `import()` there would move the SDK and Kubernetes client out of this
 * measurement and into the first invocation.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { ROOT, RUNTIME_ENVIRONMENT, reconcileEsbuildOptions } from '../../infra/constructs/route-sync.js';
import { median } from './measure.js';
import type { BundleMeasure, BundleResult } from './types.js';

/** The floor: the two SDK clients every run needs, and nothing else. */
const FLOOR_SOURCE = "export { EC2Client } from '@aws-sdk/client-ec2';\nexport { EKSClient } from '@aws-sdk/client-eks';\n";

/**
 * The other choice of Node's source maps, measured beside the shipped one for diagnosis: on if the stack ships
 * without them (infra RUNTIME_ENVIRONMENT sets no NODE_OPTIONS), off if it ships with them.
 */
function alternativeNodeOptions(shipped: string): string {
  return shipped.includes('--enable-source-maps') ? shipped.replace('--enable-source-maps', '').trim() : `${shipped} --enable-source-maps`.trim();
}

/** What the Lambda runtime sets that matters for loading; no credentials, no endpoint. */
const CHILD_ENV = { AWS_REGION: 'us-west-2', AWS_LAMBDA_FUNCTION_NAME: 'ReconcileFunction', TZ: 'UTC', POWERTOOLS_SERVICE_NAME: 'eks-hybrid-routes', POWERTOOLS_METRICS_NAMESPACE: 'EksHybridRoutes' };

async function buildBundles(dir: string): Promise<{ product: string; floor: string }> {
  const product = join(dir, 'product', 'index.mjs');
  const floor = join(dir, 'floor', 'index.mjs');
  await build(reconcileEsbuildOptions(product));
  const { entryPoints: _entry, ...floorOptions } = reconcileEsbuildOptions(floor);
  await build({ ...floorOptions, stdin: { contents: FLOOR_SOURCE, resolveDir: ROOT, sourcefile: 'floor.mjs', loader: 'js' } });
  return { product, floor };
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

function sizes(name: string, file: string): BundleMeasure {
  return { name, bytes: statSync(file).size, gzipBytes: gzipSync(readFileSync(file)).length, mapBytes: statSync(`${file}.map`).size, importMs: [], processMs: [] };
}

function measurePair(files: { product: string; floor: string }, runs: number, nodeOptions: string): { product: BundleMeasure; floor: BundleMeasure } {
  const product = sizes('reconcile handler (RECONCILE_BUNDLE)', files.product);
  const floor = sizes('EC2 + EKS clients only', files.floor);
  // One unmeasured import of each first: the file system cache is then warm for both.
  importOnce(files.product, nodeOptions);
  importOnce(files.floor, nodeOptions);
  for (let i = 0; i < runs; i += 1) {
    for (const [measure, file] of i % 2 === 0 ? ([[product, files.product], [floor, files.floor]] as const) : ([[floor, files.floor], [product, files.product]] as const)) {
      const once = importOnce(file, nodeOptions);
      measure.importMs.push(once.importMs);
      measure.processMs.push(once.processMs);
    }
  }
  for (const measure of [product, floor]) {
    measure.importMedianMs = median(measure.importMs);
    measure.processMedianMs = median(measure.processMs);
  }
  return { product, floor };
}

export async function measureBundles(options: { runs: number; log: (line: string) => void }): Promise<BundleResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ehr-bench-bundle-'));
  try {
    const files = await buildBundles(dir);
    const nodeOptions = RUNTIME_ENVIRONMENT.NODE_OPTIONS ?? '';
    const shipped = measurePair(files, options.runs, nodeOptions);
    const otherNodeOptions = alternativeNodeOptions(nodeOptions);
    const other = measurePair(files, options.runs, otherNodeOptions);
    const ratio = (shipped.product.importMedianMs ?? NaN) / (shipped.floor.importMedianMs ?? NaN);
    options.log(
      `  bundle: ${(shipped.product.bytes / 1024).toFixed(0)} KiB vs floor ${(shipped.floor.bytes / 1024).toFixed(0)} KiB; init ${shipped.product.importMedianMs?.toFixed(0)} ms vs ${shipped.floor.importMedianMs?.toFixed(0)} ms (× ${ratio.toFixed(2)})`,
    );
    return { runs: options.runs, nodeOptions, product: shipped.product, floor: shipped.floor, alternative: { nodeOptions: otherNodeOptions, ...other } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
