/**
 * The shape of the benchmark's results: what the runners produce, what report.ts renders, what targets.ts
 * judges, and what `--out` writes as JSON.
 */
import type { CallSummary, Distribution } from './measure.js';
import type { DriftComposition, Variant, WorldDiff } from './scenarios.js';

export type Implementation = 'product' | 'seed';

export interface RunRecord {
  impl: Implementation;
  /** `cold`: first invocation of a fresh handler; `warm`: a later one in the same handler; `run`: the seed script. */
  phase: 'cold' | 'warm' | 'run';
  wallMs: number;
  calls: CallSummary;
  /** The oracle before and after the run (residual = after). */
  before: WorldDiff;
  after: WorldDiff;
  /** Product: the handler's result, or the message it threw. */
  product?: { status?: string; counts?: Record<string, number>; error?: string };
  /** Seed baseline: what the script reported. */
  seed?: { nodesSeen: number; skippedNodes: number; created: number; replaced: number; deleted: number; failures: Record<string, number> };
}

export interface ScenarioResult {
  id: string;
  nodes: number;
  tables: number;
  variant: Variant;
  podPool: string;
  quota: number;
  /** Pod routes per table that AWS's maximum route quota (1,000) cannot hold. */
  overQuotaPerTable: number;
  /** The 10 % drift that was injected (drift scenarios). */
  drift?: DriftComposition;
  /** The EC2 mutations that bring the starting world to the desired state, by action. */
  required: Record<string, number>;
  /** Token-bucket lower bound for `required`, seconds. */
  boundSeconds: number;
  /** The bound for the product's phases (checks beside the routes; route deletions before or after creates/replaces), seconds. */
  phasedBoundSeconds: number;
  /** The measured product run (steady: the warm one), and the cold one before it when there is one. */
  product: RunRecord;
  productCold?: RunRecord;
  /** When the measured run left something wrong: the product's next run in the same handler. */
  productNext?: RunRecord;
  seed?: RunRecord;
  seedSkipped?: string;
}

export interface LatencySample {
  node: string;
  trigger: string;
  ms: number;
}

export interface LatencyResult {
  samples: LatencySample[];
  distribution: Distribution;
  /** Samples whose route never appeared. */
  missing: string[];
  setup: string;
}

export interface PlanCpuVariant {
  variant: Variant;
  /** CPU of the very first plan of this world in the process (before the warm-up). */
  firstCpuMs?: number;
  cpuMs: Distribution & { median?: number };
  wallMs: Distribution & { median?: number };
  counts: Record<string, number>;
}

export interface PlanCpuResult {
  nodes: number;
  tables: number;
  iterations: number;
  variants: PlanCpuVariant[];
}

export interface BundleMeasure {
  name: string;
  /** What module init loads: the entry file and the chunks it imports statically (their source maps in mapBytes). */
  bytes: number;
  gzipBytes: number;
  mapBytes: number;
  /** The chunks only an `import()` loads, when it runs (none for a bundle without one). */
  lazyBytes?: number;
  /** Milliseconds from just before `await import(bundle)` to just after it, in a fresh node process. */
  importMs: number[];
  /** Milliseconds from spawning that process to its exit. */
  processMs: number[];
  importMedianMs?: number;
  /** The fastest import: what the ratio to the floor is taken from (importRatio in measure.ts says why). */
  importMinMs?: number;
  processMedianMs?: number;
}

export interface BundleResult {
  runs: number;
  /** NODE_OPTIONS as shipped (infra RUNTIME_ENVIRONMENT; empty: none, so no runtime source maps). */
  nodeOptions: string;
  product: BundleMeasure;
  floor: BundleMeasure;
  /** Variants of the product bundle that are never shipped, measured in the same runs: what the gap is made of. */
  diagnosis?: BundleMeasure[];
}

export interface BenchResults {
  startedAt: string;
  durationSeconds: number;
  node: string;
  options: Record<string, unknown>;
  latencyModel: string;
  throttling: string;
  scenarios: ScenarioResult[];
  eventToRoute?: LatencyResult;
  cidrToRoute?: LatencyResult;
  planCpu?: PlanCpuResult;
  bundle?: BundleResult;
  notes: string[];
}
