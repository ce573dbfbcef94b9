/**
 * `npm run bench [-- --quick] [-- --only <regex>] [-- --out results.json]`: the benchmark of the reconcile
 * controller against the local cloud (EC2 throttling on, latency model on), with the seed's script side by side.
 * Progress goes to stderr; the Markdown report to stdout; the JSON to --out. Exit 0 when it ran (targets met
 * or not), 1 when it crashed.
 */
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { LATENCY_MODEL_TEXT } from './measure.js';
import { renderReport } from './report.js';
import { MAX_ROUTE_QUOTA, type ScenarioSpec, matchesOnly, scenarioMatrix } from './scenarios.js';
import { evaluateTargets, targetsLine } from './targets.js';
import type { BenchResults } from './types.js';

const EXTRAS = ['bundle', 'plan-cpu', 'event-to-route', 'cidr-to-route'] as const;

interface CliOptions {
  quick?: boolean;
  only?: string;
  out?: string;
  baseline: boolean;
  baselineMaxNodes: number;
  eventSamples: number;
  cidrSamples: number;
  cidrSpread: number;
  planIterations: number;
  initRuns: number;
  seed: number;
}

function positiveInt(name: string, min = 1) {
  return (text: string) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return value;
  };
}

function parseOptions(argv: string[]): CliOptions {
  const program = new Command()
    .name('bench')
    .description('Benchmark the reconcile handler on the local cloud (throttling + latency model), with the seed script side by side.')
    .option('--quick', 'N ∈ {3, 50, 256} instead of {3, 50, 256, 1000}')
    .option('--only <pattern>', 'run only scenarios / measurements whose id matches this regular expression (ids: n256-r3-initial, n50-r1-drift, …, bundle, plan-cpu, event-to-route, cidr-to-route)')
    .option('--out <path>', 'write the results as JSON to this file')
    .option('--no-baseline', 'do not run the seed script')
    .option('--baseline-max-nodes <n>', 'run the seed script only for N up to this', positiveInt('--baseline-max-nodes', 0), 256)
    .option('--event-samples <n>', 'event → route samples', positiveInt('--event-samples'), 30)
    .option('--cidr-samples <n>', 'CIDR → route samples', positiveInt('--cidr-samples'), 20)
    .option('--cidr-spread <seconds>', 'CIDR allocations are spread over this many seconds', positiveInt('--cidr-spread'), 48)
    .option('--plan-iterations <n>', 'plan computation iterations per world', positiveInt('--plan-iterations'), 200)
    .option('--init-runs <n>', 'fresh node processes per bundle for module init (≥ 5)', positiveInt('--init-runs', 5), 15)
    .option('--seed <n>', 'seed of the drift generator', positiveInt('--seed', 0), 1)
    .showHelpAfterError();
  program.parse(argv);
  return program.opts<CliOptions>();
}

const STATIC_NOTES = [
  'Each scenario and each implementation runs on its own fresh local cloud (full token buckets). Steady: the measured product run is the second (warm) invocation of one handler; drift: a warm-up run, then 10 % of the routes disturbed (in turn missing, wrong target, stale), buckets refilled, measured warm run; initial: empty tables and source/dest check on, measured cold run.',
  'The seed script is ported from the seed text itself: one run per route table; the ENI comes from a second DescribeInstances; replace-route || create-route only when the destination is absent, so wrong targets are never repaired; the deletion sweep only knows ^10\\.30\\.[0-9]+\\.0/24$; source/dest check is not its business (residual counts it). The real script also pays an `aws`/`kubectl` process start per command, not modelled here.',
  'The local cloud runs in the benchmark process: the handler, the seed script and the servers share one event loop, so wall times include the cloud\'s own work.',
  'Event delivery (EventBridge → SQS FIFO → Lambda) is outside the timeliness measurements: the clock starts when the handler is invoked.',
];

async function main(): Promise<number> {
  const options = parseOptions(process.argv);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  // Before any handler module is loaded: Powertools reads these when its singletons are created.
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';

  const started = Date.now();
  const specs: ScenarioSpec[] = scenarioMatrix({ quick: options.quick }).filter((spec) => matchesOnly(spec.id, options.only));
  const extras = EXTRAS.filter((id) => matchesOnly(id, options.only));
  const baselineMaxNodes = options.baseline ? options.baselineMaxNodes : 0;
  const results: BenchResults = {
    startedAt: new Date(started).toISOString(),
    durationSeconds: 0,
    node: process.versions.node,
    options: { ...options, baselineMaxNodes },
    latencyModel: LATENCY_MODEL_TEXT,
    throttling: 'EC2 token buckets on (CreateRoute/ReplaceRoute/DeleteRoute 50 + 5/s each, ModifyNetworkInterfaceAttribute 100 + 5/s, Describe* 100 + 20/s)',
    scenarios: [],
    notes: [...STATIC_NOTES],
  };
  log(`bench: ${specs.length} scenario(s)${extras.length ? ` + ${extras.join(', ')}` : ''}; seed script up to N=${baselineMaxNodes}`);

  if (extras.includes('bundle')) {
    log('[bundle] building and importing the reconcile bundle and the client-only floor');
    const { measureBundles } = await import('./bundle.js');
    results.bundle = await measureBundles({ runs: options.initRuns, log });
  }
  if (extras.includes('plan-cpu')) {
    log('[plan-cpu] N=1000 × R=3');
    const { measurePlanCpu } = await import('./plan-cpu.js');
    results.planCpu = await measurePlanCpu({ nodes: 1000, tables: 3, iterations: options.planIterations, seed: options.seed, log });
  }
  if (extras.includes('event-to-route')) {
    log(`[event-to-route] ${options.eventSamples} samples`);
    const { measureEventToRoute } = await import('./latency.js');
    results.eventToRoute = await measureEventToRoute({ samples: options.eventSamples, log });
  }
  if (extras.includes('cidr-to-route')) {
    log(`[cidr-to-route] ${options.cidrSamples} samples over ${options.cidrSpread} s`);
    const { measureCidrToRoute } = await import('./latency.js');
    results.cidrToRoute = await measureCidrToRoute({ samples: options.cidrSamples, spreadSeconds: options.cidrSpread, log });
  }

  const { runScenario } = await import('./scenario-runner.js');
  for (const [i, spec] of specs.entries()) {
    log(`[${i + 1}/${specs.length}] ${spec.id} (${((Date.now() - started) / 1000).toFixed(0)} s elapsed)`);
    results.scenarios.push(await runScenario(spec, { baselineMaxNodes, seed: options.seed, log }));
  }

  const overQuota = results.scenarios.filter((s) => s.overQuotaPerTable > 0);
  if (overQuota.length > 0) {
    const n = overQuota[0]!.nodes;
    results.notes.push(
      `N=${n} needs ${n + 2} routes per table (one per node /24, plus local and the TGW route) but AWS allows at most ${MAX_ROUTE_QUOTA} routes per route table (L-93826ACB): ${overQuota[0]!.overQuotaPerTable} pod routes per table cannot exist in any implementation. Those scenarios run at the maximum quota; their RouteLimitExceeded failures are the quota, and they are left out of the mutations target.`,
    );
  }
  results.durationSeconds = (Date.now() - started) / 1000;

  const targets = evaluateTargets(results);
  process.stdout.write(`${renderReport(results, targets)}\n\n`);
  if (options.out) {
    writeFileSync(options.out, `${JSON.stringify({ ...results, targets }, null, 2)}\n`);
    log(`results written to ${options.out}`);
  }
  process.stdout.write(`${targetsLine(targets)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
