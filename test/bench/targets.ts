/**
 * The issue's targets, judged on the measured results (pure). A target is `met`, `not met`, or `not measured`
 * when this run did not include what it needs (`--quick`, `--only`). The targets themselves never change here:
 * a miss is reported with the measured value.
 */
import { importRatio } from './measure.js';
import type { BenchResults, ScenarioResult } from './types.js';

export type TargetStatus = 'met' | 'not met' | 'not measured';

export interface TargetResult {
  id: string;
  target: string;
  status: TargetStatus;
  measured: string;
}

export const STEADY_MAX_NODES = 200;
export const STEADY_MAX_CALLS = 3;
export const INITIAL_SYNC_ID = 'n256-r3-initial';
export const INITIAL_SYNC_MAX_RATIO = 1.1;
export const EVENT_TO_ROUTE_P99_MS = 5_000;
export const EVENT_TO_ROUTE_MIN_SAMPLES = 20;
export const CIDR_TO_ROUTE_MAX_MS = 20_000;
export const PLAN_CPU_MAX_MS = 20;
export const MODULE_INIT_MAX_RATIO = 1.25;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const notMeasured = (id: string, target: string, why: string): TargetResult => ({ id, target, status: 'not measured', measured: why });
const judged = (id: string, target: string, ok: boolean, measured: string): TargetResult => ({ id, target, status: ok ? 'met' : 'not met', measured });

export function steadyCallsTarget(scenarios: ScenarioResult[]): TargetResult {
  const id = 'steady-calls';
  const target = `steady state, N ≤ ${STEADY_MAX_NODES}: ≤ ${STEADY_MAX_CALLS} AWS+Kubernetes calls when warm, constant in N and R`;
  const runs = scenarios.filter((s) => s.variant === 'steady' && s.nodes <= STEADY_MAX_NODES);
  if (runs.length === 0) return notMeasured(id, target, 'no steady scenario with N ≤ 200 in this run');
  const totals = runs.map((s) => s.product.calls.total);
  const constant = new Set(totals).size === 1;
  const ok = constant && totals.every((n) => n <= STEADY_MAX_CALLS) && runs.every((s) => s.product.phase === 'warm');
  return judged(id, target, ok, `${runs.map((s) => `${s.id} ${s.product.calls.total}`).join(', ')}${constant ? '' : ' (not constant)'}`);
}

/** Scenarios whose desired state AWS's maximum quota can hold: there, mutations must equal the drift. */
export function mutationsTarget(scenarios: ScenarioResult[]): TargetResult {
  const id = 'mutations-equal-drift';
  const target = 'mutating calls equal the drift exactly (every scenario that fits the route quota)';
  const runs = scenarios.filter((s) => s.overQuotaPerTable === 0);
  if (runs.length === 0) return notMeasured(id, target, 'no scenario in this run');
  // Throttled attempts are the SDK retrying the same call; a mutation that failed otherwise is a miss.
  const mismatches = runs.filter((s) => s.product.calls.mutations !== s.product.before.total || s.product.calls.mutationsFailed > 0);
  const measured =
    mismatches.length === 0
      ? `all ${runs.length} equal (e.g. ${runs
          .filter((s) => s.variant !== 'steady')
          .slice(-2)
          .map((s) => `${s.id}: ${s.product.calls.mutations} = ${s.product.before.total}`)
          .join(', ')})`
      : mismatches
          .map((s) => {
            const codes = Object.entries(s.product.calls.errors)
              .filter(([code]) => code !== 'RequestLimitExceeded')
              .map(([code, n]) => `${code} ${n}`)
              .join(', ');
            const next = s.productNext ? `; next run: ${s.productNext.calls.mutations} more, residual ${s.productNext.after.total}` : '';
            return `${s.id}: ${s.product.calls.mutations} done + ${s.product.calls.mutationsFailed} failed${codes ? ` (${codes})` : ''} vs drift ${s.product.before.total}${next}`;
          })
          .join('; ');
  return judged(id, target, mismatches.length === 0, measured);
}

export function initialSyncTarget(scenarios: ScenarioResult[]): TargetResult {
  const id = 'initial-sync-768';
  const target = `initial sync of 768 routes (256 × 3) within ${INITIAL_SYNC_MAX_RATIO.toFixed(2)} × the token-bucket bound, 0 failed calls`;
  const run = scenarios.find((s) => s.id === INITIAL_SYNC_ID);
  if (!run) return notMeasured(id, target, `${INITIAL_SYNC_ID} not in this run`);
  const ratio = run.product.wallMs / 1000 / run.boundSeconds;
  const failed = run.product.calls.failed + (run.product.product?.counts?.failedMutations ?? 0) + (run.product.product?.error ? 1 : 0);
  const ok = ratio <= INITIAL_SYNC_MAX_RATIO && failed === 0 && run.product.after.total === 0;
  return judged(
    id,
    target,
    ok,
    `${seconds(run.product.wallMs)} = ${ratio.toFixed(2)} × bound ${run.boundSeconds.toFixed(1)} s; ${run.product.calls.failed} failed, ${run.product.calls.throttled} throttled, residual ${run.product.after.total}` +
      (run.phasedBoundSeconds > run.boundSeconds ? `; bound of the product's phases (checks beside routes, route deletions before or after creates): ${run.phasedBoundSeconds.toFixed(1)} s` : ''),
  );
}

export function eventToRouteTarget(results: BenchResults): TargetResult {
  const id = 'event-to-route';
  const target = `event → route in place ≤ ${EVENT_TO_ROUTE_P99_MS / 1000} s p99 (≥ ${EVENT_TO_ROUTE_MIN_SAMPLES} samples)`;
  const latency = results.eventToRoute;
  if (!latency) return notMeasured(id, target, 'not in this run');
  const { p50, p99, samples } = latency.distribution;
  const ok = samples >= EVENT_TO_ROUTE_MIN_SAMPLES && latency.missing.length === 0 && p99 !== undefined && p99 <= EVENT_TO_ROUTE_P99_MS;
  return judged(id, target, ok, `p99 ${p99?.toFixed(0)} ms, p50 ${p50?.toFixed(0)} ms, ${samples} samples${latency.missing.length ? `, ${latency.missing.length} never routed` : ''}`);
}

export function cidrToRouteTarget(results: BenchResults): TargetResult {
  const id = 'cidr-to-route';
  const target = `CIDR allocated → route ≤ ${CIDR_TO_ROUTE_MAX_MS / 1000} s under the latency model`;
  const latency = results.cidrToRoute;
  if (!latency) return notMeasured(id, target, 'not in this run');
  const { p50, p99, max, samples } = latency.distribution;
  const ok = samples > 0 && latency.missing.length === 0 && max !== undefined && max <= CIDR_TO_ROUTE_MAX_MS;
  return judged(id, target, ok, `max ${max?.toFixed(0)} ms, p99 ${p99?.toFixed(0)} ms, p50 ${p50?.toFixed(0)} ms, ${samples} samples${latency.missing.length ? `, ${latency.missing.length} never routed` : ''}`);
}

export function planCpuTarget(results: BenchResults): TargetResult {
  const id = 'plan-cpu';
  const target = `plan computation (collectClaims + planRoutes), N=1000 × R=3: ≤ ${PLAN_CPU_MAX_MS} ms`;
  const plan = results.planCpu;
  if (!plan || plan.variants.length === 0) return notMeasured(id, target, 'not in this run');
  const worst = plan.variants.reduce((a, b) => ((b.cpuMs.median ?? 0) > (a.cpuMs.median ?? 0) ? b : a));
  const value = worst.cpuMs.median ?? Infinity;
  return judged(
    id,
    target,
    value <= PLAN_CPU_MAX_MS,
    `median CPU ${plan.variants.map((v) => `${v.variant} ${v.cpuMs.median?.toFixed(2)} ms`).join(', ')} (worst ${worst.variant})`,
  );
}

export function moduleInitTarget(results: BenchResults): TargetResult {
  const id = 'module-init';
  const target = `module init ≤ ${MODULE_INIT_MAX_RATIO} × the EC2+EKS-client-only floor`;
  const bundle = results.bundle;
  const ratio = bundle ? importRatio(bundle.product, bundle.floor) : undefined;
  if (!bundle || ratio === undefined) return notMeasured(id, target, 'not in this run');
  const { product, floor } = bundle;
  return judged(
    id,
    target,
    ratio <= MODULE_INIT_MAX_RATIO,
    `fastest of ${bundle.runs}: ${product.importMinMs!.toFixed(0)} ms vs floor ${floor.importMinMs!.toFixed(0)} ms = × ${ratio.toFixed(2)} (medians ${product.importMedianMs?.toFixed(0)} / ${floor.importMedianMs?.toFixed(0)} ms)`,
  );
}

export function evaluateTargets(results: BenchResults): TargetResult[] {
  return [
    steadyCallsTarget(results.scenarios),
    mutationsTarget(results.scenarios),
    initialSyncTarget(results.scenarios),
    eventToRouteTarget(results),
    cidrToRouteTarget(results),
    planCpuTarget(results),
    moduleInitTarget(results),
  ];
}

/** `targets: X of Y met` over the targets that were measured, plus how many were not. */
export function targetsLine(targets: TargetResult[]): string {
  const measured = targets.filter((t) => t.status !== 'not measured');
  const met = measured.filter((t) => t.status === 'met').length;
  const skipped = targets.length - measured.length;
  return `targets: ${met} of ${measured.length} met${skipped > 0 ? ` (${skipped} not measured in this run)` : ''}`;
}
