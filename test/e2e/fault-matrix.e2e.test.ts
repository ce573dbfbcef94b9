/**
 * The fault matrix: one fault at a time, against the real reconcile handler (createHandler, configuration from
 * the environment, the project's adapters and SDK clients) and the local cloud over loopback.
 *
 * Every case starts from a converged world (the default scenario unless it says otherwise: 3 hybrid nodes × 3
 * managed tables; every table also holds foreign routes — its local route, the TGW route to the EKS VPC, and by
 * hand a TGW route INSIDE the pod network 10.30.0.0/16, an ENI route OUTSIDE it and a NAT route), makes a change
 * that needs work, injects ONE fault, runs the reconciler (a direct reconcile event), clears the fault, runs
 * again (the same warm handler: a retry in the same container) and checks:
 *
 *  (a) no desired route disappeared: checked at every DeleteRoute as it is made (MutationRecorder) and on the
 *      tables after run 1 against the desired routes before it (expectedPodRoutes);
 *  (b) no foreign route was touched: the snapshot of every non-managed route is equal after each run, and no
 *      mutation named a foreign destination;
 *  (c) run 2 converges: each table holds exactly the expected pod routes (active, right ENI) plus its foreign
 *      routes; every node ENI has source/dest check off;
 *  (d) the failure was reported: the handler threw (or returned a non-ok status), an ERROR/WARN log line carries
 *      the reason, and an EMF blob carries the metric (ReadFailures, FailedMutations, VetoedDeletions).
 *
 * SDK retries: the project's clients retry 8 attempts with jittered exponential back-off (~13 s expected for a
 * call that fails every attempt). The fault runs use the same clients, retry strategy class and attempt budget
 * with the back-off delay set to 0 (zeroBackoffDeps), so a fault that outlasts all 8 attempts costs milliseconds;
 * the EC2 timeout cases also shorten the per-request timeout (15 s in the project) to 400 ms, the Kubernetes one
 * the reader's (15 s) to 1 s. The converging first run and every special case (whose errors, if any, are not
 * retried: RouteLimitExceeded, InvalidNetworkInterfaceID.NotFound; or are absorbed: the throttling storm) use the
 * project's own wiring unchanged.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FaultRule } from '../localcloud/faults.js';
import { type ScenarioInput, defaultScenario } from '../localcloud/scenario.js';
import { type LocalCloud, startLocalCloud } from '../localcloud/server.js';
import type { Ec2Port } from '../../functions/core/ports.js';
import { APPLY_TIME_RESERVE_MS } from '../../functions/handlers/reconcile.js';
import {
  DIRECT_RECONCILE,
  type HandlerResult,
  MUTATING_EC2_ACTIONS,
  callCounts,
  control,
  expectedPodRoutes,
  extraNode,
  makeHandler,
  scenarioWithNodes,
  useCloudEnv,
} from './e2e-support.js';
import {
  type Change,
  type FastDepsOptions,
  MutationRecorder,
  NEW_NODE,
  WORK,
  addForeignRoutes,
  captureHandlerOutput,
  expectConverged,
  makeHandlerWithDeadline,
  expectNoDesiredRouteLost,
  foreignRoutes,
  makeChange,
  managedSnapshot,
  zeroBackoffDeps,
} from './fault-matrix-support.js';

// Powertools reads its environment when its singletons are built, on the handler's first (lazy) import in
// makeHandler: JSON lines, INFO level, metrics on, so that (d) can be read off stdout/stderr.
delete process.env.POWERTOOLS_DEV;
delete process.env.POWERTOOLS_METRICS_DISABLED;
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
const LOUD = { POWERTOOLS_LOG_LEVEL: 'INFO', POWERTOOLS_METRICS_DISABLED: 'false' };

const output = captureHandlerOutput();

/** A bound for a loaded 2-CPU machine, not a measure: each case takes well under a second or a few seconds. */
const CASE_TIMEOUT_MS = 30_000;

type Handle = (event: unknown) => Promise<HandlerResult>;
type Outcome = { result: HandlerResult & Record<string, any>; error?: undefined } | { result?: undefined; error: Error & Record<string, any> };

async function settle(run: Promise<HandlerResult>): Promise<Outcome> {
  return run.then(
    (result) => ({ result: result as Outcome['result'] & {} }),
    (error: unknown) => ({ error: error as Error }),
  );
}

interface World {
  cloud: LocalCloud;
  /** Every foreign route of every managed table, before anything ran (invariant b's reference). */
  foreign: Record<string, string[]>;
  recorder: MutationRecorder;
  /** The real handler (a fresh container) with deps built by `deps` (default: the project's createControllerDeps). */
  handler(options?: { deps?: FastDepsOptions | 'project'; ec2?: (ec2: Ec2Port) => Ec2Port }): Promise<Handle>;
  /** Forgets the call log and the captured output, and names the run for the recorder. */
  startRun(name: string): void;
  done(): Promise<void>;
}

/** A local cloud with foreign routes in every managed table, converged by one run of the real handler. */
async function convergedWorld(scenario?: ScenarioInput): Promise<World> {
  const cloud = await startLocalCloud(scenario ? { scenario } : {});
  const restore = useCloudEnv(cloud, LOUD);
  const done = async () => {
    restore();
    await cloud.stop();
  };
  try {
    await addForeignRoutes(cloud);
    const foreign = foreignRoutes(cloud.state);
    const recorder = new MutationRecorder(cloud, () => foreign);
    const world: World = {
      cloud,
      foreign,
      recorder,
      handler: ({ deps = 'project', ec2 = (port: Ec2Port) => port } = {}) =>
        makeHandler(async (projectDeps) => {
          const built = deps === 'project' ? projectDeps : await zeroBackoffDeps(deps);
          return { ...built, ec2: recorder.wrap(ec2(built.ec2)) };
        }),
      startRun(name) {
        cloud.state.calls.length = 0;
        output.clear();
        recorder.run = name;
      },
      done,
    };
    world.startRun('run 0');
    const converge = await world.handler();
    expect(await converge(DIRECT_RECONCILE)).toMatchObject({ status: 'ok', counts: { failedMutations: 0 } });
    expectConverged(cloud, foreign);
    return world;
  } catch (error) {
    await done();
    throw error;
  }
}

const ec2Mutations = (cloud: LocalCloud) => cloud.state.calls.filter((call) => call.service === 'ec2' && MUTATING_EC2_ACTIONS.has(call.action));

// ---------------------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------------------

type Source = 'cluster' | 'route-tables' | 'ciliumnodes' | 'network-interfaces';

interface ReadFailure {
  kind: 'read-failure';
  /** IncompleteReadError.source */
  source: Source;
}
interface FailedMutations {
  kind: 'failed-mutations';
  /** The Ec2Port method the fault hits: its planned calls all fail, the other mutations are done. */
  method: 'disableSourceDestCheck' | 'createRoute' | 'replaceRoute' | 'deleteRoute';
  /** The error code the handler reports (`codes` of its ERROR line). */
  code: string | RegExp;
}

interface MatrixCase {
  name: string;
  /** The work waiting when the fault hits (default `mixed`: 1 source/dest fix, 3 creates, 1 replace, 3 deletes). */
  change?: Change;
  scenario?: () => ScenarioInput;
  deps?: FastDepsOptions;
  fault: FaultRule;
  expect: (ReadFailure | FailedMutations) & {
    /** What the logged error must say. */
    reason: RegExp;
    /** Calls of the faulted service and action in the call log during run 1, by status (0: timeout / reset). */
    faultedCalls: Record<string, number>;
  };
}

const FAST_TIMEOUT = { requestTimeoutMs: 400 };
/** An error fault with no `times`: it lasts until cleared, so every one of the SDK's 8 attempts meets it. */
const error = (service: string, action: string, status: number, code: string): FaultRule => ({
  service,
  action,
  kind: 'error',
  status,
  code,
  message: `injected by the fault matrix: ${service} ${action} ${status}`,
});
const injected = (service: string, action: string, status: number) => new RegExp(`injected by the fault matrix: ${service} ${action} ${status}`);
const TIMED_OUT = /TimeoutError|timed? ?out|aborted/i;
const CONNECTION_RESET = /socket hang up|ECONNRESET|TimeoutError/i;

const ATTEMPTS = 8; // clientConfig().maxAttempts

const MATRIX: MatrixCase[] = [
  // --- 5xx on each read: every SDK attempt fails, the run stops before any change --------------------------
  {
    name: 'EC2 DescribeRouteTables answers 500 InternalError on every attempt',
    fault: error('ec2', 'DescribeRouteTables', 500, 'InternalError'),
    expect: { kind: 'read-failure', source: 'route-tables', reason: injected('ec2', 'DescribeRouteTables', 500), faultedCalls: { 'ec2 DescribeRouteTables 500': ATTEMPTS } },
  },
  {
    name: 'EC2 DescribeNetworkInterfaces answers 503 Unavailable on every attempt',
    fault: error('ec2', 'DescribeNetworkInterfaces', 503, 'Unavailable'),
    expect: {
      kind: 'read-failure',
      source: 'network-interfaces',
      reason: injected('ec2', 'DescribeNetworkInterfaces', 503),
      faultedCalls: { 'ec2 DescribeNetworkInterfaces 503': ATTEMPTS },
    },
  },
  {
    name: 'EKS DescribeCluster answers 500 ServerException on every attempt',
    fault: error('eks', 'DescribeCluster', 500, 'ServerException'),
    expect: { kind: 'read-failure', source: 'cluster', reason: injected('eks', 'DescribeCluster', 500), faultedCalls: { 'eks DescribeCluster 500': ATTEMPTS } },
  },
  {
    name: 'STS AssumeRole (the reader role, for the Kubernetes token) answers 500 InternalFailure on every attempt',
    fault: error('sts', 'AssumeRole', 500, 'InternalFailure'),
    expect: { kind: 'read-failure', source: 'ciliumnodes', reason: injected('sts', 'AssumeRole', 500), faultedCalls: { 'sts AssumeRole 500': ATTEMPTS } },
  },
  {
    name: 'Kubernetes "list ciliumnodes" answers 500',
    fault: error('kubernetes', 'list ciliumnodes', 500, 'InternalError'),
    // The Kubernetes reader does not retry: the next run is the retry.
    expect: { kind: 'read-failure', source: 'ciliumnodes', reason: /list ciliumnodes failed: HTTP 500/, faultedCalls: { 'kubernetes list ciliumnodes 500': 1 } },
  },
  // --- Kubernetes authentication, authorization and TLS -------------------------------------------------------
  {
    name: 'Kubernetes "list ciliumnodes" answers 401 Unauthorized',
    fault: error('kubernetes', 'list ciliumnodes', 401, 'Unauthorized'),
    expect: { kind: 'read-failure', source: 'ciliumnodes', reason: /list ciliumnodes failed: HTTP 401 Unauthorized/, faultedCalls: { 'kubernetes list ciliumnodes 401': 1 } },
  },
  {
    name: 'Kubernetes "list ciliumnodes" answers 403 Forbidden',
    fault: error('kubernetes', 'list ciliumnodes', 403, 'Forbidden'),
    expect: { kind: 'read-failure', source: 'ciliumnodes', reason: /list ciliumnodes failed: HTTP 403 Forbidden/, faultedCalls: { 'kubernetes list ciliumnodes 403': 1 } },
  },
  {
    name: 'Kubernetes API presents a certificate the cluster CA did not sign (wrong-ca)',
    fault: { service: 'kubernetes', kind: 'wrong-ca' },
    // The TLS handshake fails: no request reaches the API server, so its call log stays empty.
    expect: { kind: 'read-failure', source: 'ciliumnodes', reason: /UNABLE_TO_VERIFY_LEAF_SIGNATURE|certificate/i, faultedCalls: {} },
  },
  {
    name: 'Kubernetes CiliumNode list fails on its second page (7 nodes, page size 3)',
    scenario: () => scenarioWithNodes(4),
    deps: { pageSize: 3 },
    fault: { ...error('kubernetes', 'list ciliumnodes', 500, 'InternalError'), afterCalls: 1 },
    expect: {
      kind: 'read-failure',
      source: 'ciliumnodes',
      reason: /list ciliumnodes failed: HTTP 500/,
      faultedCalls: { 'kubernetes list ciliumnodes 200': 1, 'kubernetes list ciliumnodes 500': 1 },
    },
  },
  // --- timeouts and resets -----------------------------------------------------------------------------------
  {
    name: 'EC2 DescribeRouteTables never answers (timeout on every attempt)',
    deps: FAST_TIMEOUT,
    fault: { service: 'ec2', action: 'DescribeRouteTables', kind: 'timeout' },
    expect: { kind: 'read-failure', source: 'route-tables', reason: TIMED_OUT, faultedCalls: { 'ec2 DescribeRouteTables 0': ATTEMPTS } },
  },
  {
    name: 'Kubernetes "list ciliumnodes" never answers (the reader\'s request timeout)',
    deps: { kubernetesRequestTimeoutMs: 1_000 }, // no retry behind it: kept above what a loaded machine needs
    fault: { service: 'kubernetes', action: 'list ciliumnodes', kind: 'timeout' },
    expect: { kind: 'read-failure', source: 'ciliumnodes', reason: TIMED_OUT, faultedCalls: { 'kubernetes list ciliumnodes 0': 1 } },
  },
  {
    name: 'EC2 DescribeNetworkInterfaces connection reset on every attempt',
    fault: { service: 'ec2', action: 'DescribeNetworkInterfaces', kind: 'reset' },
    expect: { kind: 'read-failure', source: 'network-interfaces', reason: CONNECTION_RESET, faultedCalls: { 'ec2 DescribeNetworkInterfaces 0': ATTEMPTS } },
  },
  // --- 5xx on each mutation: those calls fail after every attempt, the others are done ----------------------
  {
    name: 'EC2 CreateRoute answers 500 InternalError on every attempt',
    fault: error('ec2', 'CreateRoute', 500, 'InternalError'),
    expect: { kind: 'failed-mutations', method: 'createRoute', code: 'InternalError', reason: injected('ec2', 'CreateRoute', 500), faultedCalls: { 'ec2 CreateRoute 500': 3 * ATTEMPTS } },
  },
  {
    name: 'EC2 ReplaceRoute answers 500 InternalError on every attempt',
    fault: error('ec2', 'ReplaceRoute', 500, 'InternalError'),
    expect: { kind: 'failed-mutations', method: 'replaceRoute', code: 'InternalError', reason: injected('ec2', 'ReplaceRoute', 500), faultedCalls: { 'ec2 ReplaceRoute 500': ATTEMPTS } },
  },
  {
    name: 'EC2 DeleteRoute answers 503 Unavailable on every attempt',
    fault: error('ec2', 'DeleteRoute', 503, 'Unavailable'),
    expect: { kind: 'failed-mutations', method: 'deleteRoute', code: 'Unavailable', reason: injected('ec2', 'DeleteRoute', 503), faultedCalls: { 'ec2 DeleteRoute 503': 3 * ATTEMPTS } },
  },
  {
    name: 'EC2 ModifyNetworkInterfaceAttribute answers 500 InternalError on every attempt',
    fault: error('ec2', 'ModifyNetworkInterfaceAttribute', 500, 'InternalError'),
    expect: {
      kind: 'failed-mutations',
      method: 'disableSourceDestCheck',
      code: 'InternalError',
      reason: injected('ec2', 'ModifyNetworkInterfaceAttribute', 500),
      faultedCalls: { 'ec2 ModifyNetworkInterfaceAttribute 500': ATTEMPTS },
    },
  },
  {
    name: 'EC2 CreateRoute never answers (timeout on every attempt)',
    deps: FAST_TIMEOUT,
    fault: { service: 'ec2', action: 'CreateRoute', kind: 'timeout' },
    expect: { kind: 'failed-mutations', method: 'createRoute', code: 'TimeoutError', reason: TIMED_OUT, faultedCalls: { 'ec2 CreateRoute 0': 3 * ATTEMPTS } },
  },
  {
    name: 'EC2 DeleteRoute connection reset on every attempt',
    change: 'node-removed',
    fault: { service: 'ec2', action: 'DeleteRoute', kind: 'reset' },
    // The code is the error's name: TimeoutError in Lambda; under Jest the socket error comes from another realm
    // and the SDK re-wraps it as a plain Error ("AWS SDK error wrapper for TimeoutError: socket hang up").
    expect: { kind: 'failed-mutations', method: 'deleteRoute', code: /^(TimeoutError|Error)$/, reason: CONNECTION_RESET, faultedCalls: { 'ec2 DeleteRoute 0': 3 * ATTEMPTS } },
  },
];

describe('fault matrix: one fault, one failed run, one converging run', () => {
  test.each(MATRIX)(
    '$name',
    async (c) => {
      const world = await convergedWorld(c.scenario?.());
      try {
        const { cloud, foreign, recorder } = world;
        const change = c.change ?? 'mixed';
        await makeChange(cloud, change);
        const desired = expectedPodRoutes(cloud.state);
        const before = managedSnapshot(cloud.state);
        const handle = await world.handler({ deps: c.deps ?? {} });

        // Run 1, with the fault.
        expect((await control(cloud, 'POST', 'faults', c.fault)).status).toBe(200);
        world.startRun('run 1');
        const run1 = await settle(handle(DIRECT_RECONCILE));
        const faulted = callCounts(cloud.state, (call) => call.service === c.fault.service && (c.fault.action === undefined || call.action === c.fault.action));
        expect(faulted).toEqual(c.expect.faultedCalls);

        // (a) and (b) after run 1.
        expectNoDesiredRouteLost(desired, before, managedSnapshot(cloud.state));
        expect(foreignRoutes(cloud.state)).toEqual(foreign);

        // (d) the failure was reported: thrown, logged at ERROR with the reason, counted in an EMF metric.
        if (c.expect.kind === 'read-failure') {
          expect(run1.error).toMatchObject({ name: 'IncompleteReadError', source: c.expect.source });
          expect(run1.error?.message).toMatch(new RegExp(`^${c.expect.source}: read failed, nothing was changed`));
          const [logged, ...more] = output.logLines('reconcile read failed; nothing was changed');
          expect(more).toEqual([]);
          expect(logged).toMatchObject({ level: 'ERROR', source: c.expect.source, mode: 'apply', trigger: { kind: 'direct' } });
          expect(JSON.stringify(logged?.error)).toMatch(c.expect.reason);
          expect(output.metric('ReadFailures')).toBe(1);
          // Nothing was changed: no mutation reached EC2, none was even attempted, no run summary.
          expect(ec2Mutations(cloud)).toEqual([]);
          expect(recorder.mutations.filter((m) => m.run === 'run 1')).toEqual([]);
          expect(output.logLines('reconcile run')).toEqual([]);
        } else {
          const { method, code } = c.expect;
          const failed = WORK[change][method];
          expect(run1.error?.message).toMatch(new RegExp(`^${failed} route or ENI mutation\\(s\\) failed in ekscluster1`));
          const [logged, ...more] = output.logLines('reconcile run had failed mutations');
          expect(more).toEqual([]);
          const codeMatcher = typeof code === 'string' ? code : expect.stringMatching(code);
          expect(logged).toMatchObject({ level: 'ERROR', failedMutations: failed, codes: [codeMatcher] });
          const [summary] = output.logLines('reconcile run');
          expect(summary).toMatchObject({ level: 'INFO', status: 'failed' });
          expect(summary!.failedMutations).toHaveLength(failed);
          for (const failure of summary!.failedMutations as { error: string; code: string }[]) {
            expect(failure.code).toEqual(codeMatcher);
            expect(failure.error).toMatch(c.expect.reason);
          }
          expect(output.metric('FailedMutations')).toBe(failed);
          // Every planned mutation was attempted; only the faulted kind failed.
          for (const [kind, count] of Object.entries(WORK[change])) {
            const attempted = recorder.of(kind as keyof (typeof WORK)[Change], 'run 1');
            expect({ kind, attempted: attempted.length }).toEqual({ kind, attempted: count });
            expect({ kind, failed: attempted.filter((m) => m.error).length }).toEqual({ kind, failed: kind === method ? count : 0 });
          }
        }

        // Run 2: the fault cleared, the same warm handler converges.
        expect((await control(cloud, 'DELETE', 'faults')).status).toBe(200);
        world.startRun('run 2');
        const run2 = await handle(DIRECT_RECONCILE);
        expect(run2).toMatchObject({ status: 'ok', counts: { failedMutations: 0 } });
        // A clean recovery: not one failed call (except, with the 400 ms request timeout, a slow answer on a loaded
        // machine, which the SDK retries).
        if (!c.deps?.requestTimeoutMs) expect(cloud.state.calls.filter((call) => call.status !== 200)).toEqual([]);
        expect(output.metric('FailedMutations')).toBe(0);
        expectConverged(cloud, foreign);
        expect(recorder.violations).toEqual([]);
      } finally {
        await world.done();
      }
    },
    CASE_TIMEOUT_MS,
  );
});

// ---------------------------------------------------------------------------------------------------------
// The special cases
// ---------------------------------------------------------------------------------------------------------

describe('fault matrix: special cases', () => {
  test(
    'EC2 throttling storm (token buckets on, 63 creates and 21 source/dest fixes): the SDK rides it out, the run converges with no failure',
    async () => {
      // The default nodes plus 20 running instances whose CiliumNodes appear only after the world converged.
      const scenario = scenarioWithNodes(20);
      const world = await convergedWorld({ ...scenario, ciliumNodes: scenario.ciliumNodes!.slice(0, 3) });
      try {
        const { cloud, foreign, recorder } = world;
        for (let i = 0; i < 20; i++) {
          const node = extraNode(i);
          expect((await control(cloud, 'POST', 'scenario/allocate-cidr', { node: node.name, cidr: node.cidr, nodeIp: node.ip })).status).toBe(200);
        }
        await makeChange(cloud, 'mixed');
        const desired = expectedPodRoutes(cloud.state);
        const before = managedSnapshot(cloud.state);
        // The project's own wiring: adaptive retry, real back-off, real client-side rate limiter.
        const handle = await world.handler();

        expect((await control(cloud, 'PUT', 'throttling', { enabled: true })).body).toEqual({ enabled: true });
        world.startRun('run 1');
        const run1 = await handle(DIRECT_RECONCILE);

        // (d) for a storm the SDK absorbs: nothing to report as a failure. The throttles are in the call log (EC2's
        // RequestLimitExceeded, HTTP 503), the run returned ok with every mutation done, and no ERROR/WARN line.
        expect(run1).toMatchObject({ status: 'ok', counts: { create: 63, replace: 1, delete: 3, sourceDestCheckFixes: 21, failedMutations: 0 } });
        const counts = callCounts(cloud.state);
        expect(counts['ec2 CreateRoute 503']).toBeGreaterThan(0);
        expect(counts['ec2 CreateRoute 200']).toBe(63);
        expect(cloud.state.calls.filter((call) => call.status !== 200).every((call) => call.status === 503 && call.error === 'RequestLimitExceeded')).toBe(true);
        expect(output.logLines().filter((line) => line.level === 'ERROR' || line.level === 'WARN')).toEqual([]);
        expect(output.metric('RoutesCreated')).toBe(63);
        expect(output.metric('FailedMutations')).toBe(0);
        expectNoDesiredRouteLost(desired, before, managedSnapshot(cloud.state));
        expect(foreignRoutes(cloud.state)).toEqual(foreign);
        expectConverged(cloud, foreign);

        expect((await control(cloud, 'PUT', 'throttling', { enabled: false })).body).toEqual({ enabled: false });
        world.startRun('run 2');
        expect(await handle(DIRECT_RECONCILE)).toMatchObject({ status: 'ok', counts: { create: 0, replace: 0, delete: 0, keep: 23 * 3, failedMutations: 0 } });
        expectConverged(cloud, foreign);
        expect(recorder.violations).toEqual([]);
      } finally {
        await world.done();
      }
    },
    CASE_TIMEOUT_MS,
  );

  test(
    'the routes-per-table quota is reached: the creates that do not fit fail with RouteLimitExceeded, no existing route is deleted',
    async () => {
      // Each table holds local + TGW + 3 foreign + 3 pod routes = 8 once converged: exactly the quota.
      const world = await convergedWorld({ ...defaultScenario(), quotas: { routesPerRouteTable: 8 } });
      try {
        const { cloud, foreign, recorder } = world;
        for (const table of cloud.state.routeTables.values()) expect(table.routes).toHaveLength(8);
        await makeChange(cloud, 'new-node');
        const desired = expectedPodRoutes(cloud.state);
        const before = managedSnapshot(cloud.state);
        const handle = await world.handler();

        world.startRun('run 1');
        const run1 = await settle(handle(DIRECT_RECONCILE));
        expect(run1.error?.message).toMatch(/^3 route or ENI mutation\(s\) failed in ekscluster1/);
        expect(output.logLines('reconcile run had failed mutations')).toEqual([
          expect.objectContaining({ level: 'ERROR', failedMutations: 3, codes: ['RouteLimitExceeded'] }),
        ]);
        const [summary] = output.logLines('reconcile run');
        expect(summary!.failedMutations).toEqual(
          ['rtb-0a1b2c3d4e5f60101', 'rtb-0a1b2c3d4e5f60102', 'rtb-0a1b2c3d4e5f60103'].map((routeTableId) =>
            expect.objectContaining({ kind: 'create', routeTableId, destination: NEW_NODE.cidr, code: 'RouteLimitExceeded', error: expect.stringMatching(/maximum number of routes \(8\)/) }),
          ),
        );
        expect(output.metric('FailedMutations')).toBe(3);
        // The new node's source/dest check was still fixed; nothing was deleted to make room.
        expect(cloud.state.networkInterfaces.get(NEW_NODE.eni)?.sourceDestCheck).toBe(false);
        expect(recorder.of('deleteRoute', 'run 1')).toEqual([]);
        expect(managedSnapshot(cloud.state)).toEqual(before);
        expectNoDesiredRouteLost(desired, before, managedSnapshot(cloud.state));
        expect(foreignRoutes(cloud.state)).toEqual(foreign);

        // "Clearing" the fault is the operator raising the quota (Service Quotas, L-93826ACB): the quotas control.
        expect(await control(cloud, 'PUT', 'quotas', { routesPerRouteTable: 50 })).toEqual({ status: 200, body: { routesPerRouteTable: 50 } });
        world.startRun('run 2');
        expect(await handle(DIRECT_RECONCILE)).toMatchObject({ status: 'ok', counts: { create: 3, failedMutations: 0 } });
        expectConverged(cloud, foreign);
        expect(recorder.violations).toEqual([]);
      } finally {
        await world.done();
      }
    },
    CASE_TIMEOUT_MS,
  );

  test(
    'the CiliumNode list comes back empty: the empty-list guard vetoes every deletion and keeps the routes',
    async () => {
      const world = await convergedWorld();
      try {
        const { cloud, foreign, recorder } = world;
        const desired = expectedPodRoutes(cloud.state); // the truth: the nodes are there, the list is wrong
        const before = managedSnapshot(cloud.state);
        // The CiliumNodes stay; the Kubernetes API answers their list with no items until the fault is cleared.
        const fault = { service: 'kubernetes', action: 'list ciliumnodes', kind: 'empty' };
        expect((await control(cloud, 'POST', 'faults', fault)).status).toBe(200);
        expect(cloud.state.ciliumNodes.size).toBe(3);
        const handle = await world.handler();

        world.startRun('run 1');
        const run1 = await handle(DIRECT_RECONCILE);
        expect(run1).toMatchObject({ status: 'vetoed', counts: { delete: 0, vetoed: 9, failedMutations: 0 } });
        expect(recorder.of('deleteRoute', 'run 1')).toEqual([]);
        expect(ec2Mutations(cloud)).toEqual([]);
        expect(managedSnapshot(cloud.state)).toEqual(before);
        expectNoDesiredRouteLost(desired, before, managedSnapshot(cloud.state));
        expect(foreignRoutes(cloud.state)).toEqual(foreign);
        // (d): a non-ok status, a WARN line with the guard's reason, the VetoedDeletions metric.
        expect(output.logLines('deletions vetoed by a safety guard; the routes were kept')).toEqual([
          expect.objectContaining({ level: 'WARN', vetoed: 9, reasons: [expect.stringMatching(/^the CiliumNode list is empty while 9 managed routes exist/)] }),
        ]);
        expect(output.metric('VetoedDeletions')).toBe(9);
        expect(output.metric('RoutesDeleted')).toBe(0);

        expect((await control(cloud, 'DELETE', 'faults')).status).toBe(200);
        world.startRun('run 2');
        expect(await handle(DIRECT_RECONCILE)).toMatchObject({ status: 'ok', counts: { create: 0, delete: 0, keep: 9, vetoed: 0 } });
        expect(ec2Mutations(cloud)).toEqual([]);
        expectConverged(cloud, foreign);
        expect(recorder.violations).toEqual([]);
      } finally {
        await world.done();
      }
    },
    CASE_TIMEOUT_MS,
  );

  test(
    'the run hits the Lambda timeout midway through applying: nothing after that reaches EC2, the invocation fails with TimeoutError; a fresh container converges',
    async () => {
      const world = await convergedWorld();
      try {
        const { cloud, foreign, recorder } = world;
        await makeChange(cloud, 'mixed');
        const desired = expectedPodRoutes(cloud.state);
        const before = managedSnapshot(cloud.state);

        // The simulation. The invocation gets a Lambda context with DEADLINE_MS left, so the handler's middy core
        // ends it the way it ends a real one: 5 ms before the deadline it rejects with TimeoutError (and runs its
        // onError middlewares). Meanwhile the run's Ec2Port lets the first COMPLETED mutations through, sends the
        // next one but never hands its answer back (the request reached EC2, the process did not read the reply),
        // and never sends any later one: from that point the run is stuck, as a run that outlives its timeout is,
        // and whatever it had not sent never reaches EC2. (In Lambda the process is then frozen or recycled; here
        // the stuck calls simply never settle.) Source/dest fixes run beside the route lane, which does the
        // deletions that overlap no create (they free room under the quota), then upserts, then the other deletions
        // (applyOrder), so with COMPLETED = 2 the run stops early in its apply. DEADLINE_MS leaves the reads and the first mutations
        // ample time on a loaded machine; the test waits for it once.
        const COMPLETED = 2;
        const DEADLINE_MS = 3_000;
        let entered = 0;
        const sent: Promise<unknown>[] = [];
        let stuck!: () => void;
        const stuckNow = new Promise<'stuck'>((resolve) => (stuck = () => resolve('stuck')));
        const never = <T>() => new Promise<T>(() => {});
        const gate = <T>(call: () => Promise<T>): Promise<T> => {
          entered += 1;
          if (entered > COMPLETED + 1) return never<T>();
          const request = call();
          sent.push(request.catch(() => undefined));
          if (entered <= COMPLETED) return request;
          return request.then(
            () => (stuck(), never<T>()),
            () => (stuck(), never<T>()),
          );
        };
        const freezing = (ec2: Ec2Port): Ec2Port => ({
          describeRouteTables: (selector) => ec2.describeRouteTables(selector),
          findNetworkInterfaces: (vpcId, ips) => ec2.findNetworkInterfaces(vpcId, ips),
          createRoute: (table, destination, target) => gate(() => ec2.createRoute(table, destination, target)),
          replaceRoute: (table, destination, target) => gate(() => ec2.replaceRoute(table, destination, target)),
          deleteRoute: (table, destination) => gate(() => ec2.deleteRoute(table, destination)),
          disableSourceDestCheck: (eni) => gate(() => ec2.disableSourceDestCheck(eni)),
        });
        // The run's own earlier stop (APPLY_TIME_RESERVE_MS) is switched off: what is tested here is the last line
        // of defence, middy's deadline, for a run whose calls hang past that stop.
        const doomed = await makeHandlerWithDeadline((deps) => ({ ...deps, ec2: recorder.wrap(freezing(deps.ec2)) }), DEADLINE_MS, { applyTimeReserveMs: 0 });

        world.startRun('timed-out run');
        const invocation = settle(doomed(DIRECT_RECONCILE));
        expect(await Promise.race([stuckNow, invocation.then(() => 'ended before it got stuck')])).toBe('stuck');
        await Promise.all(sent);
        const reached = ec2Mutations(cloud);
        expect(reached.map((call) => call.status)).toEqual([200, 200, 200]);
        // (a), (b) where the run stopped.
        expectNoDesiredRouteLost(desired, before, managedSnapshot(cloud.state));
        expect(foreignRoutes(cloud.state)).toEqual(foreign);

        // (d): the invocation fails with middy's TimeoutError, which Lambda counts as an error (the Errors alarm).
        // The handler itself writes no line and no metric for it: its summary, its ERROR line and its metrics all
        // come after the apply, which never ended (see the report: a reporting gap, not a wrong change).
        const outcome = await invocation;
        expect(outcome.error).toMatchObject({ name: 'TimeoutError' });
        expect(ec2Mutations(cloud)).toHaveLength(3); // nothing more went out after the deadline either
        expect(output.logLines('reconcile run')).toEqual([]);
        expect(output.metricBlobs()).toEqual([]);

        // A fresh container runs from scratch and does what is left.
        const fresh = await world.handler();
        world.startRun('run 2');
        const run2 = await fresh(DIRECT_RECONCILE);
        // Exactly what the timed-out run had not done is left: whatever reached EC2 is not done again.
        const done = (action: string) => reached.filter((call) => call.action === action).length;
        const upsertsLeft = WORK.mixed.createRoute + WORK.mixed.replaceRoute - done('CreateRoute') - done('ReplaceRoute');
        const deletesLeft = WORK.mixed.deleteRoute - done('DeleteRoute');
        expect(run2).toMatchObject({ status: 'ok', counts: { delete: deletesLeft, sourceDestCheckFixes: WORK.mixed.disableSourceDestCheck - done('ModifyNetworkInterfaceAttribute'), failedMutations: 0 } });
        expect(run2.counts.create! + run2.counts.replace!).toBe(upsertsLeft);
        expect(output.logLines('reconcile run')).toEqual([expect.objectContaining({ status: 'ok', counts: expect.objectContaining({ drift: upsertsLeft + deletesLeft }) })]);
        expectConverged(cloud, foreign);

        // The timed-out container, reused (middy returned an error, so Lambda keeps it): its caches are sound and
        // it finds nothing left to do; its stuck calls never went out.
        world.startRun('run 3');
        expect(await doomed(DIRECT_RECONCILE)).toMatchObject({ status: 'ok', counts: { create: 0, replace: 0, delete: 0, keep: 9, failedMutations: 0 } });
        expect(ec2Mutations(cloud)).toEqual([]);
        expectConverged(cloud, foreign);
        expect(recorder.violations).toEqual([]);
      } finally {
        await world.done();
      }
    },
    CASE_TIMEOUT_MS,
  );

  test(
    'a timed-out invocation starts no mutation after it has returned (the next invocation in the same container must not race its stale plan)',
    async () => {
      const world = await convergedWorld();
      try {
        const { cloud, foreign } = world;
        await makeChange(cloud, 'node-removed'); // 3 stale routes (10.30.1.0/24) to delete
        // A slow EC2 (every DeleteRoute takes 500 ms: the local cloud's latency control) and one mutation in flight
        // at a time (APPLY_CONCURRENCY=1), so that the invocation's 800 ms deadline falls while deletions are left.
        process.env.APPLY_CONCURRENCY = '1';
        expect((await control(cloud, 'PUT', 'latency', [{ service: 'ec2', action: 'DeleteRoute', fixedMs: 500 }])).status).toBe(200);

        // The container's Ec2Port notes, for each mutation the timed-out invocation STARTS (its async context says
        // which invocation a call belongs to), whether the invocation had already returned. One started after that is
        // held until `release()`: that stands for the Lambda freeze, which keeps the leftover work of a returned
        // invocation waiting until the next invocation thaws the same container. Other invocations' calls pass.
        const invocation = new AsyncLocalStorage<string>();
        let returned = false;
        const startedAfterReturn: string[] = [];
        const inFlightAtReturn: Promise<unknown>[] = [];
        const leftovers: Promise<unknown>[] = [];
        let release!: () => void;
        const thawed = new Promise<void>((resolve) => (release = resolve));
        const watch = (what: string, call: () => Promise<unknown>): Promise<any> => {
          if (invocation.getStore() !== 'timed-out') return call();
          if (!returned) {
            const request = call();
            inFlightAtReturn.push(request.catch(() => undefined));
            return request;
          }
          startedAfterReturn.push(what);
          const request = thawed.then(call);
          leftovers.push(request.catch(() => undefined));
          return request;
        };
        const watched = (ec2: Ec2Port): Ec2Port => ({
          describeRouteTables: (selector) => ec2.describeRouteTables(selector),
          findNetworkInterfaces: (vpcId, ips) => ec2.findNetworkInterfaces(vpcId, ips),
          createRoute: (table, destination, target) => watch(`CreateRoute ${table} ${destination}`, () => ec2.createRoute(table, destination, target)),
          replaceRoute: (table, destination, target) => watch(`ReplaceRoute ${table} ${destination}`, () => ec2.replaceRoute(table, destination, target)),
          deleteRoute: (table, destination) => watch(`DeleteRoute ${table} ${destination}`, () => ec2.deleteRoute(table, destination)),
          disableSourceDestCheck: (eni) => watch(`ModifyNetworkInterfaceAttribute ${eni}`, () => ec2.disableSourceDestCheck(eni)),
        });
        // The recorder sits below the hold: it sees each mutation when it actually goes out to EC2.
        // The run's own earlier stop is switched off (see the case above): the invocation is ended by middy.
        const container = await makeHandlerWithDeadline((deps) => ({ ...deps, ec2: watched(world.recorder.wrap(deps.ec2)) }), 800, { applyTimeReserveMs: 0 });

        world.startRun('timed-out run');
        const timedOut = await settle(
          invocation.run('timed-out', () => container(DIRECT_RECONCILE)).finally(() => {
            returned = true;
          }),
        );
        expect(timedOut.error).toMatchObject({ name: 'TimeoutError' });
        await Promise.all(inFlightAtReturn);

        // Meanwhile Cilium hands the freed pod CIDR to a new node, and the next invocation runs in the same container.
        expect((await control(cloud, 'DELETE', 'faults')).status).toBe(200); // the latency
        const reused = { ...NEW_NODE, cidr: '10.30.1.0/24' };
        expect((await control(cloud, 'POST', 'scenario/launch-instance', { instanceId: reused.instanceId, subnetId: reused.subnetId, privateIp: reused.ip, networkInterfaceId: reused.eni })).status).toBe(200);
        expect((await control(cloud, 'POST', 'scenario/allocate-cidr', { node: reused.name, cidr: reused.cidr, nodeIp: reused.ip })).status).toBe(200);
        world.startRun('next invocation');
        expect(await container(DIRECT_RECONCILE, 30_000)).toMatchObject({ status: 'ok', counts: { failedMutations: 0 } });
        expectConverged(cloud, foreign); // the new node's route is in every table

        // The container thaws again: whatever the timed-out invocation still had to do goes out now.
        world.recorder.run = 'leftover of the timed-out run';
        release();
        await Promise.all(leftovers);
        const lost = Object.entries(managedSnapshot(cloud.state))
          .filter(([, routes]) => routes[reused.cidr] !== reused.eni)
          .map(([table, routes]) => `${table} ${reused.cidr}: ${routes[reused.cidr] ?? 'absent'}`);

        // The next scheduled run repairs whatever was lost.
        world.startRun('scheduled run');
        expect(await container(DIRECT_RECONCILE, 30_000)).toMatchObject({ status: 'ok', counts: { failedMutations: 0 } });
        expectConverged(cloud, foreign);

        // The invariant: once the invocation has returned, the run it started changes nothing more. The handler
        // hands middy's abort signal (fired at the deadline) to applyPlan, which then starts no further mutation;
        // before it did, the leftover DeleteRoute of the old plan removed the route the next invocation had just
        // put in place.
        expect({ startedAfterReturn, lost, violations: world.recorder.violations }).toEqual({ startedAfterReturn: [], lost: [], violations: [] });
      } finally {
        await world.done();
      }
    },
    CASE_TIMEOUT_MS,
  );

  test(
    'a run that reaches its own time budget (the invocation\'s time left minus APPLY_TIME_RESERVE_MS) stops starting mutations and ends on its own: status unfinished, a warning and MutationsNotStarted, no error; the next run continues',
    async () => {
      const world = await convergedWorld();
      try {
        const { cloud, foreign, recorder } = world;
        await makeChange(cloud, 'node-removed'); // 3 stale routes (10.30.1.0/24) to delete
        const desired = expectedPodRoutes(cloud.state);
        const before = managedSnapshot(cloud.state);
        // Every DeleteRoute takes 1 s and one runs at a time, while the invocation has 1.5 s beyond the reserve: the
        // first deletion starts in time, at most the second does, the third cannot. The Lambda deadline itself
        // (reserve + 1.5 s) is never reached, so the run ends by itself, with its report.
        process.env.APPLY_CONCURRENCY = '1';
        expect((await control(cloud, 'PUT', 'latency', [{ service: 'ec2', action: 'DeleteRoute', fixedMs: 1_000 }])).status).toBe(200);
        const container = await makeHandlerWithDeadline((deps) => ({ ...deps, ec2: recorder.wrap(deps.ec2) }), APPLY_TIME_RESERVE_MS + 1_500);

        world.startRun('run stopped by its budget');
        const run1 = await settle(container(DIRECT_RECONCILE));
        expect(run1.error).toBeUndefined();
        expect(run1.result).toMatchObject({ status: 'unfinished', counts: { delete: 3, failedMutations: 0 } });
        const deleted = ec2Mutations(cloud).filter((call) => call.action === 'DeleteRoute' && call.status === 200).length;
        expect(deleted).toBeGreaterThanOrEqual(1);
        expect(deleted).toBeLessThanOrEqual(2);
        expect(ec2Mutations(cloud)).toHaveLength(deleted);
        // Reported as what it is: a summary with status unfinished, one warning with what was done and what is
        // left, the MutationsNotStarted metric; no ERROR line.
        expect(output.logLines('reconcile run')).toEqual([expect.objectContaining({ status: 'unfinished', applied: expect.objectContaining({ deleted }) })]);
        expect(output.logLines('reconcile run stopped before its deadline with mutations left; the next run continues')).toEqual([
          expect.objectContaining({ level: 'WARN', done: deleted, notStarted: 3 - deleted }),
        ]);
        expect(output.metric('MutationsNotStarted')).toBe(3 - deleted);
        expect(output.metric('FailedMutations')).toBe(0);
        expect(output.logLines().filter((line) => line.level === 'ERROR')).toEqual([]);
        expectNoDesiredRouteLost(desired, before, managedSnapshot(cloud.state));
        expect(foreignRoutes(cloud.state)).toEqual(foreign);

        // The next run (same container) plans exactly what was left and converges.
        expect((await control(cloud, 'DELETE', 'faults')).status).toBe(200); // the latency
        world.startRun('next run');
        expect(await container(DIRECT_RECONCILE)).toMatchObject({ status: 'ok', counts: { delete: 3 - deleted, failedMutations: 0 } });
        expectConverged(cloud, foreign);
        expect(recorder.violations).toEqual([]);
      } finally {
        await world.done();
      }
    },
    CASE_TIMEOUT_MS,
  );

  test(
    'two runs at once (two containers, both planned from the same reads): both finish ok, each collision is absorbed, the tables converge',
    async () => {
      const world = await convergedWorld();
      try {
        const { cloud, foreign, recorder } = world;
        await makeChange(cloud, 'mixed');
        const desired = expectedPodRoutes(cloud.state);
        const before = managedSnapshot(cloud.state);

        // A barrier before the first mutation of each run: both have read and planned before either writes, so
        // every create, replace and delete is sent twice.
        let arrived = 0;
        let release!: () => void;
        const barrier = new Promise<void>((resolve) => (release = resolve));
        const gated = (ec2: Ec2Port): Ec2Port => {
          let first = true;
          const gate = async <T>(call: () => Promise<T>): Promise<T> => {
            if (first) {
              first = false;
              arrived += 1;
              if (arrived === 2) release();
            }
            await barrier;
            return call();
          };
          return {
            describeRouteTables: (selector) => ec2.describeRouteTables(selector),
            findNetworkInterfaces: (vpcId, ips) => ec2.findNetworkInterfaces(vpcId, ips),
            createRoute: (table, destination, target) => gate(() => ec2.createRoute(table, destination, target)),
            replaceRoute: (table, destination, target) => gate(() => ec2.replaceRoute(table, destination, target)),
            deleteRoute: (table, destination) => gate(() => ec2.deleteRoute(table, destination)),
            disableSourceDestCheck: (eni) => gate(() => ec2.disableSourceDestCheck(eni)),
          };
        };
        const [first, second] = await Promise.all([world.handler({ ec2: gated }), world.handler({ ec2: gated })]);

        world.startRun('run 1');
        const [a, b] = await Promise.all([settle(first!(DIRECT_RECONCILE)), settle(second!(DIRECT_RECONCILE))]);
        expect([a.error, b.error]).toEqual([undefined, undefined]);
        for (const run of [a, b]) expect(run.result).toMatchObject({ status: 'ok', counts: { create: 3, replace: 1, delete: 3, failedMutations: 0 } });
        // Each route was created by one run; the other met RouteAlreadyExists and took over the (identical) route
        // with ReplaceRoute. Each stale route was deleted by one run; the other met InvalidRoute.NotFound (done).
        const outcomes = (method: 'createRoute' | 'replaceRoute' | 'deleteRoute') =>
          recorder
            .of(method, 'run 1')
            .map((m) => m.outcome ?? m.error)
            .sort();
        expect(outcomes('createRoute')).toEqual(['created', 'created', 'created', 'replaced', 'replaced', 'replaced']);
        expect(outcomes('replaceRoute')).toEqual(['replaced', 'replaced']);
        expect(outcomes('deleteRoute')).toEqual(['already-gone', 'already-gone', 'already-gone', 'deleted', 'deleted', 'deleted']);
        const refused = cloud.state.calls.filter((call) => call.status !== 200).map((call) => `${call.service} ${call.action} ${call.error}`);
        expect(refused.sort()).toEqual([...Array(3).fill('ec2 CreateRoute RouteAlreadyExists'), ...Array(3).fill('ec2 DeleteRoute InvalidRoute.NotFound')]);
        // (d): nothing failed, so nothing to report beyond the two summaries; no ERROR line.
        expect(output.logLines('reconcile run').map((line) => line.status)).toEqual(['ok', 'ok']);
        expect(output.logLines().filter((line) => line.level === 'ERROR')).toEqual([]);
        expectNoDesiredRouteLost(desired, before, managedSnapshot(cloud.state));
        expect(foreignRoutes(cloud.state)).toEqual(foreign);
        expectConverged(cloud, foreign);

        world.startRun('run 2');
        expect(await first!(DIRECT_RECONCILE)).toMatchObject({ status: 'ok', counts: { create: 0, replace: 0, delete: 0, keep: 9, sourceDestCheckFixes: 0 } });
        expect(ec2Mutations(cloud)).toEqual([]);
        expectConverged(cloud, foreign);
        expect(recorder.violations).toEqual([]);
      } finally {
        await world.done();
      }
    },
    CASE_TIMEOUT_MS,
  );

  test(
    'an instance is terminated between the read and the write: its mutations are left and reported, not failed; the next run leaves it unresolved',
    async () => {
      const world = await convergedWorld();
      try {
        const { cloud, foreign, recorder } = world;
        await makeChange(cloud, 'mixed');
        const desired = expectedPodRoutes(cloud.state);
        const before = managedSnapshot(cloud.state);

        // Before the run's first mutation leaves (after every read), the new node's instance is terminated: EC2
        // deletes its ENI, so the source/dest fix and the three creates planned for it name an ENI that is gone.
        let terminated = false;
        const terminateFirst = (ec2: Ec2Port): Ec2Port => {
          const gate = async <T>(call: () => Promise<T>): Promise<T> => {
            if (!terminated) {
              terminated = true;
              expect((await control(cloud, 'POST', 'scenario/terminate-instance', { instanceId: NEW_NODE.instanceId })).status).toBe(200);
            }
            return call();
          };
          return {
            describeRouteTables: (selector) => ec2.describeRouteTables(selector),
            findNetworkInterfaces: (vpcId, ips) => ec2.findNetworkInterfaces(vpcId, ips),
            createRoute: (table, destination, target) => gate(() => ec2.createRoute(table, destination, target)),
            replaceRoute: (table, destination, target) => gate(() => ec2.replaceRoute(table, destination, target)),
            deleteRoute: (table, destination) => gate(() => ec2.deleteRoute(table, destination)),
            disableSourceDestCheck: (eni) => gate(() => ec2.disableSourceDestCheck(eni)),
          };
        };
        const handle = await world.handler({ ec2: terminateFirst });

        world.startRun('run 1');
        const run1 = await settle(handle(DIRECT_RECONCILE));
        expect(terminated).toBe(true);
        expect(cloud.state.networkInterfaces.has(NEW_NODE.eni)).toBe(false);
        // Nothing is wrong with the tables: the invocation succeeds (no SQS retry holding the queue up), and says
        // what it left and why.
        expect(run1.error).toBeUndefined();
        expect(run1.result).toMatchObject({ status: 'unfinished' });
        expect(output.logLines('reconcile run had failed mutations')).toEqual([]);
        expect(output.logLines('mutations left: the ENI they name was deleted during the run (its instance terminated); the next run plans from what is left')).toEqual([
          expect.objectContaining({ level: 'WARN', targetGone: 4, networkInterfaceIds: [NEW_NODE.eni] }),
        ]);
        expect(output.metric('MutationTargetsGone')).toBe(4);
        expect(output.metric('FailedMutations')).toBe(0);
        // The rest of the work was done: the hijacked route replaced, the stale routes deleted.
        expect(recorder.of('replaceRoute', 'run 1').map((m) => m.outcome)).toEqual(['replaced']);
        expect(recorder.of('deleteRoute', 'run 1').map((m) => m.outcome)).toEqual(['deleted', 'deleted', 'deleted']);
        expectNoDesiredRouteLost(desired, before, managedSnapshot(cloud.state));
        expect(foreignRoutes(cloud.state)).toEqual(foreign);

        // Nothing to clear: the next run sees the node's IP with no ENI and reports it unresolved, creating nothing.
        world.startRun('run 2');
        const run2 = (await handle(DIRECT_RECONCILE)) as HandlerResult & { unresolved: { node: string }[] };
        expect(run2).toMatchObject({ status: 'ok', counts: { create: 0, replace: 0, delete: 0, failedMutations: 0 } });
        expect(run2.unresolved.map((entry) => entry.node)).toEqual([NEW_NODE.name]);
        expect(output.metric('UnresolvedNodes')).toBe(1);
        expect(ec2Mutations(cloud)).toEqual([]);
        expectConverged(cloud, foreign);
        expect(recorder.violations).toEqual([]);
      } finally {
        await world.done();
      }
    },
    CASE_TIMEOUT_MS,
  );
});
