/**
 * The benchmark's pure parts (test/bench): the token-bucket bound, percentiles, the call-log summary, the
 * Markdown rendering and the target evaluation. No cloud, no timing: these must be right for the numbers the
 * benchmark prints to mean anything.
 */
import { EC2_BUCKETS } from '../../localcloud/throttle.js';
import { bucketBoundSeconds, distribution, median, percentile, phasedBoundSeconds, summarizeCalls, tokenBucketBoundSeconds } from '../../bench/measure.js';
import { callsByAction, markdownTable, renderReport, scenarioRow } from '../../bench/report.js';
import { driftCount, matchesOnly, podLayout, requiredMutations, scenarioMatrix } from '../../bench/scenarios.js';
import { evaluateTargets, initialSyncTarget, moduleInitTarget, mutationsTarget, steadyCallsTarget, targetsLine } from '../../bench/targets.js';
import type { BenchResults, RunRecord, ScenarioResult } from '../../bench/types.js';

const ROUTE_BUCKET = { size: 50, refillPerSecond: 5 };

describe('token-bucket bound', () => {
  test('k calls of a 50 + 5/s action need max(0, k − 50) / 5 seconds', () => {
    expect(bucketBoundSeconds(0, ROUTE_BUCKET)).toBe(0);
    expect(bucketBoundSeconds(50, ROUTE_BUCKET)).toBe(0);
    expect(bucketBoundSeconds(51, ROUTE_BUCKET)).toBeCloseTo(0.2);
    expect(bucketBoundSeconds(768, ROUTE_BUCKET)).toBeCloseTo(143.6);
    expect(bucketBoundSeconds(3000, ROUTE_BUCKET)).toBeCloseTo(590);
    expect(() => bucketBoundSeconds(-1, ROUTE_BUCKET)).toThrow(RangeError);
  });

  test('buckets refill in parallel: the bound is the largest per-action bound, with the local cloud’s specs', () => {
    expect(EC2_BUCKETS.CreateRoute).toEqual(ROUTE_BUCKET);
    // 768 creates (143.6 s) and 256 source/dest checks on a 100 + 5/s bucket (31.2 s).
    expect(tokenBucketBoundSeconds({ CreateRoute: 768, ModifyNetworkInterfaceAttribute: 256 })).toBeCloseTo(143.6);
    expect(tokenBucketBoundSeconds({ CreateRoute: 40, ReplaceRoute: 60, DeleteRoute: 10 })).toBeCloseTo(2);
    expect(tokenBucketBoundSeconds({ ModifyNetworkInterfaceAttribute: 1000 })).toBeCloseTo(180);
    expect(tokenBucketBoundSeconds({ UnknownAction: 10_000 })).toBe(0);
  });

  test('route phases add their bounds (creates and replaces together, then deletions); checks run beside them', () => {
    // 256 checks: (256 − 100) / 5 = 31.2 s, beside 768 creates: 143.6 s.
    expect(phasedBoundSeconds({ CreateRoute: 768, ModifyNetworkInterfaceAttribute: 256 })).toBeCloseTo(143.6);
    // 1000 checks (180 s) outlast 300 creates (50 s) and 150 deletions (20 s) in sequence.
    expect(phasedBoundSeconds({ CreateRoute: 300, DeleteRoute: 150, ModifyNetworkInterfaceAttribute: 1000 })).toBeCloseTo(180);
    expect(phasedBoundSeconds({ CreateRoute: 100, ReplaceRoute: 60, DeleteRoute: 100 })).toBeCloseTo(10 + 10);
    expect(phasedBoundSeconds({})).toBe(0);
  });

  test('required mutations come from the oracle, minus routes the quota cannot hold', () => {
    expect(requiredMutations({ missing: 10, wrongTarget: 3, stale: 2, sourceDestCheckOn: 4, total: 19 }, 6)).toEqual({
      CreateRoute: 4,
      ReplaceRoute: 3,
      DeleteRoute: 2,
      ModifyNetworkInterfaceAttribute: 4,
    });
  });
});

describe('statistics', () => {
  test('nearest-rank percentiles and the median', () => {
    const values = [5, 1, 4, 2, 3];
    expect(percentile(values, 50)).toBe(3);
    expect(percentile(values, 99)).toBe(5);
    expect(percentile(values, 0)).toBe(1);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
    expect(distribution(Array.from({ length: 100 }, (_, i) => i + 1))).toEqual({ samples: 100, p50: 50, p90: 90, p99: 99, max: 100 });
  });
});

describe('call summary', () => {
  const calls = [
    { service: 'ec2', action: 'DescribeRouteTables', status: 200 },
    { service: 'kubernetes', action: 'list ciliumnodes', status: 200 },
    { service: 'ec2', action: 'CreateRoute', status: 200 },
    { service: 'ec2', action: 'CreateRoute', status: 503, error: 'RequestLimitExceeded' },
    { service: 'ec2', action: 'ReplaceRoute', status: 400, error: 'InvalidParameterValue' },
    { service: 'ec2', action: 'DescribeInstances', status: 503, error: 'RequestLimitExceeded' },
  ];

  test('throttled and failed calls are told apart, mutations counted on success only', () => {
    const summary = summarizeCalls(calls);
    expect(summary).toMatchObject({ total: 6, ok: 3, throttled: 2, failed: 1, mutations: 1, mutationAttempts: 3, mutationsThrottled: 1, mutationsFailed: 1 });
    expect(summary.byAction['ec2 CreateRoute']).toEqual({ ok: 1, throttled: 1, failed: 0 });
    expect(summary.errors).toEqual({ RequestLimitExceeded: 2, InvalidParameterValue: 1 });
    expect(callsByAction(summary)).toBe(
      'ec2:CreateRoute 1 (+1 throttled), ec2:DescribeInstances 0 (+1 throttled), ec2:DescribeRouteTables 1, ec2:ReplaceRoute 0 (1 failed), k8s:list ciliumnodes 1',
    );
  });
});

describe('scenarios', () => {
  test('the matrix, --quick and --only', () => {
    expect(scenarioMatrix()).toHaveLength(4 * 2 * 3);
    expect(scenarioMatrix({ quick: true }).map((s) => s.nodes)).not.toContain(1000);
    expect(scenarioMatrix().filter((s) => matchesOnly(s.id, 'n256-r3')).map((s) => s.id)).toEqual(['n256-r3-steady', 'n256-r3-drift', 'n256-r3-initial']);
    expect(matchesOnly('bundle', undefined)).toBe(true);
  });

  test('10 % drift, at least one route; pools large enough', () => {
    expect(driftCount(3, 1)).toBe(1);
    expect(driftCount(256, 3)).toBe(77);
    expect(driftCount(1000, 3)).toBe(300);
    expect(podLayout(256).cidr(255)).toBe('10.30.255.0/24');
    expect(podLayout(1000).cidr(999)).toBe('10.31.231.0/24');
    expect(() => podLayout(2000)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------------------

const noDiff = { missing: 0, wrongTarget: 0, stale: 0, sourceDestCheckOn: 0, total: 0 };

function run(overrides: Partial<RunRecord> & { mutations?: number; total?: number; failed?: number } = {}): RunRecord {
  const { mutations = 0, total = 3, failed = 0, ...rest } = overrides;
  return {
    impl: 'product',
    phase: 'warm',
    wallMs: 1000,
    calls: { total, ok: total - failed, throttled: 0, failed, mutations, mutationAttempts: mutations, mutationsThrottled: 0, mutationsFailed: 0, byAction: {}, errors: {} },
    before: noDiff,
    after: noDiff,
    ...rest,
  };
}

function scenario(id: string, overrides: Partial<ScenarioResult> = {}): ScenarioResult {
  const [, n, r, variant] = /^n(\d+)-r(\d+)-(\w+)$/.exec(id)!;
  return {
    id,
    nodes: Number(n),
    tables: Number(r),
    variant: variant as ScenarioResult['variant'],
    podPool: '10.30.0.0/16',
    quota: 1000,
    overQuotaPerTable: 0,
    required: {},
    boundSeconds: 0,
    phasedBoundSeconds: 0,
    product: run(),
    ...overrides,
  };
}

function results(overrides: Partial<BenchResults> = {}): BenchResults {
  return { startedAt: 'now', durationSeconds: 1, node: '22', options: {}, latencyModel: 'm', throttling: 't', scenarios: [], notes: [], ...overrides };
}

describe('targets', () => {
  test('steady state: ≤ 3 warm calls and the same for every N ≤ 200 and R', () => {
    const met = steadyCallsTarget([scenario('n3-r1-steady'), scenario('n50-r3-steady'), scenario('n256-r3-steady', { product: run({ total: 4 }) })]);
    expect(met.status).toBe('met');
    expect(steadyCallsTarget([scenario('n3-r1-steady'), scenario('n50-r3-steady', { product: run({ total: 2 }) })])).toMatchObject({ status: 'not met', measured: expect.stringContaining('not constant') });
    expect(steadyCallsTarget([scenario('n3-r1-steady', { product: run({ total: 4 }) })]).status).toBe('not met');
    expect(steadyCallsTarget([]).status).toBe('not measured');
  });

  test('mutations must equal the drift, ignoring scenarios over the route quota', () => {
    const drift = { missing: 10, wrongTarget: 10, stale: 6, sourceDestCheckOn: 0, total: 26 };
    expect(mutationsTarget([scenario('n256-r1-drift', { product: run({ before: drift, mutations: 26 }) })]).status).toBe('met');
    expect(mutationsTarget([scenario('n256-r1-drift', { product: run({ before: drift, mutations: 27 }) })]).status).toBe('not met');
    // A route the table had no room for: a failed mutation is a miss, with its code and what the next run did.
    const full = run({ before: drift, mutations: 25, calls: { ...run().calls, mutations: 25, mutationsFailed: 1, failed: 1, errors: { RouteLimitExceeded: 1 } } });
    const next = run({ mutations: 1 });
    expect(mutationsTarget([scenario('n50-r1-drift', { product: full, productNext: next })])).toEqual(
      expect.objectContaining({ status: 'not met', measured: 'n50-r1-drift: 25 done + 1 failed (RouteLimitExceeded 1) vs drift 26; next run: 1 more, residual 0' }),
    );
    expect(scenarioRow(scenario('n50-r1-drift', { product: { ...full, after: { ...noDiff, missing: 1, total: 1 } }, productNext: next }))[6]).toBe('1 (0 after next run) / —');
    expect(mutationsTarget([scenario('n1000-r1-drift', { overQuotaPerTable: 2, product: run({ before: drift, mutations: 24 }) })]).status).toBe('not measured');
  });

  test('initial sync: within 1.10 × the bound, no failed call, nothing left over', () => {
    const judged = (wallMs: number, extra: Partial<RunRecord> = {}) =>
      initialSyncTarget([scenario('n256-r3-initial', { boundSeconds: 143.6, product: run({ wallMs, phase: 'cold', ...extra }) })]);
    expect(judged(157_000).status).toBe('met');
    expect(judged(158_500)).toMatchObject({ status: 'not met', measured: expect.stringContaining('1.10 × bound 143.6 s') });
    expect(judged(150_000, { calls: { ...run().calls, failed: 1 } }).status).toBe('not met');
    expect(judged(150_000, { after: { ...noDiff, missing: 1, total: 1 } }).status).toBe('not met');
    expect(initialSyncTarget([]).status).toBe('not measured');
  });

  test('module init against the floor, and the summary line', () => {
    const measure = (importMinMs: number, importMedianMs = importMinMs) => ({ name: 'x', bytes: 1, gzipBytes: 1, mapBytes: 1, importMs: [], processMs: [], importMinMs, importMedianMs });
    expect(moduleInitTarget(results({ bundle: { runs: 5, nodeOptions: '', product: measure(250), floor: measure(200) } })).status).toBe('met');
    expect(moduleInitTarget(results({ bundle: { runs: 5, nodeOptions: '', product: measure(251), floor: measure(200) } })).status).toBe('not met');
    // Judged on the fastest imports: a floor whose median noise pushed up does not carry the product under the target.
    const noisyFloor = moduleInitTarget(results({ bundle: { runs: 7, nodeOptions: '', product: measure(340, 357), floor: measure(220, 293) } }));
    expect(noisyFloor).toMatchObject({ status: 'not met', measured: 'fastest of 7: 340 ms vs floor 220 ms = × 1.55 (medians 357 / 293 ms)' });
    const targets = evaluateTargets(results({ scenarios: [scenario('n3-r1-steady')] }));
    expect(targets).toHaveLength(7);
    expect(targetsLine(targets)).toBe('targets: 2 of 2 met (5 not measured in this run)');
  });
});

describe('report', () => {
  test('a Markdown table escapes pipes and right-aligns numeric columns', () => {
    expect(markdownTable(['name', 'n'], [['a|b', '3 / 4'], ['c', '10']])).toBe(['| name | n |', '| --- | ---: |', '| a\\|b | 3 / 4 |', '| c | 10 |'].join('\n'));
  });

  test('a scenario row puts the product and the seed script side by side', () => {
    const row = scenarioRow(
      scenario('n256-r3-initial', {
        boundSeconds: 143.6,
        product: run({ phase: 'cold', wallMs: 172_320, total: 1100, mutations: 1024, before: { missing: 768, wrongTarget: 0, stale: 0, sourceDestCheckOn: 256, total: 1024 } }),
        seed: run({ impl: 'seed', phase: 'run', wallMs: 200_000, total: 3000, mutations: 768, failed: 768, after: { ...noDiff, sourceDestCheckOn: 256, total: 256 } }),
      }),
    );
    expect(row).toEqual(['n256-r3-initial', '768 routes + 256 checks', '1100 / 3000', '1024 / 768', '0 / 768', '0 / 0', '0 / 256', '172.3 / 200.0', '143.6', '1.20 / 1.39']);
    // An initial sync the invocation's timeout cut short has no ratio to the bound.
    const cut = scenarioRow(scenario('n1000-r3-initial', { overQuotaPerTable: 2, boundSeconds: 588.8, product: run({ wallMs: 300_000, after: { ...noDiff, missing: 2357, total: 2357 } }) }));
    expect(cut[9]).toBe('unfinished / —');
    // The ratio to the bound is the initial sync's; a drift run with a tiny bound shows none.
    expect(scenarioRow(scenario('n256-r3-drift', { boundSeconds: 0.2, product: run({ wallMs: 1400 }) }))[9]).toBe('— / —');
    expect(scenarioRow(scenario('n3-r1-steady'))[2]).toBe('3 / —');
  });

  test('the bundle table gives every bundle, the diagnosis variants included, its ratio to the floor', () => {
    const measure = (name: string, importMinMs?: number) => ({
      name,
      bytes: 2048,
      gzipBytes: 1024,
      mapBytes: 1024,
      ...(importMinMs === undefined ? {} : { lazyBytes: 3072 }),
      importMs: [],
      processMs: [],
      importMinMs,
      importMedianMs: importMinMs === undefined ? undefined : importMinMs + 10,
      processMedianMs: importMinMs === undefined ? undefined : importMinMs + 80,
    });
    const report = renderReport(
      results({ bundle: { runs: 7, nodeOptions: '', product: measure('product', 380), floor: measure('floor', 200), diagnosis: [measure('diagnosis: lean', 250), measure('diagnosis: failed')] } }),
      [],
    );
    const rows = report.split('\n').filter((line) => /^\| (product|floor|diagnosis)/.test(line));
    expect(rows).toEqual([
      '| product | 2 | 1 | 1 | 390 | 460 | 380 | × 1.90 | 3 |',
      '| floor | 2 | 1 | 1 | 210 | 280 | 200 | × 1.00 | 3 |',
      '| diagnosis: lean | 2 | 1 | 1 | 260 | 330 | 250 | × 1.25 | 3 |',
      '| diagnosis: failed | 2 | 1 | 1 | — | — | — | — | — |',
    ]);
  });
});
