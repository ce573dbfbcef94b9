/**
 * The reconcile Lambda handler end to end: the real handler (createHandler, configuration from the
 * environment, the real createControllerDeps and SDK clients) against the local cloud over loopback. The
 * cloud's call log (state.calls) is the witness of what went over the wire.
 */
import { createAwsClients } from '../../functions/adapters/aws-clients.js';
import { Ec2Adapter } from '../../functions/adapters/ec2.js';
import { createCiliumNodePortFactory } from '../../functions/adapters/kubernetes.js';
import { type LocalCloud, startLocalCloud } from '../localcloud/server.js';
import {
  DIRECT_RECONCILE,
  TABLES,
  callCounts,
  control,
  expectedPodRoutes,
  makeHandler,
  mutatingCalls,
  podRoutes,
  sampleEvent,
  scenarioWithNodes,
  useCloudEnv,
} from './e2e-support.js';

/** Starts a cloud and points process.env at it; `done` stops it and restores the environment. */
async function cloudWithEnv(options: Parameters<typeof startLocalCloud>[0] = {}) {
  const cloud = await startLocalCloud(options);
  const restore = useCloudEnv(cloud);
  return {
    cloud,
    async done() {
      restore();
      await cloud.stop();
    },
  };
}

function expectTablesExact(cloud: LocalCloud, tables: string[]) {
  const expected = expectedPodRoutes(cloud.state);
  for (const table of tables) expect(Object.fromEntries(podRoutes(cloud.state, table))).toEqual(Object.fromEntries(expected));
  for (const eni of expected.values()) expect(cloud.state.networkInterfaces.get(eni)?.sourceDestCheck).toBe(false);
  return expected;
}

describe('default scenario', () => {
  let env: Awaited<ReturnType<typeof cloudWithEnv>>;
  beforeAll(async () => {
    env = await cloudWithEnv();
  });
  afterAll(async () => {
    await env?.done();
  });

  test('first run creates the 9 routes and disables 3 source/dest checks; a warm second run makes exactly 3 reads and no mutation', async () => {
    const { cloud } = env;
    const handle = await makeHandler();

    const first = await handle(sampleEvent('scheduled-reconcile.json'));
    expect(first).toMatchObject({
      status: 'ok',
      mode: 'apply',
      counts: { create: 9, replace: 0, delete: 0, keep: 0, sourceDestCheckFixes: 3, failedMutations: 0 },
    });
    expect(callCounts(cloud.state, (call) => mutatingCalls(cloud.state).includes(call))).toEqual({
      'ec2 CreateRoute 200': 9,
      'ec2 ModifyNetworkInterfaceAttribute 200': 3,
    });
    const expected = expectTablesExact(cloud, TABLES);
    expect(expected).toEqual(
      new Map([
        ['10.30.0.0/24', 'eni-0a1b2c3d4e5f60001'],
        ['10.30.1.0/24', 'eni-0a1b2c3d4e5f60002'],
        ['10.30.2.0/24', 'eni-0a1b2c3d4e5f60003'],
      ]),
    );
    // The managed routes are the controller's CreateRoute routes; the TGW route to the EKS VPC is untouched.
    for (const id of TABLES) {
      const routes = cloud.state.routeTables.get(id)!.routes;
      expect(routes.find((r) => r.destination === '10.10.0.0/16')?.target.id).toBe('tgw-0a1b2c3d4e5f60718');
      expect(routes.filter((r) => r.destination.startsWith('10.30.')).every((r) => r.origin === 'CreateRoute')).toBe(true);
    }

    // Warm: cluster, token and clients are cached in the container; steady state is three reads.
    cloud.state.calls.length = 0;
    const second = await handle(sampleEvent('scheduled-reconcile.json'));
    expect(second).toMatchObject({ status: 'ok', counts: { create: 0, replace: 0, delete: 0, keep: 9, sourceDestCheckFixes: 0, failedMutations: 0 } });
    expect(cloud.state.calls.map((call) => `${call.service} ${call.action} ${call.status}`).sort()).toEqual([
      'ec2 DescribeNetworkInterfaces 200',
      'ec2 DescribeRouteTables 200',
      'kubernetes list ciliumnodes 200',
    ]);
    expect(mutatingCalls(cloud.state)).toEqual([]);
  });

  test('a registration event reports on the managed instance through SSM, which the handler loads on first use', async () => {
    const { cloud } = env;
    const handle = await makeHandler();
    await handle(sampleEvent('scheduled-reconcile.json'));
    cloud.state.calls.length = 0;

    const registered = await handle(sampleEvent('ssm-managed-instance-registration.json'));

    expect(registered).toMatchObject({ status: 'ok', mode: 'apply', counts: { create: 0, replace: 0, delete: 0, keep: 9, failedMutations: 0 } });
    expect(callCounts(cloud.state, (call) => call.service === 'ssm')).toEqual({ 'ssm DescribeInstanceInformation 200': 1 });
    expect(mutatingCalls(cloud.state)).toEqual([]);
  });
});

describe('pagination', () => {
  // 3 + 250 nodes: 253 node IPs are two DescribeNetworkInterfaces batches (199 addresses each, the
  // 200-filter-value limit), and with a CiliumNode page size of 100 the list takes three pages.
  const EXTRA_NODES = 250;
  const PAGE_SIZE = 100;
  let env: Awaited<ReturnType<typeof cloudWithEnv>>;
  beforeAll(async () => {
    env = await cloudWithEnv({ scenario: scenarioWithNodes(EXTRA_NODES) });
  });
  afterAll(async () => {
    await env?.done();
  });

  test('more ENIs than one DescribeNetworkInterfaces batch and more CiliumNodes than one page converge with no failed call', async () => {
    const { cloud } = env;
    // createCiliumNodePortFactory takes the page size (500 by default): the real factory, a smaller page.
    const handle = await makeHandler((deps) => ({ ...deps, ciliumNodes: createCiliumNodePortFactory(deps.tokens, { pageSize: PAGE_SIZE }) }));

    const result = await handle(DIRECT_RECONCILE);
    const nodes = 3 + EXTRA_NODES;
    expect(result).toMatchObject({ status: 'ok', counts: { create: nodes * 3, sourceDestCheckFixes: nodes, failedMutations: 0 } });
    expect(cloud.state.calls.filter((call) => call.status !== 200)).toEqual([]);
    const counts = callCounts(cloud.state);
    expect(counts['ec2 DescribeNetworkInterfaces 200']).toBe(Math.ceil(nodes / 199));
    expect(counts['kubernetes list ciliumnodes 200']).toBe(Math.ceil(nodes / PAGE_SIZE));
    expect(counts['ec2 DescribeRouteTables 200']).toBe(1);
    expect(counts['ec2 CreateRoute 200']).toBe(nodes * 3);
    expect(counts['ec2 ModifyNetworkInterfaceAttribute 200']).toBe(nodes);
    expect(expectTablesExact(cloud, TABLES).size).toBe(nodes);

    // The same paginated reads again, and nothing to do.
    cloud.state.calls.length = 0;
    const again = await handle(DIRECT_RECONCILE);
    expect(again).toMatchObject({ status: 'ok', counts: { create: 0, keep: nodes * 3, failedMutations: 0 } });
    expect(callCounts(cloud.state)).toEqual({
      'ec2 DescribeRouteTables 200': 1,
      'ec2 DescribeNetworkInterfaces 200': 2,
      'kubernetes list ciliumnodes 200': 3,
    });
    // 759 creates over loopback: about 3 s alone, much longer on a loaded CI machine. A bound, not a measure.
  }, 30_000);
});

describe('EC2 throttling', () => {
  // 63 nodes × 1 table: 63 CreateRoute calls against a bucket of 50 (refill 5/s).
  const EXTRA_NODES = 60;
  let env: Awaited<ReturnType<typeof cloudWithEnv>>;
  beforeAll(async () => {
    env = await cloudWithEnv({ scenario: scenarioWithNodes(EXTRA_NODES, { tables: 1 }), throttling: true });
  });
  afterAll(async () => {
    await env?.done();
  });

  test('creates beyond the burst are throttled, the SDK waits and retries, and the run ends with no failed mutation', async () => {
    const { cloud } = env;
    const handle = await makeHandler();
    const result = await handle(DIRECT_RECONCILE);
    const nodes = 3 + EXTRA_NODES;
    expect(result).toMatchObject({ status: 'ok', counts: { create: nodes, sourceDestCheckFixes: nodes, failedMutations: 0 } });

    const counts = callCounts(cloud.state);
    expect(counts['ec2 CreateRoute 503']).toBeGreaterThan(0);
    expect(cloud.state.calls.filter((call) => call.status === 503).every((call) => call.error === 'RequestLimitExceeded')).toBe(true);
    expect(counts['ec2 CreateRoute 200']).toBe(nodes);
    expect(expectTablesExact(cloud, [TABLES[0]!]).size).toBe(nodes);
  }, 30_000);
});

describe('a failing mutation', () => {
  let env: Awaited<ReturnType<typeof cloudWithEnv>>;
  beforeAll(async () => {
    env = await cloudWithEnv();
  });
  afterAll(async () => {
    await env?.done();
  });

  test('CreateRoute answering 500: the handler throws, the other mutations are still done; once cleared the next run converges', async () => {
    const { cloud } = env;
    // Work besides the creates: a hijacked route to replace, a stale route to delete, three checks to turn off.
    expect((await control(cloud, 'POST', 'scenario/add-route', { routeTableId: TABLES[0], destination: '10.30.0.0/24', networkInterfaceId: 'eni-0a1b2c3d4e5f60003' })).status).toBe(200);
    expect((await control(cloud, 'POST', 'scenario/add-route', { routeTableId: TABLES[1], destination: '10.30.9.0/24', networkInterfaceId: 'eni-0a1b2c3d4e5f60002' })).status).toBe(200);
    const fault = await control(cloud, 'POST', 'faults', { service: 'ec2', action: 'CreateRoute', kind: 'error', status: 500, code: 'InternalError', times: 100 });
    expect(fault.status).toBe(200);

    // The project's clients retry a 500 up to 8 attempts with exponential back-off (expected ~13 s per call):
    // the same deps with the project's client factory at 2 attempts keep this test fast; nothing else changes.
    const handle = await makeHandler((deps) => ({ ...deps, ec2: new Ec2Adapter(createAwsClients({ maxAttempts: 2 }).ec2) }));
    await expect(handle(DIRECT_RECONCILE)).rejects.toThrow(/^8 route or ENI mutation\(s\) failed in ekscluster1/);

    const counts = callCounts(cloud.state, (call) => mutatingCalls(cloud.state).includes(call));
    expect(counts).toEqual({
      'ec2 CreateRoute 500': 16, // 8 creates × 2 attempts
      'ec2 ReplaceRoute 200': 1,
      'ec2 DeleteRoute 200': 1,
      'ec2 ModifyNetworkInterfaceAttribute 200': 3,
    });
    expect(cloud.state.calls.filter((call) => call.action === 'CreateRoute').every((call) => call.error === 'InternalError')).toBe(true);
    expect(Object.fromEntries(podRoutes(cloud.state, TABLES[0]!))).toEqual({ '10.30.0.0/24': 'eni-0a1b2c3d4e5f60001' });
    expect(Object.fromEntries(podRoutes(cloud.state, TABLES[1]!))).toEqual({});
    expect([...cloud.state.networkInterfaces.values()].every((eni) => !eni.sourceDestCheck)).toBe(true);

    expect((await control(cloud, 'DELETE', 'faults')).status).toBe(200);
    const next = await handle(DIRECT_RECONCILE);
    expect(next).toMatchObject({ status: 'ok', counts: { create: 8, replace: 0, delete: 0, keep: 1, failedMutations: 0 } });
    expectTablesExact(cloud, TABLES);
  });
});

describe("a node's address passed on to another machine", () => {
  let env: Awaited<ReturnType<typeof cloudWithEnv>>;
  beforeAll(async () => {
    env = await cloudWithEnv();
  });
  afterAll(async () => {
    await env?.done();
  });

  const NODE = 'mi-026d6a261e355fba7'; // 10.20.1.10, 10.30.0.0/24, on i-0a1b2c3d4e5f60001
  const ok = async (path: string, body: unknown) => expect((await control(env.cloud, 'POST', path, body)).status).toBe(200);
  const eniOf = (id: string) => env.cloud.state.networkInterfaces.get(id);

  test("is not routed there while the node's kubelet is silent; a node replaced under the same name is, once its kubelet reports from it", async () => {
    const { cloud } = env;
    const handle = await makeHandler();
    expect(await handle(DIRECT_RECONCILE)).toMatchObject({ status: 'ok', counts: { failedMutations: 0 } });
    const nodeRoute = () => TABLES.map((table) => podRoutes(cloud.state, table).get('10.30.0.0/24'));
    expect(nodeRoute()).toEqual(TABLES.map(() => 'eni-0a1b2c3d4e5f60001'));

    // The node's machine is terminated; its Node and CiliumNode stay (nothing removes a hybrid node's Node), and EC2
    // gives the address to an instance that is no node.
    await ok('scenario/terminate-instance', { instanceId: 'i-0a1b2c3d4e5f60001' });
    await ok('scenario/launch-instance', { instanceId: 'i-0a1b2c3d4e5f60091', subnetId: 'subnet-0a1b2c3d4e5f60001', privateIp: '10.20.1.10', networkInterfaceId: 'eni-0a1b2c3d4e5f60091' });
    const mutationsBefore = mutatingCalls(cloud.state).length;
    const held = await handle(DIRECT_RECONCILE);
    expect(held).toMatchObject({ status: 'ok', counts: { create: 0, replace: 0, delete: 0, sourceDestCheckFixes: 0, failedMutations: 0 } });
    expect(mutatingCalls(cloud.state)).toHaveLength(mutationsBefore);
    expect(eniOf('eni-0a1b2c3d4e5f60091')?.sourceDestCheck).toBe(true);
    expect(nodeRoute()).toEqual(TABLES.map(() => 'eni-0a1b2c3d4e5f60001')); // a blackhole now, and kept: the CIDR is still claimed
    expect(callCounts(cloud.state, (call) => call.action === 'get nodes')).toEqual({ 'kubernetes get nodes 200': 1 });

    // The same node joins again from a new machine: its kubelet reports from there, Cilium updates its CiliumNode.
    await ok('scenario/terminate-instance', { instanceId: 'i-0a1b2c3d4e5f60091' });
    await ok('scenario/launch-instance', { instanceId: 'i-0a1b2c3d4e5f60092', subnetId: 'subnet-0a1b2c3d4e5f60001', privateIp: '10.20.1.77', networkInterfaceId: 'eni-0a1b2c3d4e5f60092', joinsAs: NODE });
    const moved = await handle(DIRECT_RECONCILE);
    expect(moved).toMatchObject({ status: 'ok', counts: { replace: 3, sourceDestCheckFixes: 1, failedMutations: 0 } });
    expect(nodeRoute()).toEqual(TABLES.map(() => 'eni-0a1b2c3d4e5f60092'));
    expect(eniOf('eni-0a1b2c3d4e5f60092')?.sourceDestCheck).toBe(false);
    expectTablesExact(cloud, TABLES);

    // Shown once, kept: the warm run after that reads no Node and stays at three calls.
    const callsBefore = cloud.state.calls.length;
    expect(await handle(DIRECT_RECONCILE)).toMatchObject({ status: 'ok', counts: { create: 0, replace: 0, delete: 0 } });
    expect(cloud.state.calls.slice(callsBefore).map((call) => `${call.service} ${call.action}`).sort()).toEqual(['ec2 DescribeNetworkInterfaces', 'ec2 DescribeRouteTables', 'kubernetes list ciliumnodes']);
  }, 60_000);

  test('a Node that cannot be read (403: the RBAC not yet updated) holds only that node, reported; once readable, it is routed', async () => {
    const { cloud } = env;
    const handle = await makeHandler();
    const other = 'mi-0b3c4d5e6f7a80912'; // 10.20.2.10, 10.30.1.0/24
    await ok('scenario/terminate-instance', { instanceId: 'i-0a1b2c3d4e5f60002' });
    await ok('scenario/launch-instance', { instanceId: 'i-0a1b2c3d4e5f60093', subnetId: 'subnet-0a1b2c3d4e5f60002', privateIp: '10.20.2.10', networkInterfaceId: 'eni-0a1b2c3d4e5f60093', joinsAs: other });
    await ok('faults', { service: 'kubernetes', action: 'get nodes', kind: 'error', status: 403 });
    const held = await handle(DIRECT_RECONCILE);
    expect(held).toMatchObject({ status: 'ok', counts: { replace: 0, sourceDestCheckFixes: 0, failedMutations: 0 } });
    expect((held as unknown as { unresolved: unknown[] }).unresolved).toEqual(expect.arrayContaining([expect.objectContaining({ node: other, reason: expect.stringMatching(/could not be read \(read node .* failed: HTTP 403 Forbidden/) })]));
    expect(eniOf('eni-0a1b2c3d4e5f60093')?.sourceDestCheck).toBe(true);
    expect(TABLES.map((table) => podRoutes(cloud.state, table).get('10.30.1.0/24'))).toEqual(TABLES.map(() => 'eni-0a1b2c3d4e5f60002'));

    expect((await control(cloud, 'DELETE', 'faults')).status).toBe(200);
    expect(await handle(DIRECT_RECONCILE)).toMatchObject({ status: 'ok', counts: { replace: 3, sourceDestCheckFixes: 1, failedMutations: 0 } });
    expect(TABLES.map((table) => podRoutes(cloud.state, table).get('10.30.1.0/24'))).toEqual(TABLES.map(() => 'eni-0a1b2c3d4e5f60093'));
    expectTablesExact(cloud, TABLES);
  }, 60_000);
});
