/**
 * The teardown workflow end to end: the state machine definition synthesized from the CDK app, interpreted
 * locally (functions/cli/local-teardown.ts), its Task states running the real task handler with the real
 * adapters and SDK clients against the local cloud. The cloud's state is the witness of what was done.
 */
import { readFileSync } from 'node:fs';
import { jest } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import type { LocalTeardownResult, TeardownDefinition } from '../../functions/cli/local-teardown.js';
import { PAUSE_TAG_KEY, STATE_NAMES } from '../../functions/core/teardown-steps.js';
import { type LocalCloud, startLocalCloud } from '../localcloud/server.js';
import { stateSnapshot } from '../localcloud/controls.js';
import { DIRECT_RECONCILE, TABLES, control, expectedPodRoutes, makeHandler, mutatingCalls, podRoutes, useCloudEnv } from './e2e-support.js';

jest.setTimeout(90_000);

const EVENTS = fileURLToPath(new URL('../../events/', import.meta.url));
const sample = (file: string) => JSON.parse(readFileSync(`${EVENTS}${file}`, 'utf8')) as Record<string, unknown>;

const NODES = {
  a: { name: 'mi-026d6a261e355fba7', eni: 'eni-0a1b2c3d4e5f60001', instance: 'i-0a1b2c3d4e5f60001', cidr: '10.30.0.0/24' },
  b: { name: 'mi-0b3c4d5e6f7a80912', eni: 'eni-0a1b2c3d4e5f60002', instance: 'i-0a1b2c3d4e5f60002', cidr: '10.30.1.0/24' },
  /** The node with pods that must go (coredns, web) besides its DaemonSet pods. */
  c: { name: 'mi-0c4d5e6f7a8b90a23', eni: 'eni-0a1b2c3d4e5f60003', instance: 'i-0a1b2c3d4e5f60003', cidr: '10.30.2.0/24' },
};
/** Routes no teardown may touch: the local route, the TGW route back to the EKS VPC, and one added by hand. */
const HAND_ADDED = { destination: '10.30.200.0/24', transitGatewayId: 'tgw-0a1b2c3d4e5f60718' };

interface Summary {
  complete: boolean;
  status: string;
  message: string;
  nodes: { node: string; status: string; remains?: string[]; error?: string; cause?: string; steps?: Record<string, unknown> }[];
  routes: { removed: unknown[]; wouldRemove?: unknown[] };
  autoHealing: { paused: boolean; rules: { name: string; state: string }[] };
  remains: string[];
  keptInstances?: { node: string; instanceId: string; state: string; reason: string; terminateWith?: string }[];
}

let definition: TeardownDefinition;
beforeAll(async () => {
  const { loadTeardownDefinition } = await import('../../functions/cli/local-teardown.js');
  definition = await loadTeardownDefinition();
});

/** A local cloud with the routes converged by the reconciler, process.env pointed at it. */
async function convergedCloud() {
  const cloud = await startLocalCloud({});
  const restore = useCloudEnv(cloud);
  expect((await control(cloud, 'POST', 'scenario/add-route', { routeTableId: TABLES[0]!, ...HAND_ADDED })).status).toBe(200);
  const reconcile = await makeHandler();
  expect((await reconcile(DIRECT_RECONCILE)).status).toBe('ok');
  return {
    cloud,
    reconcile,
    async done() {
      restore();
      await cloud.stop();
    },
  };
}

async function teardown(input: Record<string, unknown>): Promise<LocalTeardownResult & { summary: Summary }> {
  // One at a time: jest's ESM linker fails ("module not been linked") on concurrent imports that share modules.
  const { createTeardownHandler, teardownSettingsFromEnv } = await import('../../functions/handlers/teardown.js');
  const { createTeardownDeps } = await import('../../functions/service/teardown-dependencies.js');
  const { runTeardownLocally } = await import('../../functions/cli/local-teardown.js');
  const handler = createTeardownHandler({
    loadSettings: () => teardownSettingsFromEnv(process.env),
    createDeps: (settings) => createTeardownDeps(settings, process.env.TEARDOWN_ROLE_ARN),
  });
  const result = await runTeardownLocally({ input, handler, definition, waitMs: 20, retryMs: 10 });
  return result as LocalTeardownResult & { summary: Summary };
}

/** A table's routes to ENIs inside the pod network: the routes the workflow manages (the hand-added TGW route is not one). */
const eniRoutes = (cloud: LocalCloud, table: string) => new Map([...podRoutes(cloud.state, table)].filter(([, target]) => target.startsWith('eni-')));
/** The next call of this EC2 action is refused (403, not retried): the step that makes it fails. */
async function refuseOnce(cloud: LocalCloud, action: string) {
  const fault = { service: 'ec2', action, kind: 'error', status: 403, code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.', times: 1 };
  expect((await control(cloud, 'POST', 'faults', fault)).status).toBe(200);
}
const rulesOf = (cloud: LocalCloud) => Object.fromEntries([...cloud.state.rules.values()].map((rule) => [rule.name, rule.state]));
const foreignRoutes = (cloud: LocalCloud) =>
  TABLES.map((id) => cloud.state.routeTables.get(id)!.routes.filter((route) => !route.destination.startsWith('10.30.') || route.target.kind !== 'networkInterface'));

describe('tear down one node of three (events/teardown-one-node.json)', () => {
  let env: Awaited<ReturnType<typeof convergedCloud>>;
  let result: Awaited<ReturnType<typeof teardown>>;
  let foreignBefore: ReturnType<typeof foreignRoutes>;
  beforeAll(async () => {
    env = await convergedCloud();
    foreignBefore = structuredClone(foreignRoutes(env.cloud));
    result = await teardown(sample('teardown-one-node.json'));
  });
  afterAll(() => env?.done());

  test('the execution succeeds in the order of the definition, and says so', () => {
    expect(result.status).toBe('SUCCEEDED');
    expect(result.summary).toMatchObject({ complete: true, status: 'complete' });
    expect(result.summary.message).toMatch(/^1 of 1 node\(s\) torn down; 3 route\(s\) removed/);
    const top = result.states.filter((state) => !state.includes('['));
    expect(top).toEqual([
      STATE_NAMES.snapshot,
      STATE_NAMES.pause,
      STATE_NAMES.map,
      STATE_NAMES.routes,
      STATE_NAMES.activations,
      STATE_NAMES.resume,
      STATE_NAMES.verify,
      STATE_NAMES.complete,
      STATE_NAMES.succeeded,
    ]);
    const perNode = result.states.filter((state) => state.endsWith('[0]')).map((state) => state.slice(0, -3));
    const order = [STATE_NAMES.drain, STATE_NAMES.uninstall, STATE_NAMES.deleteObjects, STATE_NAMES.deregister, STATE_NAMES.restoreSourceDestCheck, STATE_NAMES.terminate, STATE_NAMES.nodeDone];
    expect(order.map((state) => perNode.indexOf(state))).toEqual([...order.map((state) => perNode.indexOf(state))].sort((x, y) => x - y));
    expect(order.every((state) => perNode.includes(state))).toBe(true);
  });

  test('its route is gone from every managed table; the other nodes and the foreign routes are untouched', () => {
    for (const table of TABLES) {
      expect(Object.fromEntries(eniRoutes(env.cloud, table))).toEqual({ [NODES.a.cidr]: NODES.a.eni, [NODES.b.cidr]: NODES.b.eni });
    }
    expect(foreignRoutes(env.cloud)).toEqual(foreignBefore);
    expect(env.cloud.state.routeTables.get(TABLES[0]!)!.routes.some((route) => route.destination === HAND_ADDED.destination)).toBe(true);
  });

  test('the node was drained (pods that must go evicted, DaemonSet pods left), removed and deregistered', () => {
    expect(result.summary.nodes[0]!.steps).toEqual({
      cordon: 'cordoned',
      uninstall: 'deregistered',
      objects: { node: 'deleted', ciliumNode: 'deleted' },
      managedInstance: 'already-gone',
      sourceDestCheckEnabled: [NODES.c.eni],
      instance: 'not-requested',
    });
    const evictions = env.cloud.state.calls.filter((call) => call.service === 'kubernetes' && call.action === 'create pods/eviction' && call.status === 201);
    expect(evictions).toHaveLength(2);
    const pods = [...(env.cloud.state.pods?.values() ?? [])] as { metadata: { name: string }; spec?: { nodeName?: string } }[];
    const podsLeft = pods.filter((pod) => pod.spec?.nodeName === NODES.c.name).map((pod) => pod.metadata.name);
    expect(podsLeft.filter((name) => name.startsWith('cilium') || name.startsWith('kube-proxy'))).toHaveLength(2);
    expect(podsLeft.some((name) => name.startsWith('coredns') || name.startsWith('web'))).toBe(false);
    expect(env.cloud.state.nodes.has(NODES.c.name)).toBe(false);
    expect(env.cloud.state.ciliumNodes.has(NODES.c.name)).toBe(false);
    expect(env.cloud.state.managedInstances.has(NODES.c.name)).toBe(false);
    expect(env.cloud.state.networkInterfaces.get(NODES.c.eni)).toMatchObject({ sourceDestCheck: true, tags: {} });
    expect(env.cloud.state.instances.get(NODES.c.instance)?.state).toBe('running');
    for (const other of [NODES.a, NODES.b]) {
      expect(env.cloud.state.nodes.has(other.name)).toBe(true);
      expect(env.cloud.state.networkInterfaces.get(other.eni)).toMatchObject({ sourceDestCheck: false, tags: {} });
    }
  });

  test('auto-healing is back on: rules enabled, no pause tag, and a reconcile run finds nothing to change', async () => {
    expect(Object.values(rulesOf(env.cloud))).toEqual(['ENABLED', 'ENABLED', 'ENABLED']);
    expect([...env.cloud.state.networkInterfaces.values()].filter((eni) => PAUSE_TAG_KEY in eni.tags)).toEqual([]);
    const before = mutatingCalls(env.cloud.state).length;
    expect((await env.reconcile(DIRECT_RECONCILE)).counts).toMatchObject({ create: 0, replace: 0, delete: 0 });
    expect(mutatingCalls(env.cloud.state).length).toBe(before);
  });

  test('running it again finds nothing to tear down and changes nothing', async () => {
    const before = JSON.stringify(stateSnapshot(env.cloud.state).routeTables);
    const again = await teardown(sample('teardown-one-node.json'));
    expect(again.status).toBe('SUCCEEDED');
    expect(again.summary.message).toMatch(/not found \(already gone\?\): mi-0c4d5e6f7a8b90a23/);
    expect(JSON.stringify(stateSnapshot(env.cloud.state).routeTables)).toBe(before);
  });
});

describe('tear down everything (events/teardown-all.json)', () => {
  let env: Awaited<ReturnType<typeof convergedCloud>>;
  let result: Awaited<ReturnType<typeof teardown>>;
  let foreignBefore: ReturnType<typeof foreignRoutes>;
  beforeAll(async () => {
    env = await convergedCloud();
    foreignBefore = structuredClone(foreignRoutes(env.cloud));
    result = await teardown(sample('teardown-all.json'));
  });
  afterAll(() => env?.done());

  test('succeeds: every node removed, every instance terminated', () => {
    expect(result.status).toBe('SUCCEEDED');
    expect(result.summary.nodes.map((node) => [node.node, node.status])).toEqual(Object.values(NODES).map((node) => [node.name, 'removed']));
    expect(env.cloud.state.nodes.size).toBe(0);
    expect(env.cloud.state.ciliumNodes.size).toBe(0);
    expect(env.cloud.state.managedInstances.size).toBe(0);
    for (const node of Object.values(NODES)) expect(env.cloud.state.instances.get(node.instance)?.state).toBe('terminated');
  });

  test('no managed route is left; unrelated routes are untouched', () => {
    for (const table of TABLES) expect(eniRoutes(env.cloud, table).size).toBe(0);
    expect(foreignRoutes(env.cloud)).toEqual(foreignBefore);
    expect(result.summary.routes.removed).toHaveLength(9);
  });

  test("the cluster's activations are deleted, and the reconciler's rules stay disabled (reported)", () => {
    expect(env.cloud.state.activations.size).toBe(0);
    expect(Object.values(rulesOf(env.cloud))).toEqual(['DISABLED', 'DISABLED', 'DISABLED']);
    expect(result.summary.autoHealing.paused).toBe(true);
  });
});

describe('dry run', () => {
  test('walks every step for all nodes and changes nothing anywhere', async () => {
    const env = await convergedCloud();
    try {
      const world = () => {
        const { calls: _calls, ...rest } = stateSnapshot(env.cloud.state);
        return JSON.stringify(rest);
      };
      const before = world();
      const callsBefore = env.cloud.state.calls.length;
      const result = await teardown({ ...sample('teardown-all.json'), dryRun: true });
      expect(result.status).toBe('SUCCEEDED');
      expect(result.summary).toMatchObject({ status: 'dry-run', complete: true });
      expect(result.summary.routes.wouldRemove).toHaveLength(9);
      expect(result.summary.nodes.map((node) => node.status)).toEqual(['planned', 'planned', 'planned']);
      expect(world()).toBe(before);
      const changing = env.cloud.state.calls
        .slice(callsBefore)
        .filter((call) => !/^(Describe|Get|List)/.test(call.action) && !/^(get|list) /.test(call.action) && call.service !== 'sts');
      expect(changing).toEqual([]);
    } finally {
      await env.done();
    }
  });
});

describe('interrupted by a failure, then run again', () => {
  test('the first run ends incomplete with the failure named; the second converges', async () => {
    const env = await convergedCloud();
    try {
      // Restoring source/dest check is refused once: the node fails after its Node and CiliumNode are gone.
      await refuseOnce(env.cloud, 'ModifyNetworkInterfaceAttribute');
      const input = { ...sample('teardown-one-node.json'), nodes: [NODES.b.name] };
      const first = await teardown(input);
      expect(first.status).toBe('FAILED');
      expect(first.error).toBe('TeardownIncomplete');
      const failed = first.summary.nodes[0]!;
      expect(failed).toMatchObject({ node: NODES.b.name, status: 'failed', error: 'UnauthorizedOperation' });
      // Nothing unproven was deleted: the failed node's routes are still there, its ENI still paused.
      for (const table of TABLES) expect(eniRoutes(env.cloud, table).get(NODES.b.cidr)).toBe(NODES.b.eni);
      expect(env.cloud.state.networkInterfaces.get(NODES.b.eni)?.tags[PAUSE_TAG_KEY]).toBe(NODES.b.name);
      expect(env.cloud.state.networkInterfaces.get(NODES.b.eni)?.sourceDestCheck).toBe(false);

      const second = await teardown(input);
      expect(second.status).toBe('SUCCEEDED');
      expect(second.summary.nodes[0]).toMatchObject({ node: NODES.b.name, status: 'removed', remains: [] });
      for (const table of TABLES) {
        expect(Object.fromEntries(eniRoutes(env.cloud, table))).toEqual({ [NODES.a.cidr]: NODES.a.eni, [NODES.c.cidr]: NODES.c.eni });
      }
      expect(env.cloud.state.networkInterfaces.get(NODES.b.eni)).toMatchObject({ sourceDestCheck: true, tags: {} });
      expect(Object.values(rulesOf(env.cloud))).toEqual(['ENABLED', 'ENABLED', 'ENABLED']);
      const expected = expectedPodRoutes(env.cloud.state);
      expect([...expected.keys()].sort()).toEqual([NODES.a.cidr, NODES.c.cidr]);
    } finally {
      await env.done();
    }
  });
});

describe('interrupted in the route step, then run again', () => {
  test('the removed node stays findable by its pause tag, and the re-run removes the route left behind', async () => {
    const env = await convergedCloud();
    try {
      await refuseOnce(env.cloud, 'DeleteRoute');
      const input = { ...sample('teardown-one-node.json'), nodes: [NODES.a.name] };
      const first = await teardown(input);
      expect(first).toMatchObject({ status: 'FAILED', error: 'TeardownIncomplete' });
      const left = TABLES.filter((table) => eniRoutes(env.cloud, table).has(NODES.a.cidr));
      expect(left).toHaveLength(1);
      expect(env.cloud.state.nodes.has(NODES.a.name)).toBe(false);
      expect(env.cloud.state.networkInterfaces.get(NODES.a.eni)?.tags[PAUSE_TAG_KEY]).toBe(NODES.a.name);
      expect(first.summary.nodes[0]!.remains).toEqual(expect.arrayContaining([`pause tag on ${NODES.a.eni}`, `route ${NODES.a.cidr} in ${left[0]}`]));

      const second = await teardown(input);
      expect(second.status).toBe('SUCCEEDED');
      expect(second.summary.nodes[0]).toMatchObject({ node: NODES.a.name, status: 'removed', remains: [] });
      for (const table of TABLES) expect(eniRoutes(env.cloud, table).has(NODES.a.cidr)).toBe(false);
      expect(env.cloud.state.networkInterfaces.get(NODES.a.eni)?.tags).toEqual({});
    } finally {
      await env.done();
    }
  });
});

describe('a node whose SSM agent never answers', () => {
  test('is still torn down once the uninstall timeout passes: deregistered by the workflow itself', async () => {
    const env = await convergedCloud();
    try {
      expect((await control(env.cloud, 'POST', 'scenario/silence-agent', { managedInstanceId: NODES.a.name })).status).toBe(200);
      const input = { ...sample('teardown-one-node.json'), nodes: [NODES.a.name], timeouts: { drainSeconds: 60, uninstallSeconds: 1, pollSeconds: 1 } };
      const result = await teardown(input);
      expect(result.status).toBe('SUCCEEDED');
      const steps = result.summary.nodes[0]!.steps!;
      expect(steps).toMatchObject({ uninstall: 'timed-out', managedInstance: 'deregistered' });
      expect(result.states.filter((state) => state === `${STATE_NAMES.checkUninstall}[0]`).length).toBeGreaterThan(1);
      expect(env.cloud.state.managedInstances.has(NODES.a.name)).toBe(false);
      for (const table of TABLES) expect(eniRoutes(env.cloud, table).has(NODES.a.cidr)).toBe(false);
    } finally {
      await env.done();
    }
  });
});

describe('a node whose agent is offline, torn down with terminateInstances', () => {
  test('its instance is kept and named in the summary; named with its instance id, it is terminated', async () => {
    for (const named of [false, true]) {
      const env = await convergedCloud();
      try {
        // Nothing live shows that the instance on the node's address is still the node's machine.
        env.cloud.state.managedInstances.get(NODES.b.name)!.pingStatus = 'ConnectionLost';
        const nodes = named ? [NODES.b.name, NODES.b.instance] : [NODES.b.name];
        const result = await teardown({ ...sample('teardown-one-node.json'), nodes, terminateInstances: true });
        const instance = env.cloud.state.instances.get(NODES.b.instance)!;
        // Everything else of the node is gone either way: its objects and its routes.
        for (const table of TABLES) expect(eniRoutes(env.cloud, table).has(NODES.b.cidr)).toBe(false);
        expect(env.cloud.state.ciliumNodes.has(NODES.b.name)).toBe(false);
        if (named) {
          expect(result.status).toBe('SUCCEEDED');
          expect(instance.state).toBe('terminated');
          // Terminating deleted its primary ENI.
          expect(env.cloud.state.networkInterfaces.has(NODES.b.eni)).toBe(false);
          expect(result.summary.keptInstances).toEqual([]);
        } else {
          expect(result.status).toBe('FAILED');
          expect(result.error).toBe('TeardownIncomplete');
          expect(instance.state).toBe('running');
          // Its ENI no longer forwards and is no longer paused.
          expect(env.cloud.state.networkInterfaces.get(NODES.b.eni)).toMatchObject({ sourceDestCheck: true, tags: {} });
          expect(result.summary.keptInstances).toEqual([
            { node: NODES.b.name, instanceId: NODES.b.instance, state: 'running', reason: expect.stringContaining('nothing shows'), terminateWith: `aws ec2 terminate-instances --instance-ids ${NODES.b.instance}` },
          ]);
          expect(result.summary.nodes[0]).toMatchObject({ status: 'incomplete', remains: [`instance ${NODES.b.instance} running (kept: not shown to be this node's machine)`] });
        }
      } finally {
        await env.done();
      }
    }
  });
});

describe('bad input', () => {
  test('fails at the first state, naming the field, with nothing changed', async () => {
    const env = await convergedCloud();
    try {
      const callsBefore = env.cloud.state.calls.length;
      const result = await teardown({ clusterName: 'ekscluster1', nodes: ['mi-026d6a261e355fba7', 'Not A Node!'] });
      expect(result).toMatchObject({ status: 'FAILED', error: 'InvalidTeardownInput', states: [STATE_NAMES.snapshot] });
      expect(JSON.parse(result.cause!).errorMessage).toMatch(/^nodes\[1\]: must be a node name/);
      expect(env.cloud.state.calls.length).toBe(callsBefore);
    } finally {
      await env.done();
    }
  });
});
