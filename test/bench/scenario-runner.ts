/**
 * One benchmark scenario (N nodes × R tables × steady / drift / initial), run for the product and, side by
 * side, for the seed's script, each on its own fresh local cloud (full token buckets, latency model on).
 *
 * - steady:  converged world; the product's first (cold) run, then the measured warm run in the same handler.
 * - drift:   converged world; a warm-up run, then 10 % of the routes disturbed, the buckets refilled, and the
 *            measured warm run. The seed script runs on the same disturbed world.
 * - initial: empty tables, source/dest check on; the measured run is the first (cold) one.
 * When the product's measured run leaves something wrong, one more run (as the next periodic one) is recorded.
 */
import { sampleEvent } from '../localcloud/demo.js';
import { type BenchCloud, startBenchCloud } from './cloud.js';
import { phasedBoundSeconds, summarizeCalls, tokenBucketBoundSeconds } from './measure.js';
import { type InvocationOutcome, createProductHandler } from './product.js';
import {
  type DriftComposition,
  type ScenarioSpec,
  type World,
  benchWorld,
  driftCount,
  injectDrift,
  requiredMutations,
  worldDiff,
  worldScenario,
} from './scenarios.js';
import { runSeedBaseline } from './seed-baseline.js';
import type { Implementation, RunRecord, ScenarioResult } from './types.js';

export interface ScenarioRunOptions {
  /** Run the seed baseline for scenarios with at most this many nodes (0: never). */
  baselineMaxNodes: number;
  seed: number;
  log: (line: string) => void;
}

const scheduledEvent = () => sampleEvent('scheduled-reconcile.json');

async function measuredRun(
  bench: BenchCloud,
  world: World,
  impl: Implementation,
  phase: RunRecord['phase'],
  run: () => Promise<Pick<RunRecord, 'product' | 'seed'>>,
): Promise<RunRecord> {
  await bench.clearCalls();
  const before = worldDiff(bench.cloud.state, world);
  const started = performance.now();
  const outcome = await run();
  const wallMs = performance.now() - started;
  return { impl, phase, wallMs, calls: summarizeCalls(bench.calls()), before, after: worldDiff(bench.cloud.state, world), ...outcome };
}

function productOutcome(outcome: InvocationOutcome): Pick<RunRecord, 'product'> {
  return {
    product: {
      ...(outcome.result ? { status: outcome.result.status, counts: outcome.result.counts as unknown as Record<string, number> } : {}),
      ...(outcome.error ? { error: outcome.error } : {}),
    },
  };
}

function describe(record: RunRecord): string {
  const c = record.calls;
  return `${(record.wallMs / 1000).toFixed(1)} s, ${c.total} calls (${c.throttled} throttled, ${c.failed} failed), ${c.mutations} mutations, residual ${record.after.total}`;
}

async function runProduct(spec: ScenarioSpec, world: World, options: ScenarioRunOptions) {
  const bench = await startBenchCloud(worldScenario(world, spec.variant === 'initial' ? 'empty' : 'converged'));
  try {
    const handle = await createProductHandler();
    const invoke = async () => productOutcome(await handle(scheduledEvent()));
    let cold: RunRecord | undefined;
    let drift: DriftComposition | undefined;
    let measured: RunRecord;
    if (spec.variant === 'steady') {
      cold = await measuredRun(bench, world, 'product', 'cold', invoke);
      options.log(`  product cold: ${describe(cold)}`);
      await bench.refillBuckets();
      measured = await measuredRun(bench, world, 'product', 'warm', invoke);
    } else if (spec.variant === 'drift') {
      await invoke(); // warm-up: the container is warm when the drift is found
      drift = injectDrift(bench.cloud.state, world, driftCount(spec.nodes, spec.tables), options.seed);
      await bench.refillBuckets();
      measured = await measuredRun(bench, world, 'product', 'warm', invoke);
    } else {
      measured = await measuredRun(bench, world, 'product', 'cold', invoke);
    }
    options.log(`  product ${measured.phase}: ${describe(measured)}${measured.product?.error ? ` — threw: ${measured.product.error}` : ''}`);
    // Not converged: does the next periodic run finish the job?
    let next: RunRecord | undefined;
    if (measured.after.total > 0) {
      await bench.refillBuckets();
      next = await measuredRun(bench, world, 'product', 'warm', invoke);
      options.log(`  product next run: ${describe(next)}`);
    }
    return { measured, cold, drift, next };
  } finally {
    await bench.stop();
  }
}

async function runSeed(spec: ScenarioSpec, world: World, options: ScenarioRunOptions): Promise<RunRecord> {
  const bench = await startBenchCloud(worldScenario(world, spec.variant === 'initial' ? 'empty' : 'converged'));
  try {
    const { state } = bench.cloud;
    if (spec.variant === 'drift') injectDrift(state, world, driftCount(spec.nodes, spec.tables), options.seed);
    const record = await measuredRun(bench, world, 'seed', 'run', async () => {
      const report = await runSeedBaseline({
        region: state.region,
        clusterName: state.cluster.name,
        routeTableIds: world.tableIds,
        kubernetes: { endpoint: state.cluster.endpoint, caPem: state.cluster.caPem },
      });
      const failures: Record<string, number> = {};
      for (const failure of report.failures) failures[`${failure.command}: ${failure.code}`] = (failures[`${failure.command}: ${failure.code}`] ?? 0) + 1;
      const { nodesSeen, skippedNodes, created, replaced, deleted } = report;
      return { seed: { nodesSeen, skippedNodes, created, replaced, deleted, failures } };
    });
    options.log(`  seed script: ${describe(record)}`);
    return record;
  } finally {
    await bench.stop();
  }
}

export async function runScenario(spec: ScenarioSpec, options: ScenarioRunOptions): Promise<ScenarioResult> {
  const world = benchWorld(spec.nodes, spec.tables);
  const product = await runProduct(spec, world, options);
  const unplaceable = world.overQuotaPerTable * spec.tables;
  const required = requiredMutations(product.measured.before, unplaceable);
  const runSeedToo = spec.nodes <= options.baselineMaxNodes;
  const seed = runSeedToo ? await runSeed(spec, world, options) : undefined;
  return {
    id: spec.id,
    nodes: spec.nodes,
    tables: spec.tables,
    variant: spec.variant,
    podPool: world.podPool,
    quota: world.quota,
    overQuotaPerTable: world.overQuotaPerTable,
    ...(product.drift ? { drift: product.drift } : {}),
    required,
    boundSeconds: tokenBucketBoundSeconds(required),
    phasedBoundSeconds: phasedBoundSeconds(required),
    product: product.measured,
    ...(product.cold ? { productCold: product.cold } : {}),
    ...(product.next ? { productNext: product.next } : {}),
    ...(seed ? { seed } : { seedSkipped: options.baselineMaxNodes <= 0 ? 'baseline off' : `N > ${options.baselineMaxNodes} (--baseline-max-nodes)` }),
  };
}
