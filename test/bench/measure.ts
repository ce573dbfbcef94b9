/**
 * The benchmark's arithmetic, pure (no cloud, no SDK): the latency model, the EC2 token-bucket lower bound,
 * percentiles, and the call-log summary every scenario reports.
 */
import { type BucketSpec, EC2_BUCKETS } from '../localcloud/throttle.js';

/**
 * The latency model: every call to the local cloud (every AWS service and the Kubernetes API) waits a uniform
 * 30–80 ms before it is answered, set through `PUT /_localcloud/latency`. One rule without service or action
 * matches every call.
 */
export const LATENCY_MODEL = [{ minMs: 30, maxMs: 80 }] as const;
export const LATENCY_MODEL_TEXT = 'uniform 30–80 ms on every AWS and Kubernetes API call (PUT /_localcloud/latency)';

/** The EC2 actions that change something. */
export const MUTATING_ACTIONS = new Set(['CreateRoute', 'ReplaceRoute', 'DeleteRoute', 'ModifyNetworkInterfaceAttribute', 'ModifyInstanceAttribute']);

/**
 * Seconds k calls of one action need at least, starting from a full bucket: `max(0, k − size) / refill`
 * (for the route actions `max(0, k − 50) / 5`).
 */
export function bucketBoundSeconds(k: number, spec: BucketSpec): number {
  if (!Number.isFinite(k) || k < 0) throw new RangeError(`call count must be a non-negative number, got ${k}`);
  return Math.max(0, k - spec.size) / spec.refillPerSecond;
}

/**
 * The token-bucket lower bound for a set of calls: each action has its own bucket and they refill in parallel,
 * so the bound is the largest per-action bound. Actions without a bucket cost nothing.
 */
export function tokenBucketBoundSeconds(callsByAction: Record<string, number>, specs: Record<string, BucketSpec> = EC2_BUCKETS): number {
  let bound = 0;
  for (const [action, k] of Object.entries(callsByAction)) {
    const spec = specs[action];
    if (spec) bound = Math.max(bound, bucketBoundSeconds(k, spec));
  }
  return bound;
}

/**
 * The same bound for the way the product's applyPlan orders its mutations: the source/dest-check fixes run
 * beside the route mutations (their buckets refill in parallel), while the route mutations run as sequential
 * phases (deletions that free room, creates and replaces, the other deletions). A bucket that is full while
 * another phase runs cannot bank its refill, so the route phases' bounds add up. (Deletions split around the
 * upserts can only add to this bound.)
 */
export function phasedBoundSeconds(callsByAction: Record<string, number>, specs: Record<string, BucketSpec> = EC2_BUCKETS): number {
  const only = (...actions: string[]) =>
    tokenBucketBoundSeconds(Object.fromEntries(actions.map((action) => [action, callsByAction[action] ?? 0])), specs);
  return Math.max(only('ModifyNetworkInterfaceAttribute'), only('CreateRoute', 'ReplaceRoute') + only('DeleteRoute'));
}

/** The nearest-rank percentile (p in 0–100) of the values; undefined for no values. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  if (p < 0 || p > 100) throw new RangeError(`percentile must be 0–100, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/**
 * A bundle's module init as a multiple of the floor's: the fastest import of each, because what the machine adds
 * (other processes, a CPU shared with a neighbour) only ever adds time, so the fastest of several fresh processes
 * is the closest to the bundle's own cost. A median moves with that noise: it once put the floor's median 30 %
 * high (5 of 7 of its imports slow, the product's not) and the ratio under the target. Undefined when either was
 * not measured.
 */
export function importRatio(measure: { importMinMs?: number }, floor: { importMinMs?: number }): number | undefined {
  return measure.importMinMs !== undefined && floor.importMinMs ? measure.importMinMs / floor.importMinMs : undefined;
}

/** The median (mean of the two middle values for an even count); undefined for no values. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Distribution {
  samples: number;
  p50?: number;
  p90?: number;
  p99?: number;
  max?: number;
}

export function distribution(values: readonly number[]): Distribution {
  return {
    samples: values.length,
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: values.length > 0 ? Math.max(...values) : undefined,
  };
}

/** One entry of the local cloud's call log (`state.calls`). */
export interface LoggedCall {
  service: string;
  action: string;
  status: number;
  error?: string;
}

export interface ActionCount {
  ok: number;
  throttled: number;
  failed: number;
}

export interface CallSummary {
  /** Every call the cloud received (throttled and failed ones included). */
  total: number;
  ok: number;
  /** Answered `RequestLimitExceeded` (the SDK backs off and retries them). */
  throttled: number;
  /** Answered with any other error, or never answered. */
  failed: number;
  /** Mutating EC2 calls that succeeded. */
  mutations: number;
  /** Mutating EC2 calls sent, throttled and failed ones included. */
  mutationAttempts: number;
  /** Mutating EC2 calls answered `RequestLimitExceeded` (retried by the SDK). */
  mutationsThrottled: number;
  /** Mutating EC2 calls answered with any other error. */
  mutationsFailed: number;
  /** `<service> <action>` → counts. */
  byAction: Record<string, ActionCount>;
  /** Error code → count, throttling included. */
  errors: Record<string, number>;
}

export const isThrottled = (call: LoggedCall) => call.error === 'RequestLimitExceeded';
export const isOk = (call: LoggedCall) => call.status >= 200 && call.status < 300;

export function summarizeCalls(calls: readonly LoggedCall[]): CallSummary {
  const summary: CallSummary = { total: 0, ok: 0, throttled: 0, failed: 0, mutations: 0, mutationAttempts: 0, mutationsThrottled: 0, mutationsFailed: 0, byAction: {}, errors: {} };
  for (const call of calls) {
    const key = `${call.service} ${call.action}`;
    const entry = (summary.byAction[key] ??= { ok: 0, throttled: 0, failed: 0 });
    const mutating = call.service === 'ec2' && MUTATING_ACTIONS.has(call.action);
    summary.total += 1;
    if (mutating) summary.mutationAttempts += 1;
    if (isOk(call)) {
      summary.ok += 1;
      entry.ok += 1;
      if (mutating) summary.mutations += 1;
    } else if (isThrottled(call)) {
      summary.throttled += 1;
      entry.throttled += 1;
      if (mutating) summary.mutationsThrottled += 1;
    } else {
      summary.failed += 1;
      entry.failed += 1;
      if (mutating) summary.mutationsFailed += 1;
    }
    if (!isOk(call)) {
      const code = call.error ?? `HTTP ${call.status}`;
      summary.errors[code] = (summary.errors[code] ?? 0) + 1;
    }
  }
  return summary;
}

/** `ec2 DescribeRouteTables` → `ec2:DescribeRouteTables`, `kubernetes list ciliumnodes` → `k8s:list ciliumnodes`. */
export function shortAction(key: string): string {
  const [service = '', ...rest] = key.split(' ');
  return `${service === 'kubernetes' ? 'k8s' : service}:${rest.join(' ')}`;
}
