/**
 * The reconcile service over the port fakes: reads are all-or-nothing (any failed or inconsistent read
 * aborts before the first mutation), mutations run in a safe order with bounded concurrency, one failed
 * mutation does not stop the others, and a converged world plans nothing.
 */
import { type ControllerConfig, ENV_LABELS, type RawControllerConfig, parseControllerConfig } from '../../../functions/core/config.js';
import { IncompleteReadError } from '../../../functions/core/errors.js';
import type { CiliumNodeRecord, NetworkInterfaceRecord } from '../../../functions/core/types.js';
import { MAX_NODE_READS_PER_RUN, type ReconcileDeps, applyPlan, observe, planFromState, reconcile } from '../../../functions/service/reconcile.js';
import { OTHER_VPC, REMOTE_VPC, ciliumNode, eni, eniId, factsNode, foreignRoutes, nodeName, route, table } from '../../support/builders.js';
import {
  type FakeRouteTable,
  type FakeWorld,
  InstrumentedEc2,
  LAB_CLUSTER,
  LAB_ENI,
  LAB_NODE,
  LAB_NODE_IP,
  LAB_POD_CIDR,
  LAB_ROUTE_TABLE,
  type MutationEvent,
  type PortCall,
  fakeWorld,
  labClusterInfo,
  steppingClock,
} from '../../support/fakes.js';

const T1 = LAB_ROUTE_TABLE;
const T2 = 'rtb-0a1b2c3d4e5f60002';
const NODE_B = nodeName(2);
const NODE_B_IP = '10.20.1.11';
const NODE_B_CIDR = '10.30.1.0/24';
const ENI_B = eniId(2);
const WRONG_ENI = eniId(0x99);
const STALE_ENI = eniId(0x98);
const STALE_CIDR = '10.30.9.0/24';

function config(overrides: Partial<RawControllerConfig> = {}): ControllerConfig {
  return parseControllerConfig({ clusterName: LAB_CLUSTER, routeTableIds: `${T1},${T2}`, ...overrides }, ENV_LABELS);
}

/**
 * Two nodes, two managed tables. T1 drifted: the lab node's route points at a wrong ENI, node B's route is
 * missing, and a stale route is left over; T2 is right. The lab node's ENI still checks source/dest.
 */
function driftTables(): FakeRouteTable[] {
  return [
    table(T1, [...foreignRoutes(), route.managed(LAB_POD_CIDR, WRONG_ENI), route.managed(STALE_CIDR, STALE_ENI)]),
    table(T2, [...foreignRoutes(), route.managed(LAB_POD_CIDR, LAB_ENI), route.managed(NODE_B_CIDR, ENI_B)]),
  ];
}
const driftNodes = (): CiliumNodeRecord[] => [factsNode(), ciliumNode(NODE_B, NODE_B_IP, [NODE_B_CIDR])];
const driftInterfaces = (): NetworkInterfaceRecord[] => [eni(LAB_ENI, LAB_NODE_IP, { sourceDestCheck: true }), eni(ENI_B, NODE_B_IP)];

function driftWorld(ec2?: InstrumentedEc2): FakeWorld {
  if (ec2) {
    ec2.tables = driftTables();
    ec2.interfaces = driftInterfaces();
  }
  return fakeWorld({ nodes: driftNodes(), tables: driftTables(), interfaces: driftInterfaces(), ...(ec2 ? { ec2 } : {}) });
}

/** `n` nodes, each with a pod CIDR and an ENI whose source/dest check is on, and none of their routes yet. */
function manyNodesWorld(n: number, ec2: InstrumentedEc2): FakeWorld {
  const nodes = Array.from({ length: n }, (_, i) => ciliumNode(nodeName(i + 1), `10.20.2.${i + 1}`, [`10.30.${i + 1}.0/24`]));
  ec2.tables = [table(T1, foreignRoutes())];
  ec2.interfaces = Array.from({ length: n }, (_, i) => eni(eniId(i + 1), `10.20.2.${i + 1}`, { sourceDestCheck: true }));
  return fakeWorld({ nodes, ec2 });
}

const callLine = (call: PortCall) => `${call.method} ${call.args.join(' ')}`;
const mutationLines = (world: FakeWorld) => world.ec2.mutations().map(callLine);

async function incompleteRead(run: Promise<unknown>): Promise<IncompleteReadError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IncompleteReadError);
  return error as IncompleteReadError;
}

describe('observe: any failed or inconsistent read aborts the run before the first mutation', () => {
  test('the drift world reads completely (baseline for the failure cases below)', async () => {
    const world = driftWorld();
    const state = await observe(world.deps, config());
    expect(state.vpcId).toBe(REMOTE_VPC);
    expect(state.routeTables.map((t) => t.routeTableId)).toEqual([T1, T2]);
    expect(state.ciliumNodes.map((n) => n.name)).toEqual([LAB_NODE, NODE_B]);
    expect(state.networkInterfaces.map((e) => e.networkInterfaceId).sort()).toEqual([ENI_B, LAB_ENI].sort());
    const report = await reconcile(world.deps, config(), 'apply');
    expect(report.status).toBe('ok');
    expect(world.ec2.mutations().length).toBeGreaterThan(0);
  });

  test.each<[string, IncompleteReadError['source'], (world: FakeWorld) => void]>([
    ['DescribeCluster fails', 'cluster', (w) => (w.cluster.failure = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }))],
    ['listing CiliumNodes fails (the port never returns a partial list, so a failed later page throws too)', 'ciliumnodes', (w) => (w.kubernetes.failure = () => Object.assign(new Error('list ciliumnodes failed: HTTP 500 on page 2'), { name: 'KubernetesApiError' }))],
    ['DescribeRouteTables fails', 'route-tables', (w) => (w.ec2.failures.describeRouteTables = Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' }))],
    ['DescribeNetworkInterfaces fails', 'network-interfaces', (w) => (w.ec2.failures.findNetworkInterfaces = Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' }))],
  ])('%s → IncompleteReadError(%s), the cause kept, nothing mutated', async (_name, source, breakIt) => {
    const world = driftWorld();
    breakIt(world);
    const error = await incompleteRead(reconcile(world.deps, config(), 'apply'));
    expect(error.source).toBe(source);
    expect(error.message).toMatch(new RegExp(`^${source}: read failed, nothing was changed: `));
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.message).toContain((error.cause as Error).message);
    expect(world.ec2.mutations()).toEqual([]);
  });

  test('connecting to the Kubernetes API (token, client) fails → IncompleteReadError(ciliumnodes), nothing mutated', async () => {
    const world = driftWorld();
    const deps: ReconcileDeps = {
      ...world.deps,
      ciliumNodes: async () => {
        throw new Error('AssumeRole failed: AccessDenied');
      },
    };
    const error = await incompleteRead(reconcile(deps, config(), 'apply'));
    expect(error.source).toBe('ciliumnodes');
    expect(error.message).toContain('AssumeRole failed: AccessDenied');
    expect(world.ec2.mutations()).toEqual([]);
  });

  test('a failed CiliumNode read makes the cluster port forget its cached answer; other failures do not', async () => {
    const world = driftWorld();
    const forgotten: string[] = [];
    const deps: ReconcileDeps = { ...world.deps, cluster: { describeCluster: (name) => world.deps.cluster.describeCluster(name), forget: (name) => forgotten.push(name) } };
    world.ec2.failures.describeRouteTables = Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' });
    await incompleteRead(reconcile(deps, config(), 'apply'));
    expect(forgotten).toEqual([]);
    delete world.ec2.failures.describeRouteTables;
    world.kubernetes.failure = () => Object.assign(new Error('certificate signed by unknown authority'), { name: 'KubernetesApiError' });
    await incompleteRead(reconcile(deps, config(), 'apply'));
    expect(forgotten).toEqual([LAB_CLUSTER]);
  });

  test('the cluster has no remote pod networks → IncompleteReadError(cluster), nothing mutated', async () => {
    const world = fakeWorld({ cluster: labClusterInfo({ remoteNodeNetworks: ['10.20.0.0/16'], remotePodNetworks: [] }) });
    const error = await incompleteRead(reconcile(world.deps, config({ routeTableIds: T1 }), 'apply'));
    expect(error.source).toBe('cluster');
    expect(error.message).toContain('remotePodNetworks');
    expect(world.ec2.mutations()).toEqual([]);
  });

  test('an explicitly named route table missing from DescribeRouteTables → IncompleteReadError naming it, nothing mutated', async () => {
    const world = driftWorld();
    const missing = 'rtb-0a1b2c3d4e5f6ffff';
    const error = await incompleteRead(reconcile(world.deps, config({ routeTableIds: `${T1},${missing},${T2}` }), 'apply'));
    expect(error.source).toBe('route-tables');
    expect(error.message).toContain(missing);
    expect(error.message).not.toContain(T2);
    expect(world.ec2.mutations()).toEqual([]);
  });

  test('managed tables in two VPCs → IncompleteReadError naming both VPCs, nothing mutated', async () => {
    const [t1, t2] = driftTables();
    const world = fakeWorld({ nodes: driftNodes(), interfaces: driftInterfaces(), tables: [t1!, { ...t2!, vpcId: OTHER_VPC }] });
    const error = await incompleteRead(reconcile(world.deps, config(), 'apply'));
    expect(error.source).toBe('route-tables');
    expect(error.message).toContain(REMOTE_VPC);
    expect(error.message).toContain(OTHER_VPC);
    expect(world.ec2.mutations()).toEqual([]);
  });

  test('two VPCs through a tag selector are refused the same way', async () => {
    const [t1, t2] = driftTables();
    const tags = { 'eks-hybrid-routes/managed': 'true' };
    const world = fakeWorld({ nodes: driftNodes(), interfaces: driftInterfaces(), tables: [{ ...t1!, tags }, { ...t2!, vpcId: OTHER_VPC, tags }] });
    const error = await incompleteRead(reconcile(world.deps, config({ routeTableIds: undefined, routeTableTag: 'eks-hybrid-routes/managed=true' }), 'apply'));
    expect(error.source).toBe('route-tables');
    expect(world.ec2.mutations()).toEqual([]);
  });

  test('with the remote VPC configured, a tag selects only that VPC’s tables: the same tag elsewhere is left alone', async () => {
    const [t1, t2] = driftTables();
    const tags = { 'eks-hybrid-routes/managed': 'true' };
    const elsewhere = { ...t2!, routeTableId: 'rtb-0e1e1e1e1e1e1e1e1', vpcId: OTHER_VPC, tags };
    const world = fakeWorld({ nodes: driftNodes(), interfaces: driftInterfaces(), tables: [{ ...t1!, tags }, structuredClone(elsewhere)] });

    const report = await reconcile(world.deps, config({ routeTableIds: undefined, routeTableTag: 'eks-hybrid-routes/managed=true', vpcId: REMOTE_VPC }), 'apply');

    expect(report.status).toBe('ok');
    expect(mutationLines(world).every((line) => !line.includes(elsewhere.routeTableId))).toBe(true);
    expect(mutationLines(world).some((line) => line.includes(t1!.routeTableId))).toBe(true);
    expect(world.ec2.tables.find((candidate) => candidate.routeTableId === elsewhere.routeTableId)).toEqual(elsewhere);
  });

  test('tables outside the configured remote VPC → IncompleteReadError, nothing mutated', async () => {
    const world = driftWorld();
    const error = await incompleteRead(reconcile(world.deps, config({ vpcId: OTHER_VPC }), 'apply'));
    expect(error.source).toBe('route-tables');
    expect(error.message).toContain(OTHER_VPC);
    expect(world.ec2.mutations()).toEqual([]);
  });

  test('a node refused for an unreadable pod CIDR: its ENI is looked up in the same call, and its routes are kept', async () => {
    const world = fakeWorld({
      nodes: [factsNode(), ciliumNode(NODE_B, NODE_B_IP, ['10.30.1.0/24x'])],
      tables: [table(T1, [...foreignRoutes(), route.managed(NODE_B_CIDR, ENI_B), route.managed(STALE_CIDR, ENI_B)]), table(T2, foreignRoutes())],
      interfaces: driftInterfaces(),
    });

    const report = await reconcile(world.deps, config(), 'apply');

    const lookups = world.ec2.calls.filter((call) => call.method === 'findNetworkInterfaces');
    expect(lookups).toHaveLength(1);
    expect(lookups[0]!.args[1]).toEqual([LAB_NODE_IP, NODE_B_IP]);
    expect(mutationLines(world).filter((line) => line.includes(ENI_B) || line.startsWith('deleteRoute'))).toEqual([]);
    expect(report.plan.protected.map((entry) => `${entry.destination} ${entry.node}`).sort()).toEqual([`${NODE_B_CIDR} ${NODE_B}`, `${STALE_CIDR} ${NODE_B}`]);
  });

  test.each([
    ['with the remote VPC configured', { vpcId: REMOTE_VPC }, `no route table in ${REMOTE_VPC} carries the tag`],
    ['without it', {}, 'no route table carries the tag'],
  ])('a tag that matches no table, %s → IncompleteReadError naming the tag, nothing mutated (never a quiet run managing nothing)', async (_label, overrides, text) => {
    const world = driftWorld();
    const error = await incompleteRead(reconcile(world.deps, config({ routeTableIds: undefined, routeTableTag: 'eks-hybrid-routes/Managed=true', ...overrides }), 'apply'));
    expect(error.source).toBe('route-tables');
    expect(error.message).toContain(`${text} eks-hybrid-routes/Managed=true; check the configured tag`);
    expect(world.ec2.mutations()).toEqual([]);
  });

  test('a tag that matches no table while nodes exist → IncompleteReadError, no ENI lookup, nothing mutated', async () => {
    const world = driftWorld();
    const error = await incompleteRead(reconcile(world.deps, config({ routeTableIds: undefined, routeTableTag: 'nobody=uses-this' }), 'apply'));
    expect(error.source).toBe('route-tables');
    expect(world.ec2.mutations()).toEqual([]);
    expect(world.ec2.calls.map((c) => c.method)).not.toContain('findNetworkInterfaces');
  });
});

describe('applyPlan', () => {
  async function plannedFor(world: FakeWorld, cfg = config()) {
    return planFromState(await observe(world.deps, cfg), cfg);
  }

  const firstIndex = (events: MutationEvent[], phase: MutationEvent['phase'], methods: string[]) =>
    events.findIndex((e) => e.phase === phase && methods.includes(e.method));
  const lastIndex = (events: MutationEvent[], phase: MutationEvent['phase'], methods: string[]) =>
    events.findLastIndex((e) => e.phase === phase && methods.includes(e.method));

  test('source/dest checks run beside the routes; routes: deletions that overlap no create, then creates/replaces, then the other deletions — each route phase waits for the one before', async () => {
    const ec2 = new InstrumentedEc2();
    // Three ENIs with the check on, creates and a replace; two stale routes apart from everything, and one
    // stale /23 that covers a /24 being created (its removal waits until the /24 exists).
    const world = manyNodesWorld(3, ec2);
    ec2.tables[0]!.routes.push(
      route.managed('10.30.1.0/24', WRONG_ENI),
      route.managed('10.30.8.0/24', STALE_ENI),
      route.managed('10.30.9.0/24', STALE_ENI),
      route.managed('10.30.2.0/23', STALE_ENI),
    );
    // The checks are slow: the whole route lane fits inside one of them.
    const delays: Record<string, number> = { disableSourceDestCheck: 1_000, createRoute: 10, replaceRoute: 15, deleteRoute: 5 };
    ec2.delay = (call) => delays[call.method] ?? 0;
    const plan = await plannedFor(world, config({ routeTableIds: T1, force: 'true' }));
    expect(plan.counts).toMatchObject({ create: 2, replace: 1, delete: 3, sourceDestCheckFixes: 3 });

    const outcome = await applyPlan(ec2, plan, { concurrency: 8 });
    expect(outcome).toEqual({ created: 2, replaced: 1, deleted: 3, sourceDestCheckDisabled: 3, failed: [], notStarted: 0 });
    const order = ec2
      .mutations()
      .filter((c) => c.method !== 'disableSourceDestCheck')
      .map((c) => `${c.method} ${c.args[1]}`);
    expect(order.slice(0, 2).sort()).toEqual(['deleteRoute 10.30.8.0/24', 'deleteRoute 10.30.9.0/24']);
    expect(order.slice(2, 5).sort()).toEqual(['createRoute 10.30.2.0/24', 'createRoute 10.30.3.0/24', 'replaceRoute 10.30.1.0/24']);
    expect(order.slice(5)).toEqual(['deleteRoute 10.30.2.0/23']);
    const { events } = ec2;
    type Event = (typeof events)[number];
    const lastEnd = (match: (event: Event) => boolean) => Math.max(...events.flatMap((event, i) => (event.phase === 'end' && match(event) ? [i] : [])));
    const firstStart = (match: (event: Event) => boolean) => Math.min(...events.flatMap((event, i) => (event.phase === 'start' && match(event) ? [i] : [])));
    const check = (event: Event) => event.method === 'disableSourceDestCheck';
    const freeing = (event: Event) => event.method === 'deleteRoute' && event.args[1] !== '10.30.2.0/23';
    const upsert = (event: Event) => event.method === 'createRoute' || event.method === 'replaceRoute';
    const coveringDelete = (event: Event) => event.method === 'deleteRoute' && event.args[1] === '10.30.2.0/23';
    // The route phases do not overlap in time …
    expect(lastEnd(freeing)).toBeLessThan(firstStart(upsert));
    expect(lastEnd(upsert)).toBeLessThan(firstStart(coveringDelete));
    // … while the checks neither wait for the routes nor hold them back: all start at once, and the whole route
    // lane runs before the first check ends.
    expect(firstStart(check)).toBe(0);
    expect(firstStart(freeing)).toBeLessThan(lastEnd(check));
    expect(lastEnd(coveringDelete)).toBeLessThan(Math.min(...events.flatMap((event, i) => (event.phase === 'end' && check(event) ? [i] : []))));
  });

  test('a deletion that waits for an overlapping create is held back when that create fails; the others go on', async () => {
    const ec2 = new InstrumentedEc2();
    const world = manyNodesWorld(3, ec2);
    // The stale /23 covers 10.30.2.0/24, which is being created: deleting it after a failed create would open
    // the very gap the order exists to avoid. The stale /24 apart from everything still goes.
    ec2.tables[0]!.routes.push(route.managed('10.30.2.0/23', STALE_ENI), route.managed('10.30.9.0/24', STALE_ENI));
    ec2.failWhen = (call) =>
      call.method === 'createRoute' && call.args[1] === '10.30.2.0/24' ? Object.assign(new Error('The maximum number of routes has been reached.'), { name: 'RouteLimitExceeded' }) : undefined;
    const plan = await plannedFor(world, config({ routeTableIds: T1, force: 'true' }));
    expect(plan.counts).toMatchObject({ create: 3, delete: 2 });

    const outcome = await applyPlan(ec2, plan, { concurrency: 4 });

    expect(outcome.failed.map((failure) => `${failure.kind} ${failure.destination}`)).toEqual(['create 10.30.2.0/24']);
    expect(outcome.heldBack).toEqual([{ routeTableId: T1, destination: '10.30.2.0/23', reason: 'kept: the create of 10.30.2.0/24 it makes way for failed' }]);
    expect(outcome).toMatchObject({ created: 2, deleted: 1 });
    expect(ec2.mutations().filter((call) => call.method === 'deleteRoute').map((call) => call.args[1])).toEqual(['10.30.9.0/24']);
    expect(ec2.tables[0]!.routes.some((candidate) => candidate.destination === '10.30.2.0/23')).toBe(true);
  });

  test('a failed create does not stop the others; each failure names kind, table, destination (or ENI), code and message', async () => {
    const ec2 = new InstrumentedEc2();
    const world = driftWorld(ec2);
    // One more node, so other creates (in both tables) exist beside the failing one.
    world.kubernetes.nodes.push(ciliumNode(nodeName(3), '10.20.1.12', ['10.30.2.0/24']));
    ec2.interfaces.push(eni(eniId(3), '10.20.1.12'));
    ec2.failWhen = (call) =>
      call.method === 'createRoute' && call.args[1] === NODE_B_CIDR
        ? Object.assign(new Error('The maximum number of routes has been reached.'), { name: 'RouteLimitExceeded' })
        : undefined;
    const plan = await plannedFor(world);
    expect(plan.counts).toMatchObject({ create: 3, replace: 1, delete: 1, sourceDestCheckFixes: 1 });

    const outcome = await applyPlan(ec2, plan, { concurrency: 4 });
    expect(outcome.failed).toEqual([
      {
        kind: 'create',
        routeTableId: T1,
        destination: NODE_B_CIDR,
        error: 'RouteLimitExceeded: The maximum number of routes has been reached.',
        code: 'RouteLimitExceeded',
      },
    ]);
    expect(outcome).toMatchObject({ created: 2, replaced: 1, deleted: 1, sourceDestCheckDisabled: 1 });
    expect(mutationLines(world).sort()).toEqual(
      [
        `disableSourceDestCheck ${LAB_ENI}`,
        `replaceRoute ${T1} ${LAB_POD_CIDR} ${LAB_ENI}`,
        `createRoute ${T1} ${NODE_B_CIDR} ${ENI_B}`,
        `createRoute ${T1} 10.30.2.0/24 ${eniId(3)}`,
        `createRoute ${T2} 10.30.2.0/24 ${eniId(3)}`,
        `deleteRoute ${T1} ${STALE_CIDR}`,
      ].sort(),
    );
    // The fake's tables show the successful ones took effect and the failed one did not.
    const t1 = ec2.tables.find((t) => t.routeTableId === T1)!;
    expect(t1.routes.find((r) => r.destination === '10.30.2.0/24')?.networkInterfaceId).toBe(eniId(3));
    expect(t1.routes.find((r) => r.destination === LAB_POD_CIDR)?.networkInterfaceId).toBe(LAB_ENI);
    expect(t1.routes.find((r) => r.destination === STALE_CIDR)).toBeUndefined();
    expect(t1.routes.find((r) => r.destination === NODE_B_CIDR)).toBeUndefined();
  });

  test('failed replace, delete and source/dest check are each reported with their own kind, and the rest still runs', async () => {
    const ec2 = new InstrumentedEc2();
    const world = driftWorld(ec2);
    const fail = (name: string) => Object.assign(new Error(`${name} happened`), { name });
    ec2.failWhen = (call) =>
      call.method === 'replaceRoute'
        ? fail('InvalidRouteTableID.NotFound')
        : call.method === 'deleteRoute'
          ? fail('UnauthorizedOperation')
          : call.method === 'disableSourceDestCheck'
            ? fail('InvalidNetworkInterfaceID.Malformed')
            : undefined;
    const outcome = await applyPlan(ec2, await plannedFor(world), { concurrency: 2 });
    expect(outcome.created).toBe(1);
    expect(outcome.failed).toHaveLength(3);
    expect(outcome.failed).toEqual(
      expect.arrayContaining([
        { kind: 'source-dest-check', networkInterfaceId: LAB_ENI, error: 'InvalidNetworkInterfaceID.Malformed: InvalidNetworkInterfaceID.Malformed happened', code: 'InvalidNetworkInterfaceID.Malformed' },
        expect.objectContaining({ kind: 'replace', routeTableId: T1, destination: LAB_POD_CIDR, code: 'InvalidRouteTableID.NotFound' }),
        expect.objectContaining({ kind: 'delete', routeTableId: T1, destination: STALE_CIDR, code: 'UnauthorizedOperation' }),
      ]),
    );
    // Source/dest check failed, yet the later phases ran.
    expect(mutationLines(world)).toContain(`createRoute ${T1} ${NODE_B_CIDR} ${ENI_B}`);
    expect(mutationLines(world)).toContain(`deleteRoute ${T1} ${STALE_CIDR}`);
  });

  test('an ENI deleted during the run (InvalidNetworkInterfaceID.NotFound): its create and check are left, not failed, and the rest is applied', async () => {
    const ec2 = new InstrumentedEc2();
    const world = driftWorld(ec2);
    const gone = Object.assign(new Error(`The networkInterface ID '${ENI_B}' does not exist`), { name: 'InvalidNetworkInterfaceID.NotFound' });
    // Both ENIs' instances go: node B's (its route is to be created) and the lab node's (its check is to be turned off).
    ec2.failWhen = (call) => (call.method === 'createRoute' && call.args[2] === ENI_B) || call.method === 'disableSourceDestCheck' ? gone : undefined;
    const plan = await plannedFor(world);
    expect(plan.sourceDestCheck.filter((fix) => fix.action === 'disable').map((fix) => fix.networkInterfaceId)).toEqual([LAB_ENI]);

    const outcome = await applyPlan(ec2, plan, { concurrency: 2 });

    expect(outcome.failed).toEqual([]);
    expect(outcome.targetGone).toEqual(
      expect.arrayContaining([
        { kind: 'create', routeTableId: T1, destination: NODE_B_CIDR, networkInterfaceId: ENI_B },
        { kind: 'source-dest-check', networkInterfaceId: LAB_ENI },
      ]),
    );
    // The rest of the plan was applied.
    expect(outcome.replaced + outcome.deleted).toBeGreaterThan(0);
  });

  test.each([1, 2, 3])('with concurrency %i, never more route calls in flight than that, nor more checks (and that many of each are used)', async (concurrency) => {
    const ec2 = new InstrumentedEc2();
    const world = manyNodesWorld(6, ec2);
    ec2.delay = () => 5;
    const plan = await plannedFor(world, config({ routeTableIds: T1 }));
    expect(plan.counts).toMatchObject({ create: 6, sourceDestCheckFixes: 6 });
    const outcome = await applyPlan(ec2, plan, { concurrency });
    expect(outcome).toMatchObject({ created: 6, sourceDestCheckDisabled: 6, failed: [], notStarted: 0 });
    expect(ec2.maxInFlightOf(['createRoute', 'replaceRoute', 'deleteRoute'])).toBe(concurrency);
    expect(ec2.maxInFlightOf(['disableSourceDestCheck'])).toBe(concurrency);
    // The two lanes overlap, so at some point both kinds were in flight together.
    expect(ec2.maxInFlight).toBe(2 * concurrency);
    expect(ec2.inFlight).toBe(0);
  });

  test('reconcile passes applyConcurrency from the configuration: 2 means at most 2 route calls in flight', async () => {
    const ec2 = new InstrumentedEc2();
    const world = manyNodesWorld(6, ec2);
    ec2.delay = () => 5;
    const report = await reconcile(world.deps, config({ routeTableIds: T1, applyConcurrency: '2' }), 'apply');
    expect(report.outcome).toMatchObject({ created: 6, sourceDestCheckDisabled: 6, failed: [], notStarted: 0 });
    expect(ec2.maxInFlightOf(['createRoute', 'replaceRoute', 'deleteRoute'])).toBe(2);
    expect(ec2.maxInFlightOf(['disableSourceDestCheck'])).toBe(2);
  });

  test('once the signal aborts (the invocation deadline), no further mutation starts; those in flight finish', async () => {
    const ec2 = new InstrumentedEc2();
    const world = manyNodesWorld(6, ec2);
    const plan = await plannedFor(world, config({ routeTableIds: T1 }));
    const deadline = new AbortController();
    let started = 0;
    ec2.delay = () => {
      // The second mutation to start (the route lane's first, beside the first check) trips the deadline while
      // both are in flight.
      started += 1;
      if (started === 2) deadline.abort();
      return 1;
    };
    const outcome = await applyPlan(ec2, plan, { concurrency: 1, signal: deadline.signal });
    expect(ec2.mutations()).toHaveLength(2);
    expect(outcome).toMatchObject({ sourceDestCheckDisabled: 1, created: 1, failed: [], notStarted: 10 });

    const report = await reconcile(world.deps, config({ routeTableIds: T1 }), 'apply', AbortSignal.abort());
    // Nothing failed; the run was stopped with work left.
    expect(report.status).toBe('unfinished');
    expect(report.outcome).toMatchObject({ notStarted: plan.counts.create + plan.counts.sourceDestCheckFixes - 2, failed: [] });
    expect(ec2.mutations()).toHaveLength(2);
  });

  test('an empty plan makes no call', async () => {
    const ec2 = new InstrumentedEc2();
    const world = driftWorld(ec2);
    const plan = await plannedFor(world);
    const outcome = await applyPlan(ec2, { ...plan, actions: plan.actions.filter((a) => a.action === 'keep'), sourceDestCheck: [] }, { concurrency: 4 });
    expect(outcome).toEqual({ created: 0, replaced: 0, deleted: 0, sourceDestCheckDisabled: 0, failed: [], notStarted: 0 });
    expect(ec2.mutations()).toEqual([]);
  });
});

describe('reconcile', () => {
  test("'plan' reads, plans and never mutates; the report says what apply would do", async () => {
    const world = driftWorld();
    const before = structuredClone({ tables: world.ec2.tables, interfaces: world.ec2.interfaces });
    const report = await reconcile(world.deps, config({ force: 'true', allowEmpty: 'true' }), 'plan');
    expect(world.ec2.mutations()).toEqual([]);
    expect({ tables: world.ec2.tables, interfaces: world.ec2.interfaces }).toEqual(before);
    expect(report).toMatchObject({ mode: 'plan', clusterName: LAB_CLUSTER, vpcId: REMOTE_VPC, routeTableIds: [T1, T2], status: 'ok' });
    expect(report.outcome).toBeUndefined();
    expect(report.plan.counts).toMatchObject({ create: 1, replace: 1, delete: 1, keep: 2, vetoed: 0, sourceDestCheckFixes: 1 });
  });

  test("'apply' makes exactly the planned calls and converges: a second run plans and makes no mutation", async () => {
    const world = driftWorld();
    const first = await reconcile(world.deps, config(), 'apply');
    expect(first.status).toBe('ok');
    expect(first.outcome).toEqual({ created: 1, replaced: 1, deleted: 1, sourceDestCheckDisabled: 1, failed: [], notStarted: 0 });
    expect(mutationLines(world)).toEqual([
      `disableSourceDestCheck ${LAB_ENI}`,
      // The stale route overlaps nothing being created: it goes before the creates (room under the quota).
      `deleteRoute ${T1} ${STALE_CIDR}`,
      `replaceRoute ${T1} ${LAB_POD_CIDR} ${LAB_ENI}`,
      `createRoute ${T1} ${NODE_B_CIDR} ${ENI_B}`,
    ]);
    const made = world.ec2.mutations().length;

    const second = await reconcile(world.deps, config(), 'apply');
    expect(world.ec2.mutations()).toHaveLength(made);
    expect(second.status).toBe('ok');
    expect(second.outcome).toEqual({ created: 0, replaced: 0, deleted: 0, sourceDestCheckDisabled: 0, failed: [], notStarted: 0 });
    expect(second.plan.counts).toMatchObject({ create: 0, replace: 0, delete: 0, vetoed: 0, drift: 0, sourceDestCheckFixes: 0, keep: 4 });
    expect(second.plan.actions.every((a) => a.action === 'keep')).toBe(true);
    // Foreign routes survived untouched in both tables.
    for (const t of world.ec2.tables) expect(t.routes).toEqual(expect.arrayContaining(foreignRoutes()));
  });

  test("status is 'vetoed' when a guard holds deletions back (plan and apply), and apply still makes the other changes", async () => {
    // The lab node's route is missing; five stale routes of 6 managed exceed the budget of max(3, 50 % × 6).
    const stale = [1, 2, 3, 4, 5].map((i) => route.managed(`10.30.${10 + i}.0/24`, STALE_ENI));
    const world = fakeWorld({ tables: [table(T1, [...foreignRoutes(), route.managed('10.30.99.0/24', STALE_ENI), ...stale])] });
    const planned = await reconcile(world.deps, config({ routeTableIds: T1 }), 'plan');
    expect(planned.status).toBe('vetoed');
    expect(planned.plan.vetoed).toHaveLength(6);
    expect(new Set(planned.plan.vetoed.map((v) => v.guard))).toEqual(new Set(['deletion-budget']));

    const applied = await reconcile(world.deps, config({ routeTableIds: T1 }), 'apply');
    expect(applied.status).toBe('vetoed');
    expect(applied.outcome).toEqual({ created: 1, replaced: 0, deleted: 0, sourceDestCheckDisabled: 1, failed: [], notStarted: 0 });
    expect(world.ec2.mutations().map((c) => c.method)).not.toContain('deleteRoute');
  });

  test("status is 'vetoed' for an empty CiliumNode list, and 'ok' once an empty list is allowed", async () => {
    const tables = () => [table(T1, [...foreignRoutes(), route.managed(LAB_POD_CIDR, LAB_ENI)])];
    const world = fakeWorld({ nodes: [], tables: tables() });
    const vetoed = await reconcile(world.deps, config({ routeTableIds: T1 }), 'apply');
    expect(vetoed.status).toBe('vetoed');
    expect(vetoed.plan.vetoed).toEqual([expect.objectContaining({ routeTableId: T1, destination: LAB_POD_CIDR, guard: 'empty-node-list' })]);
    expect(world.ec2.mutations()).toEqual([]);

    const allowed = await reconcile(world.deps, config({ routeTableIds: T1, allowEmpty: 'true' }), 'apply');
    expect(allowed.status).toBe('ok');
    expect(mutationLines(world)).toEqual([`deleteRoute ${T1} ${LAB_POD_CIDR}`]);
  });

  test("status is 'failed' when a mutation fails, even when a guard also vetoed something", async () => {
    const world = driftWorld();
    world.ec2.failures.createRoute = Object.assign(new Error('nope'), { name: 'UnauthorizedOperation' });
    const failed = await reconcile(world.deps, config(), 'apply');
    expect(failed.status).toBe('failed');
    expect(failed.outcome?.failed).toEqual([expect.objectContaining({ kind: 'create', code: 'UnauthorizedOperation' })]);

    const stale = [1, 2, 3, 4, 5].map((i) => route.managed(`10.30.${10 + i}.0/24`, STALE_ENI));
    const both = fakeWorld({ tables: [table(T1, [...foreignRoutes(), ...stale])] });
    both.ec2.failures.disableSourceDestCheck = Object.assign(new Error('nope'), { name: 'UnauthorizedOperation' });
    const report = await reconcile(both.deps, config({ routeTableIds: T1 }), 'apply');
    expect(report.plan.vetoed.length).toBeGreaterThan(0);
    expect(report.status).toBe('failed');
  });

  test("status is 'ok' in a converged world, and a plan with refused, unresolved or pending nodes is still 'ok'", async () => {
    const world = fakeWorld({
      nodes: [factsNode(), ciliumNode(nodeName(3), '10.20.1.12', []), ciliumNode(nodeName(4), '10.99.0.1', ['10.30.4.0/24']), ciliumNode(nodeName(5), '10.20.1.14', ['10.30.5.0/24'])],
      interfaces: [eni(LAB_ENI, LAB_NODE_IP), eni(eniId(3), '10.20.1.12')],
      tables: [table(T1, [...foreignRoutes(), route.managed(LAB_POD_CIDR, LAB_ENI)])],
    });
    for (const mode of ['plan', 'apply'] as const) {
      const report = await reconcile(world.deps, config({ routeTableIds: T1 }), mode);
      expect(report.status).toBe('ok');
      expect(report.plan.refused.map((r) => r.node)).toEqual([nodeName(4)]);
      expect(report.plan.unresolved.map((u) => u.node)).toEqual([nodeName(5)]);
      expect(report.plan.pending).toEqual([{ node: nodeName(3), ip: '10.20.1.12' }]);
    }
    expect(world.ec2.mutations()).toEqual([]);
  });

  test('durationMs is measured with the injected clock, around the whole run', async () => {
    const world = driftWorld();
    const deps = { ...world.deps, now: steppingClock(1_000_000, 4321) };
    expect((await reconcile(deps, config(), 'plan')).durationMs).toBe(4321);
    let reads = 0;
    const clock = () => (reads++ === 0 ? 5_000 : 5_777);
    expect((await reconcile({ ...world.deps, now: clock }, config(), 'apply')).durationMs).toBe(777);
    expect(reads).toBe(2);
  });
});

describe('a node whose address may have passed to another machine (its ENI attached after its CiliumNode was created)', () => {
  const CREATED = '2026-11-01T08:00:00Z';
  const ATTACHED = '2026-12-01T10:00:00.000Z';
  /** Node B's address is on a machine attached after node B's CiliumNode was created; the lab node is as ever. */
  function reusedAddressWorld() {
    return fakeWorld({
      nodes: [factsNode(), ciliumNode(NODE_B, NODE_B_IP, [NODE_B_CIDR], { createdAt: CREATED })],
      tables: [table(T1, [...foreignRoutes(), route.managed(LAB_POD_CIDR, LAB_ENI), route.managed(NODE_B_CIDR, STALE_ENI, 'blackhole')])],
      interfaces: [eni(LAB_ENI, LAB_NODE_IP), eni(ENI_B, NODE_B_IP, { sourceDestCheck: true, attachTime: ATTACHED })],
    });
  }
  const nodeReads = (world: FakeWorld) => world.kubernetes.calls.filter((call) => call.method === 'readNodeStatuses').map(callLine);

  test('only that node’s Node is read; with no Node behind it, the machine is left alone and its route kept', async () => {
    const world = reusedAddressWorld();
    const report = await reconcile(world.deps, config({ routeTableIds: T1 }), 'apply');
    expect(nodeReads(world)).toEqual([`readNodeStatuses ${NODE_B}`]);
    expect(world.ec2.mutations()).toEqual([]);
    expect(report.status).toBe('ok');
    expect(report.plan.unresolved).toEqual([expect.objectContaining({ node: NODE_B, reason: expect.stringContaining(`there is no Node ${NODE_B}`) })]);
  });

  test('a kubelet reporting from the address since the attachment: routed, and the proof kept, so the next run reads no Node', async () => {
    const world = reusedAddressWorld();
    world.kubernetes.nodeStatuses.set(NODE_B, { state: 'found', internalIps: [NODE_B_IP], readyHeartbeat: '2026-12-01T10:01:00.000Z' });
    const deps: ReconcileDeps = { ...world.deps, attachmentProofs: new Map() };
    const first = await reconcile(deps, config({ routeTableIds: T1 }), 'apply');
    expect(mutationLines(world)).toEqual([`disableSourceDestCheck ${ENI_B}`, `replaceRoute ${T1} ${NODE_B_CIDR} ${ENI_B}`]);
    expect(first.status).toBe('ok');
    const second = await reconcile(deps, config({ routeTableIds: T1 }), 'apply');
    expect(second.plan.counts).toMatchObject({ drift: 0, sourceDestCheckFixes: 0 });
    expect(nodeReads(world)).toEqual([`readNodeStatuses ${NODE_B}`]);
  });

  test('a doubt is not kept: the Node is read again on the next run, and once the kubelet reports, the node is routed', async () => {
    const world = reusedAddressWorld();
    const deps: ReconcileDeps = { ...world.deps, attachmentProofs: new Map() };
    expect((await reconcile(deps, config({ routeTableIds: T1 }), 'apply')).plan.unresolved).toHaveLength(1);
    world.kubernetes.nodeStatuses.set(NODE_B, { state: 'found', internalIps: [NODE_B_IP], readyHeartbeat: '2026-12-01T10:05:00.000Z' });
    const second = await reconcile(deps, config({ routeTableIds: T1 }), 'apply');
    expect(second.plan.unresolved).toEqual([]);
    expect(mutationLines(world)).toEqual([`disableSourceDestCheck ${ENI_B}`, `replaceRoute ${T1} ${NODE_B_CIDR} ${ENI_B}`]);
    expect(nodeReads(world)).toEqual([`readNodeStatuses ${NODE_B}`, `readNodeStatuses ${NODE_B}`]);
  });

  test('a proof is for one attachment: the same node on a machine attached later is checked again', async () => {
    const world = reusedAddressWorld();
    world.kubernetes.nodeStatuses.set(NODE_B, { state: 'found', internalIps: [NODE_B_IP], readyHeartbeat: '2026-12-01T10:01:00.000Z' });
    const deps: ReconcileDeps = { ...world.deps, attachmentProofs: new Map() };
    await reconcile(deps, config({ routeTableIds: T1 }), 'apply');
    world.ec2.interfaces = [eni(LAB_ENI, LAB_NODE_IP), eni(eniId(0x77), NODE_B_IP, { sourceDestCheck: true, attachTime: '2026-12-02T00:00:00.000Z' })];
    const report = await reconcile(deps, config({ routeTableIds: T1 }), 'apply');
    expect(nodeReads(world)).toHaveLength(2);
    // The heartbeat predates the newer attachment: nothing moves to the new machine.
    expect(report.plan.unresolved).toEqual([expect.objectContaining({ node: NODE_B, reason: expect.stringContaining('has not reported since') })]);
  });

  test('the same ENI attached again (a new attach time, same id) is a new attachment: checked again', async () => {
    const world = reusedAddressWorld();
    world.kubernetes.nodeStatuses.set(NODE_B, { state: 'found', internalIps: [NODE_B_IP], readyHeartbeat: '2026-12-01T10:01:00.000Z' });
    const deps: ReconcileDeps = { ...world.deps, attachmentProofs: new Map() };
    await reconcile(deps, config({ routeTableIds: T1 }), 'apply');
    world.ec2.interfaces = world.ec2.interfaces.map((record) => (record.networkInterfaceId === ENI_B ? { ...record, attachTime: '2026-12-02T00:00:00.000Z' } : record));
    const report = await reconcile(deps, config({ routeTableIds: T1 }), 'apply');
    expect(nodeReads(world)).toHaveLength(2);
    expect(report.plan.unresolved).toEqual([expect.objectContaining({ node: NODE_B, reason: expect.stringContaining('has not reported since') })]);
  });

  test('a Node that could not be read is not kept as a proof: read again next run', async () => {
    const world = reusedAddressWorld();
    world.kubernetes.nodeStatuses.set(NODE_B, { state: 'unreadable', error: 'read node x failed: HTTP 500 Internal Server Error' });
    const deps: ReconcileDeps = { ...world.deps, attachmentProofs: new Map() };
    await reconcile(deps, config({ routeTableIds: T1 }), 'apply');
    await reconcile(deps, config({ routeTableIds: T1 }), 'apply');
    expect(nodeReads(world)).toHaveLength(2);
    expect(deps.attachmentProofs!.size).toBe(0);
  });

  test('a Node read that rejects (it should not) leaves those nodes unresolved and the rest of the run goes on', async () => {
    const world = reusedAddressWorld();
    const failing: ReconcileDeps = {
      ...world.deps,
      ciliumNodes: async (cluster) => ({ ...(await world.kubernetes.factory(cluster)), readNodeStatuses: () => Promise.reject(new Error('socket hang up')) }),
    };
    world.ec2.tables = [table(T1, [...foreignRoutes(), route.managed(NODE_B_CIDR, STALE_ENI, 'blackhole')])]; // the lab node's route is missing
    const report = await reconcile(failing, config({ routeTableIds: T1 }), 'apply');
    expect(report.status).toBe('ok');
    expect(report.plan.unresolved).toEqual([expect.objectContaining({ node: NODE_B, reason: expect.stringContaining('could not be read (Error: socket hang up)') })]);
    expect(mutationLines(world)).toEqual([`createRoute ${T1} ${LAB_POD_CIDR} ${LAB_ENI}`]);
  });

  test(`at most ${MAX_NODE_READS_PER_RUN} Nodes are read in one run; the others are unresolved in it, named as not read`, async () => {
    const count = MAX_NODE_READS_PER_RUN + 3;
    const ip = (i: number) => `10.20.3.${i + 1}`;
    const world = fakeWorld({
      nodes: Array.from({ length: count }, (_, i) => ciliumNode(nodeName(0x100 + i), ip(i), [`10.30.${100 + i}.0/24`], { createdAt: CREATED })),
      tables: [table(T1, foreignRoutes())],
      interfaces: Array.from({ length: count }, (_, i) => eni(eniId(0x100 + i), ip(i), { attachTime: ATTACHED })),
    });
    const report = await reconcile(world.deps, config({ routeTableIds: T1 }), 'plan');
    const reads = world.kubernetes.calls.filter((call) => call.method === 'readNodeStatuses');
    expect(reads).toHaveLength(1);
    expect(reads[0]!.args).toHaveLength(MAX_NODE_READS_PER_RUN);
    expect(report.plan.unresolved).toHaveLength(count);
    expect(report.plan.unresolved.filter((u) => u.reason.includes(`not read in this run (at most ${MAX_NODE_READS_PER_RUN} Node reads per run)`))).toHaveLength(3);
  });

  test('no node needs it (the usual case): no Node is read at all', async () => {
    const world = driftWorld();
    await reconcile(world.deps, config(), 'apply');
    expect(nodeReads(world)).toEqual([]);
  });
});
