/**
 * Plan computation time: the pure core's `collectClaims` + `planRoutes` on a state observed by the real
 * adapters (observe() against the local cloud, once), repeated many times in this process. The cloud runs
 * without throttling or latency here: only the pure computation is timed.
 */
import { collectClaims } from '../../functions/core/claims.js';
import { ENV_LABELS, parseControllerConfig, rawConfigFromEnv } from '../../functions/core/config.js';
import { planRoutes } from '../../functions/core/plan.js';
import { createControllerDeps } from '../../functions/service/dependencies.js';
import { observe } from '../../functions/service/reconcile.js';
import { startBenchCloud } from './cloud.js';
import { distribution, median } from './measure.js';
import { type Variant, VARIANTS, benchWorld, driftCount, injectDrift, worldScenario } from './scenarios.js';
import type { PlanCpuResult, PlanCpuVariant } from './types.js';

const WARM_UP_ITERATIONS = 20;

async function measureVariant(nodes: number, tables: number, variant: Variant, iterations: number, seed: number): Promise<PlanCpuVariant> {
  const world = benchWorld(nodes, tables);
  const bench = await startBenchCloud(worldScenario(world, variant === 'initial' ? 'empty' : 'converged'), { throttling: false, latency: false });
  try {
    if (variant === 'drift') injectDrift(bench.cloud.state, world, driftCount(nodes, tables), seed);
    const config = parseControllerConfig(rawConfigFromEnv(process.env), ENV_LABELS);
    const deps = await createControllerDeps(config);
    const observed = await observe(deps, config);
    const plan = () =>
      planRoutes({
        scope: observed.scope,
        claims: collectClaims(observed.ciliumNodes, observed.scope),
        ...(observed.vpcId ? { vpcId: observed.vpcId } : {}),
        networkInterfaces: observed.networkInterfaces,
        routeTables: observed.routeTables,
        guards: config.guards,
        nodeStatuses: observed.nodeStatuses,
        now: observed.observedAt,
      });
    const first = process.cpuUsage();
    plan();
    const firstCpu = process.cpuUsage(first);
    for (let i = 0; i < WARM_UP_ITERATIONS; i += 1) plan();
    const cpuMs: number[] = [];
    const wallMs: number[] = [];
    let counts: Record<string, number> = {};
    for (let i = 0; i < iterations; i += 1) {
      const cpu0 = process.cpuUsage();
      const wall0 = performance.now();
      const result = plan();
      const wall = performance.now() - wall0;
      const cpu = process.cpuUsage(cpu0);
      cpuMs.push((cpu.user + cpu.system) / 1000);
      wallMs.push(wall);
      counts = result.counts as unknown as Record<string, number>;
    }
    return { variant, firstCpuMs: (firstCpu.user + firstCpu.system) / 1000, cpuMs: { ...distribution(cpuMs), median: median(cpuMs) }, wallMs: { ...distribution(wallMs), median: median(wallMs) }, counts };
  } finally {
    await bench.stop();
  }
}

export async function measurePlanCpu(options: { nodes: number; tables: number; iterations: number; seed: number; log: (line: string) => void }): Promise<PlanCpuResult> {
  const variants: PlanCpuVariant[] = [];
  for (const variant of VARIANTS) {
    const measured = await measureVariant(options.nodes, options.tables, variant, options.iterations, options.seed);
    options.log(`  plan ${variant}: first ${measured.firstCpuMs?.toFixed(2)} ms, median ${measured.cpuMs.median?.toFixed(2)} ms CPU, ${measured.wallMs.median?.toFixed(2)} ms wall (${JSON.stringify(measured.counts)})`);
    variants.push(measured);
  }
  return { nodes: options.nodes, tables: options.tables, iterations: options.iterations, variants };
}
