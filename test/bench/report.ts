/**
 * The benchmark's Markdown report (pure): the scenario table with the product and the seed's script side by
 * side, calls by service/action, timeliness, plan CPU, bundle and module init, and the targets.
 */
import { type CallSummary, importRatio, shortAction } from './measure.js';
import type { TargetResult } from './targets.js';
import type { BenchResults, BundleMeasure, LatencyResult, RunRecord, ScenarioResult } from './types.js';

/** A GitHub-flavoured Markdown table; `|` in cells is escaped, numeric-looking columns are right-aligned. */
export function markdownTable(headers: string[], rows: string[][]): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((row) => /^[\d.,\s×/—+-]*$/.test(row[i] ?? '')));
  const line = (cells: string[]) => `| ${cells.map(escape).join(' | ')} |`;
  return [line(headers), `|${numeric.map((right) => (right ? ' ---: ' : ' --- ')).join('|')}|`, ...rows.map((row) => line(headers.map((_, i) => row[i] ?? '')))].join('\n');
}

const NONE = '—';
const secs = (ms: number) => (ms / 1000).toFixed(1);
const pair = (product: string, seed: string | undefined) => `${product} / ${seed ?? NONE}`;

export function driftCell(scenario: ScenarioResult): string {
  const d = scenario.product.before;
  const routes = d.missing + d.wrongTarget + d.stale;
  const parts = [`${routes} routes`];
  if (scenario.drift) parts[0] = `${routes} routes (${scenario.drift.missing} missing, ${scenario.drift.wrongTarget} wrong, ${scenario.drift.stale} stale)`;
  if (d.sourceDestCheckOn > 0) parts.push(`${d.sourceDestCheckOn} checks`);
  const over = scenario.overQuotaPerTable * scenario.tables;
  return `${parts.join(' + ')}${over > 0 ? `, ${over} over quota` : ''}`;
}

const residualCell = (run: RunRecord | undefined, next?: RunRecord) => (run ? `${run.after.total}${next ? ` (${next.after.total} after next run)` : ''}` : undefined);
/**
 * The ratio to the bound, for the initial sync (where the bound is what the run is about). A product run that
 * stopped before doing what it could (the invocation timed out) has no meaningful ratio: `unfinished`.
 */
const ratioCell = (s: ScenarioResult, run: RunRecord | undefined) => {
  if (!run) return undefined;
  if (s.variant !== 'initial' || s.boundSeconds <= 0) return NONE;
  if (run.impl === 'product' && run.after.total > s.overQuotaPerTable * s.tables) return 'unfinished';
  return (run.wallMs / 1000 / s.boundSeconds).toFixed(2);
};

export function scenarioRow(s: ScenarioResult): string[] {
  const p = s.product;
  const seed = s.seed;
  return [
    s.id,
    driftCell(s),
    pair(String(p.calls.total), seed && String(seed.calls.total)),
    pair(String(p.calls.mutations), seed && String(seed.calls.mutations)),
    pair(String(p.calls.failed), seed && String(seed.calls.failed)),
    pair(String(p.calls.throttled), seed && String(seed.calls.throttled)),
    pair(residualCell(p, s.productNext)!, residualCell(seed)),
    pair(secs(p.wallMs), seed && secs(seed.wallMs)),
    s.boundSeconds > 0 ? s.boundSeconds.toFixed(1) : '0',
    pair(ratioCell(s, p)!, ratioCell(s, seed)),
  ];
}

export function renderScenarioTable(scenarios: ScenarioResult[]): string {
  return markdownTable(
    ['scenario', 'drift (to fix)', 'calls P / S', 'mutations P / S', 'failed P / S', 'throttled P / S', 'residual P / S', 'wall s P / S', 'bound s', 'wall ÷ bound P / S'],
    scenarios.map(scenarioRow),
  );
}

/** `ec2:CreateRoute 768 (+95 throttled, 2 failed)`, one entry per action. */
export function callsByAction(calls: CallSummary): string {
  return Object.entries(calls.byAction)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, c]) => {
      const extra = [c.throttled ? `+${c.throttled} throttled` : '', c.failed ? `${c.failed} failed` : ''].filter(Boolean).join(', ');
      return `${shortAction(key)} ${c.ok}${extra ? ` (${extra})` : ''}`;
    })
    .join(', ');
}

export function renderCallsTable(scenarios: ScenarioResult[]): string {
  const rows: string[][] = [];
  for (const s of scenarios) {
    if (s.productCold) rows.push([s.id, 'product (cold)', callsByAction(s.productCold.calls), errorCodes(s.productCold)]);
    rows.push([s.id, `product (${s.product.phase})`, callsByAction(s.product.calls), errorCodes(s.product)]);
    if (s.productNext) rows.push([s.id, 'product (next run)', callsByAction(s.productNext.calls), errorCodes(s.productNext)]);
    if (s.seed) rows.push([s.id, 'seed script', callsByAction(s.seed.calls), errorCodes(s.seed)]);
  }
  return markdownTable(['scenario', 'run', 'calls by service:action (2xx, +throttled, failed)', 'errors'], rows);
}

function errorCodes(run: RunRecord): string {
  const codes = Object.entries(run.calls.errors).map(([code, n]) => `${code} ${n}`);
  if (run.product?.error) codes.push(`handler threw: ${run.product.error.slice(0, 120)}`);
  return codes.join(', ') || NONE;
}

function latencySection(title: string, latency: LatencyResult | undefined): string[] {
  if (!latency) return [`**${title}**: not measured in this run.`];
  const d = latency.distribution;
  const ms = (v: number | undefined) => (v === undefined ? NONE : v.toFixed(0));
  return [
    `**${title}** — ${latency.setup}.`,
    '',
    markdownTable(['samples', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'never routed'], [[String(d.samples), ms(d.p50), ms(d.p90), ms(d.p99), ms(d.max), String(latency.missing.length)]]),
  ];
}

function bundleRow(measure: BundleMeasure): string[] {
  return [
    measure.name,
    (measure.bytes / 1024).toFixed(0),
    (measure.gzipBytes / 1024).toFixed(0),
    (measure.mapBytes / 1024).toFixed(0),
    measure.importMedianMs?.toFixed(0) ?? NONE,
    measure.processMedianMs?.toFixed(0) ?? NONE,
    measure.importMinMs?.toFixed(0) ?? NONE,
  ];
}

function lazyKiB(measure: BundleMeasure): string {
  return measure.lazyBytes === undefined ? NONE : (measure.lazyBytes / 1024).toFixed(0);
}

export function renderTargets(targets: TargetResult[]): string {
  return markdownTable(
    ['target', 'status', 'measured'],
    targets.map((t) => [t.target, t.status === 'met' ? 'met' : t.status === 'not met' ? '**not met**' : 'not measured', t.measured]),
  );
}

export function renderReport(results: BenchResults, targets: TargetResult[]): string {
  const out: string[] = [];
  out.push(`## eks-hybrid-routes benchmark (${results.startedAt}, Node ${results.node}, ${results.durationSeconds.toFixed(0)} s)`);
  out.push('');
  out.push(`Local cloud: ${results.throttling}; latency model: ${results.latencyModel}. P = product (the real reconcile handler), S = the seed's script (test/bench/seed-baseline.ts).`);
  out.push(
    'calls = every API call the cloud received (AWS + Kubernetes, throttled ones included); mutations = mutating EC2 calls that succeeded; failed = calls answered with an error other than throttling; residual = routes + source/dest checks still wrong after the run; bound = token-bucket lower bound for the mutations the world needs.',
  );
  out.push('');
  out.push(renderScenarioTable(results.scenarios));
  out.push('');
  if (results.scenarios.length > 0) {
    out.push('### Calls by service and action');
    out.push('');
    out.push(renderCallsTable(results.scenarios));
    out.push('');
  }
  out.push('### Timeliness');
  out.push('');
  out.push(...latencySection('Event → route in place', results.eventToRoute));
  out.push('');
  out.push(...latencySection('CIDR allocated → route in place', results.cidrToRoute));
  out.push('');
  out.push('### Plan computation');
  out.push('');
  if (results.planCpu) {
    const p = results.planCpu;
    out.push(
      `collectClaims + planRoutes, N=${p.nodes} × R=${p.tables}, ${p.iterations} iterations after a warm-up (the target is judged on the median). "First call" is the first plan of that world in this process: with any per-text parse cache in the core, only the first world measured (steady) starts cold.`,
    );
    out.push('');
    out.push(
      markdownTable(
        ['world', 'first call CPU ms', 'CPU median ms', 'CPU p90 ms', 'wall median ms', 'plan'],
        p.variants.map((v) => [
          v.variant,
          v.firstCpuMs?.toFixed(2) ?? NONE,
          v.cpuMs.median?.toFixed(2) ?? NONE,
          v.cpuMs.p90?.toFixed(2) ?? NONE,
          v.wallMs.median?.toFixed(2) ?? NONE,
          `create ${v.counts.create}, replace ${v.counts.replace}, delete ${v.counts.delete}, keep ${v.counts.keep}`,
        ]),
      ),
    );
  } else out.push('not measured in this run.');
  out.push('');
  out.push('### Bundle and module init');
  out.push('');
  if (results.bundle) {
    const b = results.bundle;
    out.push(
      `Fresh \`node\` process per import, ${b.runs} alternating runs, NODE_OPTIONS=${b.nodeOptions || '(none)'} as shipped; × floor is the fastest import over the floor's fastest (noise only adds time):`,
    );
    out.push('');
    const rows = [b.product, b.floor, ...(b.diagnosis ?? [])].map((m) => {
      const ratio = importRatio(m, b.floor);
      return [...bundleRow(m), ratio === undefined ? NONE : `× ${ratio.toFixed(2)}`, lazyKiB(m)];
    });
    out.push(markdownTable(['bundle', 'KiB', 'gzip KiB', 'map KiB', 'import median ms', 'process median ms', 'import min ms', '× floor', 'lazy chunks KiB'], rows));
    out.push('');
    out.push(
      "KiB: what module init loads (the entry file and the chunks it imports statically); lazy chunks: what only an `import()` loads when it runs (the reconciler's SSM lookup; the AWS SDK's credential providers past the environment's, and its event streams).",
    );
  } else out.push('not measured in this run.');
  out.push('');
  out.push('### Targets');
  out.push('');
  out.push(renderTargets(targets));
  if (results.notes.length > 0) {
    out.push('');
    out.push('### Notes');
    out.push('');
    for (const note of results.notes) out.push(`- ${note}`);
  }
  return out.join('\n');
}
