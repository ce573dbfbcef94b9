/**
 * The teardown task steps (functions/service/teardown.ts) against an in-memory world (test/support/
 * teardown-fakes.ts): what each step changes, that a dry run changes nothing, that a second run converges,
 * and the step-specific rules — snapshot refuses more than one execution can take, pause rolls back, drain
 * evicts only what must go and gives up at the deadline, uninstall runs exactly `nodeadm uninstall`, routes
 * removes only the removed nodes' managed routes, activations only the cluster's, resume untags (except a
 * half-removed failed node, and the removed nodes when the routes step did not finish) and re-enables the
 * rules while a failed node is still in the cluster, verify says what remains.
 */
import { ENV_LABELS, parseControllerConfig } from '../../../functions/core/config.js';
import { ConfigError, IncompleteReadError } from '../../../functions/core/errors.js';
import { PAUSE_TAG_KEY } from '../../../functions/core/teardown-steps.js';
import type { NodeResult, NodeTarget, TeardownRequest } from '../../../functions/core/teardown.js';
import { ACTIVATION_CLUSTER_TAG, TeardownService, type TeardownSettings, TeardownStepError } from '../../../functions/service/teardown.js';
import { DUAL_STACK_NETWORKS, REMOTE_VPC, TGW, ciliumNode, detachedEni as eni, eniId, foreignRoutes, nodeName, route } from '../../support/builders.js';
import { labClusterInfo } from '../../support/fakes.js';
import {
  CLOUD_NODE,
  TD_ACTIVATION,
  TD_CLUSTER,
  TD_CLUSTER_ARN,
  TD_OTHER_ACTIVATION,
  TD_RULES,
  TD_TABLE_A,
  TD_TABLE_B,
  TD_UNTAGGED_ACTIVATION,
  type TeardownWorld,
  hybridKubeNode,
  kubernetesError,
  labNode,
  labTarget,
  pauseLabNode,
  teardownLab,
  teardownRequest,
  throttlingError,
  unproven,
} from '../../support/teardown-fakes.js';

const MISSING_RULE = 'eks-hybrid-routes-retired';
const settings: TeardownSettings = {
  config: parseControllerConfig({ clusterName: TD_CLUSTER, region: 'us-west-2', routeTableIds: `${TD_TABLE_A},${TD_TABLE_B}` }, ENV_LABELS),
  ruleNames: [...TD_RULES, MISSING_RULE],
};

const N1 = labNode(1);
const N2 = labNode(2);
const N3 = labNode(3);
const STALE_CIDR = '10.30.99.0/24';
const STALE_ENI = eniId(0x99);

function service(world: TeardownWorld): TeardownService {
  return new TeardownService(world.deps(), settings);
}

const partial = (overrides: Partial<TeardownRequest> = {}) => teardownRequest({ nodes: [N1.name], ...overrides });
const everything = (overrides: Partial<TeardownRequest> = {}) => teardownRequest({ all: true, nodes: [], ...overrides });
const dry = { dryRun: true };

async function rejection(run: Promise<unknown>): Promise<Error> {
  const outcome = await run.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(Error);
  return outcome.error as Error;
}

/** Everything the world holds after `run`, and the mutations `run` made. */
async function effects(world: TeardownWorld, run: () => Promise<unknown>) {
  const before = world.mutations().length;
  const result = await run();
  return { result, mutations: world.mutations().slice(before), state: world.state() };
}

/** The world once node(s) `done` were torn down (objects deleted, deregistered) and `paused` still carry the pause tag. */
function afterNodeSteps(world: TeardownWorld, done: string[], paused: string[]): void {
  world.kubeNodes = world.kubeNodes.filter((node) => !done.includes(node.name));
  world.ciliumNodes = world.ciliumNodes.filter((node) => !done.includes(node.name));
  world.managedInstances = world.managedInstances.filter((mi) => !done.includes(mi.instanceId));
  for (const name of paused) {
    const target = world.interfaces.find((candidate) => candidate.privateIpAddresses.includes(labNode(Number.parseInt(name.slice(-1), 16)).ip))!;
    target.tags = { ...(target.tags ?? {}), [PAUSE_TAG_KEY]: name };
  }
}

const doneResult = (name: string, extra: Record<string, unknown> = {}): NodeResult => ({ node: name, status: 'done', ...extra });
const failedResult = (name: string, error = 'DrainTimedOut'): NodeResult => ({
  node: name,
  status: 'failed',
  error,
  cause: JSON.stringify({ errorType: error, errorMessage: `${name} still has pods that must leave after 300 s: default/web` }),
});

// =========================================================================================================
describe('snapshot', () => {
  test('a route-table tag that matches no table: refused before anything is changed (not found out at the routes step)', async () => {
    const world = teardownLab();
    const tagged = new TeardownService(world.deps(), {
      ...settings,
      config: parseControllerConfig({ clusterName: TD_CLUSTER, region: 'us-west-2', routeTableTag: 'eks-hybrid-routes/Managed=true', vpcId: 'vpc-0a1b2c3d4e5f60718' }, ENV_LABELS),
    });

    await expect(tagged.snapshot({ clusterName: TD_CLUSTER, nodes: [N1.name] })).rejects.toThrow(/no route table in vpc-0a1b2c3d4e5f60718 carries the tag eks-hybrid-routes\/Managed=true/);
    expect(world.mutations()).toEqual([]);
  });

  test('a named node: the request, the node joined across the sources, and what exists; nothing changes', async () => {
    const world = teardownLab();

    const result = await service(world).snapshot({ clusterName: TD_CLUSTER, nodes: [N1.name], dryRun: false });

    expect(result).toEqual({
      request: teardownRequest({ nodes: [N1.name] }),
      nodes: [labTarget(1)],
      snapshot: {
        clusterArn: TD_CLUSTER_ARN,
        vpcId: REMOTE_VPC,
        notFound: [],
        sharedIps: [],
        kubernetesNodes: 4,
        ciliumNodes: 3,
        managedInstances: [N1.name, N2.name, N3.name],
        routeTables: [
          { routeTableId: TD_TABLE_A, managedRoutes: 3 },
          { routeTableId: TD_TABLE_B, managedRoutes: 3 },
        ],
        activations: [TD_ACTIVATION],
        rules: [...TD_RULES.map((name) => ({ name, state: 'ENABLED' })), { name: MISSING_RULE, state: 'MISSING' }],
      },
    });
    expect(world.mutations()).toEqual([]);
    // The activations' managed instances are listed for named nodes too: an online one on a node's IP is evidence.
    expect(world.methods()).toContain('listManagedInstancesByActivation');
    expect(world.methods()).not.toContain('findInstanceNetworkInterfaces');
  });

  test('all: every hybrid node, a registered instance that never joined, never the EKS (cloud) node', async () => {
    const world = teardownLab();
    const lonely = { name: nodeName(4), ip: '10.20.1.14' };
    world.managedInstances.push({ instanceId: lonely.name, ipAddress: lonely.ip, pingStatus: 'ConnectionLost', activationId: TD_ACTIVATION });
    world.managedInstances.push({ instanceId: nodeName(5), ipAddress: '10.20.1.15', pingStatus: 'Online', activationId: TD_OTHER_ACTIVATION });

    const result = await service(world).snapshot({ clusterName: TD_CLUSTER, nodes: 'all' });

    expect(result.request).toMatchObject({ all: true, nodes: [] });
    expect(result.nodes).toEqual([
      labTarget(1),
      labTarget(2),
      labTarget(3),
      { name: lonely.name, managedInstanceId: lonely.name, ip: lonely.ip, networkInterfaceIds: [], cidrs: [] },
    ]);
    expect(result.nodes.map((node) => node.name)).not.toContain(CLOUD_NODE);
    expect(world.calls.find((call) => call.method === 'listManagedInstancesByActivation')?.args).toEqual([[TD_ACTIVATION]]);
    expect(result.snapshot.managedInstances.sort()).toEqual([N1.name, N2.name, N3.name, lonely.name].sort());
    expect(world.mutations()).toEqual([]);
  });

  test('a node named by its EC2 instance id is found through the instance’s ENIs', async () => {
    const world = teardownLab();

    const result = await service(world).snapshot({ clusterName: TD_CLUSTER, nodes: [N2.instance] });

    expect(result.nodes).toEqual([labTarget(2)]);
    expect(world.calls.find((call) => call.method === 'findInstanceNetworkInterfaces')?.args).toEqual([REMOTE_VPC, [N2.instance]]);
  });

  test('a re-run after an earlier teardown: a paused node with no objects left is found by its tag, a gone node is notFound', async () => {
    const world = teardownLab();
    afterNodeSteps(world, [N1.name], [N1.name]);

    const result = await service(world).snapshot({ clusterName: TD_CLUSTER, nodes: [N1.name, nodeName(9)] });

    // Its agent is gone, so nothing live shows the instance is its own any more.
    expect(result.nodes).toEqual([{ ...unproven(labTarget(1)), cidrs: [] }]);
    expect(result.snapshot.notFound).toEqual([nodeName(9)]);
  });

  test.each<[string, unknown, string]>([
    ['another cluster', { clusterName: 'prod', nodes: 'all' }, 'clusterName'],
    ['a bad node id', { clusterName: TD_CLUSTER, nodes: [N1.name, 'Not_A_Node'] }, 'nodes[1]'],
    ['a bad timeout', { clusterName: TD_CLUSTER, nodes: 'all', timeouts: { pollSeconds: 0 } }, 'timeouts.pollSeconds'],
  ])('%s: ConfigError before any port is called', async (_label, input, field) => {
    const world = teardownLab();
    const error = await rejection(service(world).snapshot(input));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(field);
    expect(world.calls).toEqual([]);
  });

  test('all, with 101 nodes: ConfigError naming nodes, after reading only; nothing changed', async () => {
    const world = teardownLab({ nodes: 101 });
    const before = world.state();

    const error = await rejection(service(world).snapshot({ clusterName: TD_CLUSTER, nodes: 'all' }));

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('nodes');
    expect(error.message).toBe('nodes: 101 nodes match; one teardown takes at most 100: name them in batches');
    expect(world.mutations()).toEqual([]);
    expect(world.state()).toEqual(before);
  });

  test('all, with exactly 100 nodes: accepted', async () => {
    const world = teardownLab({ nodes: 100 });
    const result = await service(world).snapshot({ clusterName: TD_CLUSTER, nodes: 'all' });
    expect(result.nodes).toHaveLength(100);
    expect(world.mutations()).toEqual([]);
  });

  test('a run that could outlast the execution’s limit: ConfigError naming concurrency, nothing changed', async () => {
    // 12 nodes one at a time, each with the largest budgets: 12 × (3600 + 3600 + 300) + 900 = 90,900 s > 24 h.
    const world = teardownLab({ nodes: 12 });
    const before = world.state();
    const input = { clusterName: TD_CLUSTER, nodes: 'all', concurrency: 1, timeouts: { drainSeconds: 3600, uninstallSeconds: 3600 } };

    const error = await rejection(service(world).snapshot(input));

    expect((error as ConfigError).field).toBe('concurrency');
    expect(world.state()).toEqual(before);
    expect(world.mutations()).toEqual([]);
    // Two at a time, the same nodes fit.
    expect((await service(world).snapshot({ ...input, concurrency: 2 })).nodes).toHaveLength(12);
  });

  test('the limit counts the nodes found, not the ids named: 12 named, 11 found, fits', async () => {
    const world = teardownLab({ nodes: 11 });
    const input = {
      clusterName: TD_CLUSTER,
      nodes: Array.from({ length: 12 }, (_, i) => nodeName(i + 1)),
      concurrency: 1,
      timeouts: { drainSeconds: 3600, uninstallSeconds: 3600 },
    };

    const result = await service(world).snapshot(input);

    expect(result.nodes).toHaveLength(11);
    expect(result.snapshot.notFound).toEqual([nodeName(12)]);
  });
});

// =========================================================================================================
describe('pause', () => {
  test('a partial teardown tags each node’s ENIs with its name and leaves the rules alone', async () => {
    const world = teardownLab();

    const { result, mutations } = await effects(world, () => service(world).pause(partial({ nodes: [N1.name, N2.name] }), [labTarget(1), labTarget(2)]));

    expect(result).toEqual({ tagged: [N1.eni, N2.eni], disabledRules: [], rulesAlreadyDisabled: [], missingRules: [] });
    expect(mutations).toEqual([
      { method: 'tagNetworkInterfaces', args: [[N1.eni], { [PAUSE_TAG_KEY]: N1.name }] },
      { method: 'tagNetworkInterfaces', args: [[N2.eni], { [PAUSE_TAG_KEY]: N2.name }] },
    ]);
    expect(world.eni(N1.eni)!.tags).toEqual({ [PAUSE_TAG_KEY]: N1.name });
    expect(world.eni(N3.eni)!.tags).toBeUndefined();
    expect(world.methods()).not.toContain('describeRules');
    expect(TD_RULES.map((name) => world.rule(name))).toEqual(['ENABLED', 'ENABLED', 'ENABLED']);
  });

  test('all: tags every node, then disables the enabled rules; a missing rule is reported', async () => {
    const world = teardownLab();
    const nodes = [labTarget(1), labTarget(2), labTarget(3)];

    const { result, mutations } = await effects(world, () => service(world).pause(everything(), nodes));

    expect(result).toEqual({ tagged: [N1.eni, N2.eni, N3.eni], disabledRules: TD_RULES, rulesAlreadyDisabled: [], missingRules: [MISSING_RULE] });
    expect(mutations).toEqual([
      ...nodes.map((node) => ({ method: 'tagNetworkInterfaces', args: [node.networkInterfaceIds, { [PAUSE_TAG_KEY]: node.name }] })),
      ...TD_RULES.map((name) => ({ method: 'disableRule', args: [name] })),
    ]);
    expect(TD_RULES.map((name) => world.rule(name))).toEqual(['DISABLED', 'DISABLED', 'DISABLED']);
  });

  test('a node without ENIs is not tagged (no empty CreateTags)', async () => {
    const world = teardownLab();
    const { mutations } = await effects(world, () => service(world).pause(partial(), [{ ...labTarget(1), networkInterfaceIds: [] }, labTarget(2)]));
    expect(mutations).toEqual([{ method: 'tagNetworkInterfaces', args: [[N2.eni], { [PAUSE_TAG_KEY]: N2.name }] }]);
  });

  test.each([
    ['partial', partial(dry), { dryRun: true, wouldTag: [N1.eni, N2.eni, N3.eni], wouldDisableRules: [], tagged: [], disabledRules: [] }],
    ['all', everything(dry), { dryRun: true, wouldTag: [N1.eni, N2.eni, N3.eni], wouldDisableRules: TD_RULES, tagged: [], disabledRules: [] }],
  ])('dry run (%s): says what it would do, changes nothing', async (_label, request, expected) => {
    const world = teardownLab();
    const before = world.state();

    const result = await service(world).pause(request, [labTarget(1), labTarget(2), labTarget(3)]);

    expect(result).toEqual(expected);
    expect(world.mutations()).toEqual([]);
    expect(world.state()).toEqual(before);
  });

  test('a second run ends in the same state and disables nothing again', async () => {
    const world = teardownLab();
    const nodes = [labTarget(1), labTarget(2), labTarget(3)];
    await service(world).pause(everything(), nodes);
    const after = world.state();

    const second = await effects(world, () => service(world).pause(everything(), nodes));

    expect(second.state).toEqual(after);
    expect(second.mutations.map((call) => call.method)).toEqual(['tagNetworkInterfaces', 'tagNetworkInterfaces', 'tagNetworkInterfaces']);
    expect(second.result).toEqual({ tagged: [N1.eni, N2.eni, N3.eni], disabledRules: [], rulesAlreadyDisabled: TD_RULES, missingRules: [MISSING_RULE] });
  });

  test('a failure halfway (disabling the second rule) re-enables the first rule, removes every tag, and rethrows', async () => {
    const world = teardownLab();
    const before = world.state();
    const throttled = throttlingError();
    world.failOn('disableRule', throttled, { when: (name: string) => name === TD_RULES[1] });

    const error = await rejection(service(world).pause(everything(), [labTarget(1), labTarget(2), labTarget(3)]));

    expect(error).toBe(throttled);
    expect(world.mutations()).toEqual([
      { method: 'tagNetworkInterfaces', args: [[N1.eni], { [PAUSE_TAG_KEY]: N1.name }] },
      { method: 'tagNetworkInterfaces', args: [[N2.eni], { [PAUSE_TAG_KEY]: N2.name }] },
      { method: 'tagNetworkInterfaces', args: [[N3.eni], { [PAUSE_TAG_KEY]: N3.name }] },
      { method: 'disableRule', args: [TD_RULES[0]] },
      { method: 'disableRule', args: [TD_RULES[1]], failed: true },
      { method: 'enableRule', args: [TD_RULES[0]] },
      { method: 'untagNetworkInterfaces', args: [[N1.eni, N2.eni, N3.eni], [PAUSE_TAG_KEY]] },
    ]);
    expect(world.state()).toEqual(before);
  });

  test('an ENI deleted since the snapshot is reported as gone; the other nodes are paused and the rules disabled', async () => {
    const world = teardownLab();
    world.interfaces = world.interfaces.filter((eni) => eni.networkInterfaceId !== N2.eni);

    const result = await service(world).pause(everything(), [labTarget(1), labTarget(2), labTarget(3)]);

    expect(result).toEqual(expect.objectContaining({ tagged: [N1.eni, N3.eni], alreadyGone: [N2.eni], disabledRules: TD_RULES }));
    expect(world.eni(N1.eni)!.tags).toEqual({ [PAUSE_TAG_KEY]: N1.name });
    expect(world.eni(N3.eni)!.tags).toEqual({ [PAUSE_TAG_KEY]: N3.name });
    expect(TD_RULES.map((name) => world.rule(name))).toEqual(['DISABLED', 'DISABLED', 'DISABLED']);
  });

  test('a failure tagging the third node untags the first two, touches no rule, and rethrows', async () => {
    const world = teardownLab();
    const before = world.state();
    world.failOn('tagNetworkInterfaces', kubernetesError('not really', 500), { when: (ids: string[]) => ids.includes(N3.eni) });

    const error = await rejection(service(world).pause(everything(), [labTarget(1), labTarget(2), labTarget(3)]));

    expect(error.message).toBe('not really');
    expect(world.mutations().slice(3)).toEqual([{ method: 'untagNetworkInterfaces', args: [[N1.eni, N2.eni], [PAUSE_TAG_KEY]] }]);
    expect(world.mutations().map((call) => call.method)).not.toContain('disableRule');
    expect(world.state()).toEqual(before);
  });

  test('a rollback undoes only what this run did: an ENI already paused by an earlier run keeps its tag', async () => {
    // A re-run: node 1 failed after its Node and CiliumNode were deleted, so resume kept its pause tag — the
    // only link left between its ENI and the node. This run's pause fails halfway and rolls back.
    const world = teardownLab();
    world.eni(N1.eni)!.tags = { [PAUSE_TAG_KEY]: N1.name };
    afterNodeSteps(world, [N1.name], []);
    const before = world.state();
    world.failOn('disableRule', throttlingError(), { when: (name: string) => name === TD_RULES[1] });

    await rejection(service(world).pause(everything(), [{ ...labTarget(1), cidrs: [] }, labTarget(2)]));

    expect(world.eni(N2.eni)!.tags).toBeUndefined();
    expect(world.eni(N1.eni)!.tags).toEqual({ [PAUSE_TAG_KEY]: N1.name });
    expect(world.state()).toEqual(before);
  });

  test('the original error is rethrown even when the rollback fails too', async () => {
    const world = teardownLab();
    const original = throttlingError('first');
    world.failOn('disableRule', original);
    world.failOn('untagNetworkInterfaces', throttlingError('second'));

    expect(await rejection(service(world).pause(everything(), [labTarget(1)]))).toBe(original);
  });
});

// =========================================================================================================
describe('drain', () => {
  const podsOf = (world: TeardownWorld, node: string) => world.pods.filter((pod) => pod.node === node).map((pod) => `${pod.namespace}/${pod.name}`);

  test('cordons, evicts only the pods that must go, and is done when they are gone', async () => {
    const world = teardownLab();
    const start = world.time;

    const { result, mutations } = await effects(world, () => service(world).drain(partial(), labTarget(1)));

    expect(result).toEqual({ done: true, deadline: start + 300_000, cordon: 'cordoned', evicted: ['default/web-1'], blocked: [], remaining: [] });
    expect(mutations).toEqual([
      { method: 'cordonNode', args: [N1.name] },
      { method: 'evictPod', args: ['default', 'web-1'] },
    ]);
    expect(world.kubeNodes.find((node) => node.name === N1.name)!.unschedulable).toBe(true);
    // DaemonSet, mirror and finished pods stay; other nodes are untouched.
    expect(podsOf(world, N1.name)).toEqual(['kube-system/cilium-1', 'kube-system/kube-proxy-mirror-1', 'default/job-1']);
    expect(podsOf(world, N2.name)).toHaveLength(4);
    expect(world.kubeNodes.find((node) => node.name === N2.name)!.unschedulable).toBe(false);
  });

  test('a second run evicts nothing more, keeps the evicted list, and the state is unchanged', async () => {
    const world = teardownLab();
    const first = (await service(world).drain(partial(), labTarget(1))) as { deadline: number; evicted: string[] };
    const after = world.state();

    const second = await effects(world, () => service(world).drain(partial(), labTarget(1), first));

    expect(second.result).toEqual({ done: true, deadline: first.deadline, cordon: 'already-cordoned', evicted: ['default/web-1'], blocked: [], remaining: [] });
    expect(second.mutations).toEqual([{ method: 'cordonNode', args: [N1.name] }]);
    expect(second.state).toEqual(after);
  });

  test('evicted pods still terminating: not done, not evicted twice; done once they leave', async () => {
    const world = teardownLab();
    world.evictionLeavesTerminating = true;

    const first = (await service(world).drain(partial(), labTarget(1))) as { deadline: number; evicted: string[] };
    expect(first).toMatchObject({ done: false, evicted: ['default/web-1'], remaining: ['default/web-1'] });

    world.advance(10_000);
    const second = await effects(world, () => service(world).drain(partial(), labTarget(1), first));
    expect(second.result).toMatchObject({ done: false, evicted: ['default/web-1'], remaining: ['default/web-1'] });
    expect(second.mutations.map((call) => call.method)).toEqual(['cordonNode']);

    world.finishTerminating();
    expect(await service(world).drain(partial(), labTarget(1), first)).toMatchObject({ done: true, remaining: [], deadline: first.deadline });
  });

  test('a pod a PodDisruptionBudget protects (429) is reported blocked, and the drain waits', async () => {
    const world = teardownLab();
    world.pdbBlocked.add('default/web-1');

    const result = await service(world).drain(partial(), labTarget(1));

    expect(result).toEqual({ done: false, deadline: world.time + 300_000, cordon: 'cordoned', evicted: [], blocked: ['default/web-1'], remaining: ['default/web-1'] });
    expect(podsOf(world, N1.name)).toContain('default/web-1');
  });

  test('DrainTimedOut once the deadline has passed with pods left, naming them and the budget', async () => {
    const world = teardownLab();
    world.pdbBlocked.add('default/web-1');
    const first = (await service(world).drain(partial(), labTarget(1))) as { deadline: number; evicted: string[] };

    world.advance(299_999);
    expect(await service(world).drain(partial(), labTarget(1), first)).toMatchObject({ done: false });

    world.advance(1);
    const error = await rejection(service(world).drain(partial(), labTarget(1), first));
    expect(error).toBeInstanceOf(TeardownStepError);
    expect(error.name).toBe('DrainTimedOut');
    expect(error.message).toBe(`${N1.name} still has pods that must leave after 300 s: default/web-1 (eviction refused, PodDisruptionBudget: default/web-1)`);
  });

  test('past the deadline but drained: done, no error', async () => {
    const world = teardownLab();
    const result = await service(world).drain(partial(), labTarget(1), { deadline: world.time - 1 });
    expect(result).toMatchObject({ done: true, remaining: [], evicted: ['default/web-1'] });
  });

  test('the deadline comes from the drain timeout of the request', async () => {
    const world = teardownLab();
    const result = await service(world).drain(partial({ timeouts: { drainSeconds: 5, uninstallSeconds: 600, pollSeconds: 10 } }), labTarget(1));
    expect(result.deadline).toBe(world.time + 5_000);
  });

  test('a node already gone: done, nothing evicted', async () => {
    const world = teardownLab();
    afterNodeSteps(world, [N1.name], []);

    const { result, mutations } = await effects(world, () => service(world).drain(partial(), labTarget(1), { deadline: 5, evicted: ['default/web-1'] }));

    expect(result).toEqual({ done: true, deadline: 5, cordon: 'not-found', evicted: ['default/web-1'], blocked: [], remaining: [] });
    expect(mutations).toEqual([{ method: 'cordonNode', args: [N1.name] }]);
  });

  test('dry run: what would be evicted and waited for, no cordon, no eviction', async () => {
    const world = teardownLab();
    world.pods.push({ node: N1.name, namespace: 'shop', name: 'leaving', ownerKinds: ['ReplicaSet'], mirror: false, terminating: true, phase: 'Running' });
    const before = world.state();

    const result = await service(world).drain(partial(dry), labTarget(1));

    expect(result).toEqual({
      done: true,
      deadline: world.time + 300_000,
      cordon: 'would-cordon',
      wouldEvict: ['default/web-1'],
      waitingFor: ['shop/leaving'],
      evicted: [],
      blocked: [],
      remaining: [],
    });
    expect(world.mutations()).toEqual([]);
    expect(world.state()).toEqual(before);
  });

  test('dry run of a node already gone', async () => {
    const world = teardownLab();
    afterNodeSteps(world, [N1.name], []);
    expect(await service(world).drain(partial(dry), labTarget(1))).toMatchObject({ done: true, cordon: 'not-found' });
    expect(world.mutations()).toEqual([]);
  });

  test('an eviction that fails (500) fails the step with that error', async () => {
    const world = teardownLab();
    world.failOn('evictPod', kubernetesError('evict pod default/web-1 failed: 500 Internal Server Error', 500));
    const error = await rejection(service(world).drain(partial(), labTarget(1)));
    expect(error).toMatchObject({ name: 'KubernetesApiError', statusCode: 500 });
  });
});

// =========================================================================================================
describe('uninstall', () => {
  const started = (world: TeardownWorld, request: TeardownRequest = partial()) =>
    service(world).uninstall(request, labTarget(1)) as Promise<{ commandId: string; deadline: number }>;

  test('sends exactly `nodeadm uninstall` through Run Command, with the uninstall timeout', async () => {
    const world = teardownLab();
    const start = world.time;

    const { result, mutations } = await effects(world, () => service(world).uninstall(partial(), labTarget(1)));

    expect(mutations).toEqual([
      { method: 'runShellScript', args: [N1.name, ['nodeadm uninstall'], { comment: `eks-hybrid-routes teardown of ${N1.name}`, executionTimeoutSeconds: 600 }] },
    ]);
    expect(result).toEqual({ done: false, outcome: 'in-progress', commandId: world.invocations[0]!.commandId, deadline: start + 600_000, command: 'nodeadm uninstall' });
  });

  test('the nodeadm path and the timeout come from the request', async () => {
    const world = teardownLab();
    const request = partial({ nodeadmPath: '/usr/local/bin/nodeadm', timeouts: { drainSeconds: 300, uninstallSeconds: 900, pollSeconds: 10 } });

    const result = await service(world).uninstall(request, labTarget(1));

    expect(world.calls.find((call) => call.method === 'runShellScript')!.args).toEqual([
      N1.name,
      ['/usr/local/bin/nodeadm uninstall'],
      { comment: `eks-hybrid-routes teardown of ${N1.name}`, executionTimeoutSeconds: 900 },
    ]);
    expect(result).toMatchObject({ command: '/usr/local/bin/nodeadm uninstall', deadline: world.time + 900_000 });
  });

  test('a node that is not a managed instance: not-registered, SSM not called', async () => {
    const world = teardownLab();
    const { managedInstanceId: _mi, ...target } = labTarget(1);
    expect(await service(world).uninstall(partial(), target)).toEqual({ done: true, outcome: 'not-registered', command: 'nodeadm uninstall' });
    expect(world.calls).toEqual([]);
  });

  test('a managed instance no longer registered: not-registered, nothing sent', async () => {
    const world = teardownLab();
    afterNodeSteps(world, [N1.name], []);
    expect(await service(world).uninstall(partial(), labTarget(1))).toEqual({ done: true, outcome: 'not-registered', command: 'nodeadm uninstall' });
    expect(world.mutations()).toEqual([]);
  });

  test.each(['ConnectionLost', 'Inactive'])('an agent that is %s: agent-offline, nothing sent (deregister handles it)', async (pingStatus) => {
    const world = teardownLab();
    world.managedInstances[0]!.pingStatus = pingStatus;
    expect(await service(world).uninstall(partial(), labTarget(1))).toEqual({ done: true, outcome: 'agent-offline', command: 'nodeadm uninstall' });
    expect(world.mutations()).toEqual([]);
  });

  test('dry run: would-run, nothing sent', async () => {
    const world = teardownLab();
    const before = world.state();
    expect(await service(world).uninstall(partial(dry), labTarget(1))).toEqual({ done: true, outcome: 'would-run', command: 'nodeadm uninstall' });
    expect(world.mutations()).toEqual([]);
    expect(world.state()).toEqual(before);
  });

  test.each<[string, (world: TeardownWorld) => void, { done: boolean; outcome: string; status: string | null }]>([
    ['the command succeeded', (world) => (world.invocations[0]!.status = 'Success'), { done: true, outcome: 'succeeded', status: 'Success' }],
    ['the command is still running', () => {}, { done: false, outcome: 'in-progress', status: 'InProgress' }],
    [
      'nodeadm deregistered the instance before reporting',
      (world) => (world.managedInstances = world.managedInstances.filter((mi) => mi.instanceId !== labNode(1).name)),
      { done: true, outcome: 'deregistered', status: 'InProgress' },
    ],
    ['the agent went offline', (world) => (world.managedInstances[0]!.pingStatus = 'ConnectionLost'), { done: true, outcome: 'agent-offline', status: 'InProgress' }],
    ['the deadline passed', (world) => world.advance(600_000), { done: true, outcome: 'timed-out', status: 'InProgress' }],
    // Run Command's own execution timeout (the uninstall budget) ran out: like the deadline, go on and deregister.
    ['the command TimedOut', (world) => (world.invocations[0]!.status = 'TimedOut'), { done: true, outcome: 'timed-out', status: 'TimedOut' }],
    ['no invocation record yet', (world) => (world.invocations = []), { done: false, outcome: 'in-progress', status: null }],
  ])('check: %s', async (_label, change, expected) => {
    const world = teardownLab();
    const first = await started(world);
    change(world);
    const mutationsBefore = world.mutations().length;

    const result = await service(world).uninstall(partial(), labTarget(1), first);

    expect(result).toEqual({ ...expected, commandId: first.commandId, deadline: first.deadline, command: 'nodeadm uninstall' });
    expect(world.mutations()).toHaveLength(mutationsBefore);
  });

  test('a failed command: UninstallFailed with the status, exit code and stderr', async () => {
    const world = teardownLab();
    const first = await started(world);
    Object.assign(world.invocations[0]!, { status: 'Failed', responseCode: 1, standardOutput: 'uninstalling...', standardError: 'error: containerd is still running\n' });

    const error = await rejection(service(world).uninstall(partial(), labTarget(1), first));

    expect(error).toBeInstanceOf(TeardownStepError);
    expect(error.name).toBe('UninstallFailed');
    expect(error.message).toBe(`nodeadm uninstall on ${N1.name} ended Failed (exit 1): error: containerd is still running`);
  });

  test.each(['Cancelled'])('a command %s: UninstallFailed, stdout when there is no stderr', async (status) => {
    const world = teardownLab();
    const first = await started(world);
    Object.assign(world.invocations[0]!, { status, standardOutput: 'partial output' });

    const error = await rejection(service(world).uninstall(partial(), labTarget(1), first));

    expect(error.name).toBe('UninstallFailed');
    expect(error.message).toBe(`nodeadm uninstall on ${N1.name} ended ${status} (exit unknown): partial output`);
  });

  test('a command TimedOut is no failure: the node goes on, and the deregister step removes the instance nodeadm left registered', async () => {
    const world = teardownLab();
    const first = await started(world);
    Object.assign(world.invocations[0]!, { status: 'TimedOut', standardError: 'still waiting for containerd' });

    const result = await service(world).uninstall(partial(), labTarget(1), first);
    expect(result).toMatchObject({ done: true, outcome: 'timed-out', status: 'TimedOut' });

    expect(await service(world).deregister(partial(), labTarget(1))).toEqual({ managedInstance: 'deregistered' });
    expect(world.managedInstances.map((mi) => mi.instanceId)).not.toContain(N1.name);
  });

  test('a long stderr is cut to its last 400 characters', async () => {
    const world = teardownLab();
    const first = await started(world);
    const stderr = `${'x'.repeat(1000)}THE-END`;
    Object.assign(world.invocations[0]!, { status: 'Failed', responseCode: 2, standardError: stderr });

    const error = await rejection(service(world).uninstall(partial(), labTarget(1), first));

    expect(error.message.endsWith(`: ${stderr.slice(-400)}`)).toBe(true);
  });

  test('a re-run of the first attempt (it failed after the command was sent) follows that command instead of sending a second', async () => {
    const world = teardownLab();
    const first = await started(world);
    world.time += 5_000;
    world.clearCalls();

    const { result, mutations } = await effects(world, () => service(world).uninstall(partial(), labTarget(1)));

    expect(mutations).toEqual([]);
    expect(world.invocations).toHaveLength(1);
    expect(world.calls.filter((call) => call.method === 'findExecutingCommand').map((call) => call.args)).toEqual([
      [N1.name, ['nodeadm uninstall'], `eks-hybrid-routes teardown of ${N1.name}`],
    ]);
    expect(result).toEqual({ done: false, outcome: 'in-progress', commandId: first.commandId, deadline: world.time + 600_000, command: 'nodeadm uninstall', adopted: true });
  });

  test.each<[string, (world: TeardownWorld) => void]>([
    ['the earlier command ended (Failed)', (world) => (world.invocations[0]!.status = 'Failed')],
    ['the earlier command ran another nodeadm', () => undefined],
  ])('%s: a new command is sent', async (label, arrange) => {
    const world = teardownLab();
    await started(world, label.includes('another') ? partial({ nodeadmPath: '/opt/bin/nodeadm' }) : partial());
    arrange(world);

    const result = (await service(world).uninstall(partial(), labTarget(1))) as { commandId: string; adopted?: boolean };

    expect(world.invocations).toHaveLength(2);
    expect(result.commandId).toBe(world.invocations[1]!.commandId);
    expect(result.adopted).toBeUndefined();
  });

  test('after a successful uninstall a re-run sends nothing again', async () => {
    const world = teardownLab();
    const first = await started(world);
    world.invocations[0]!.status = 'Success';
    world.managedInstances = world.managedInstances.filter((mi) => mi.instanceId !== N1.name);
    await service(world).uninstall(partial(), labTarget(1), first);
    const mutations = world.mutations().length;

    expect(await service(world).uninstall(partial(), labTarget(1))).toMatchObject({ done: true, outcome: 'not-registered' });
    expect(world.mutations()).toHaveLength(mutations);
  });
});

// =========================================================================================================
describe('delete-objects', () => {
  test('deletes the Node and the CiliumNode; a second run finds them gone', async () => {
    const world = teardownLab();

    const first = await effects(world, () => service(world).deleteObjects(partial(), labTarget(1)));
    expect(first.result).toEqual({ node: 'deleted', ciliumNode: 'deleted' });
    expect(first.mutations).toEqual([
      { method: 'deleteNode', args: [N1.name] },
      { method: 'deleteCiliumNode', args: [N1.name] },
    ]);
    expect(world.kubeNodes.map((node) => node.name)).toEqual([N2.name, N3.name, CLOUD_NODE]);
    expect(world.ciliumNodes.map((node) => node.name)).toEqual([N2.name, N3.name]);

    const second = await effects(world, () => service(world).deleteObjects(partial(), labTarget(1)));
    expect(second.result).toEqual({ node: 'not-found', ciliumNode: 'not-found' });
    expect(second.state).toEqual(first.state);
  });

  test('dry run: nothing deleted', async () => {
    const world = teardownLab();
    const before = world.state();
    expect(await service(world).deleteObjects(partial(dry), labTarget(1))).toEqual({ node: 'would-delete', ciliumNode: 'would-delete' });
    expect(world.mutations()).toEqual([]);
    expect(world.state()).toEqual(before);
  });
});

// =========================================================================================================
describe('deregister', () => {
  test('deregisters a managed instance still registered; a second run makes no call', async () => {
    const world = teardownLab();

    const first = await effects(world, () => service(world).deregister(partial(), labTarget(1)));
    expect(first.result).toEqual({ managedInstance: 'deregistered' });
    expect(first.mutations).toEqual([{ method: 'deregisterManagedInstance', args: [N1.name] }]);
    expect(world.managedInstances.map((mi) => mi.instanceId)).toEqual([N2.name, N3.name]);

    const second = await effects(world, () => service(world).deregister(partial(), labTarget(1)));
    expect(second.result).toEqual({ managedInstance: 'already-gone' });
    expect(second.mutations).toEqual([]);
  });

  test('a node that is not a managed instance: none, SSM not called', async () => {
    const world = teardownLab();
    const { managedInstanceId: _mi, ...target } = labTarget(1);
    expect(await service(world).deregister(partial(), target)).toEqual({ managedInstance: 'none' });
    expect(world.calls).toEqual([]);
  });

  test('dry run: nothing deregistered', async () => {
    const world = teardownLab();
    expect(await service(world).deregister(partial(dry), labTarget(1))).toEqual({ managedInstance: 'would-deregister' });
    expect(world.mutations()).toEqual([]);
    expect(world.managedInstances).toHaveLength(3);
  });
});

// =========================================================================================================
describe('restore-source-dest-check', () => {
  test('turns source/dest check back on for each of the node’s ENIs; a gone ENI is already-gone', async () => {
    const world = teardownLab();
    const target = { ...labTarget(1), networkInterfaceIds: [N1.eni, eniId(0x77)] };

    const first = await effects(world, () => service(world).restoreSourceDestCheck(partial(), target));

    expect(first.result).toEqual({ enabled: [N1.eni], alreadyGone: [eniId(0x77)] });
    expect(world.eni(N1.eni)!.sourceDestCheck).toBe(true);
    expect(world.eni(N2.eni)!.sourceDestCheck).toBe(false);

    const second = await effects(world, () => service(world).restoreSourceDestCheck(partial(), target));
    expect(second.result).toEqual(first.result);
    expect(second.state).toEqual(first.state);
  });

  test('dry run: nothing changed', async () => {
    const world = teardownLab();
    expect(await service(world).restoreSourceDestCheck(partial(dry), labTarget(1))).toEqual({ wouldEnable: [N1.eni], enabled: [], alreadyGone: [] });
    expect(world.mutations()).toEqual([]);
    expect(world.eni(N1.eni)!.sourceDestCheck).toBe(false);
  });
});

// =========================================================================================================
describe('terminate', () => {
  test('only when asked', async () => {
    const world = teardownLab();
    expect(await service(world).terminate(partial(), labTarget(1))).toEqual({ instance: 'not-requested' });
    expect(world.calls).toEqual([]);
  });

  test('terminates the node’s instance; terminating again is fine', async () => {
    const world = teardownLab();
    pauseLabNode(world, 1);
    const request = partial({ terminateInstances: true });

    const first = await effects(world, () => service(world).terminate(request, labTarget(1)));
    expect(first.result).toEqual({ instance: 'shutting-down', instanceId: N1.instance });
    expect(first.mutations).toEqual([{ method: 'terminateInstances', args: [[N1.instance]] }]);
    expect(world.instances.map((instance) => instance.state)).toEqual(['shutting-down', 'running', 'running']);

    const second = await effects(world, () => service(world).terminate(request, labTarget(1)));
    expect(second.result).toEqual(first.result);
    expect(second.state).toEqual(first.state);
  });

  test('an instance EC2 no longer knows (nor its ENI): already-gone, nothing terminated', async () => {
    const world = teardownLab();
    world.instances = world.instances.filter((instance) => instance.instanceId !== N1.instance);
    world.interfaces = world.interfaces.filter((eni) => eni.networkInterfaceId !== N1.eni);
    expect(await service(world).terminate(partial({ terminateInstances: true }), labTarget(1))).toEqual({ instance: 'already-gone', instanceId: N1.instance });
    expect(world.mutations()).toEqual([]);
  });

  test('an instance terminated earlier (its ENI gone with it): its state, nothing terminated again', async () => {
    const world = teardownLab();
    world.instances.find((instance) => instance.instanceId === N1.instance)!.state = 'terminated';
    world.interfaces = world.interfaces.filter((eni) => eni.networkInterfaceId !== N1.eni);
    expect(await service(world).terminate(partial({ terminateInstances: true }), labTarget(1))).toEqual({ instance: 'terminated', instanceId: N1.instance });
    expect(world.mutations()).toEqual([]);
  });

  // The proof travels in the step's payload; EC2 is asked again right before terminating.
  test.each<[string, (world: TeardownWorld) => void, (target: NodeTarget) => NodeTarget, RegExp]>([
    ['the node’s ENI does not carry this teardown’s pause tag', () => {}, (target) => target, /carries this teardown's pause tag \(eks-hybrid-routes\/teardown=/],
    ['the pause tag names another node', (world) => (world.eni(N1.eni)!.tags = { [PAUSE_TAG_KEY]: labNode(2).name }), (target) => target, /pause tag/],
    // A payload written by hand: node 1's name and ENI, node 2's instance (paused for node 1 even).
    ['the instance is another one than the ENI’s', (world) => pauseLabNode(world, 1), (target) => ({ ...target, instanceId: labNode(2).instance }), /is not attached to mi-\w+'s ENI/],
    ['the instance moved off the node’s ENI', (world) => { pauseLabNode(world, 1); world.eni(N1.eni)!.instanceId = 'i-0000000000000abcd'; }, (target) => target, /is not attached to/],
  ])('kept when %s', async (_label, prepare, targetOf, reason) => {
    const world = teardownLab();
    prepare(world);
    const target = targetOf(labTarget(1));
    const result = await service(world).terminate(partial({ terminateInstances: true }), target);
    expect(result).toEqual({ instance: 'kept', instanceId: target.instanceId, reason: expect.stringMatching(reason) });
    expect(world.mutations()).toEqual([]);
    expect(world.instances.every((instance) => instance.state === 'running')).toBe(true);
  });

  test('a node without an instance: none', async () => {
    const world = teardownLab();
    const { instanceId: _id, ...target } = labTarget(1);
    expect(await service(world).terminate(partial({ terminateInstances: true }), target)).toEqual({ instance: 'none' });
    expect(world.calls).toEqual([]);
  });

  test('dry run: nothing terminated', async () => {
    const world = teardownLab();
    expect(await service(world).terminate(partial({ terminateInstances: true, dryRun: true }), labTarget(1))).toEqual({
      instance: 'would-terminate',
      instanceId: N1.instance,
    });
    expect(world.mutations()).toEqual([]);
  });
});

// =========================================================================================================
describe('routes', () => {
  /** The lab plus a stale managed route no node claims (a blackhole to an ENI long gone) in both tables. */
  const lab = () => teardownLab({ extraRoutes: [route.managed(STALE_CIDR, STALE_ENI, 'blackhole')] });
  const entry = (routeTableId: string, destination: string, target: string) => ({ routeTableId, destination, target });
  const byTableAndDestination = (a: { routeTableId: string; destination: string }, b: { routeTableId: string; destination: string }) =>
    `${a.routeTableId} ${a.destination}`.localeCompare(`${b.routeTableId} ${b.destination}`);
  const deletedRoutes = (world: TeardownWorld) =>
    world
      .mutations()
      .filter((call) => call.method === 'deleteRoute')
      .map((call) => call.args.join(' '))
      .sort();
  const unmanaged = foreignRoutes();

  test('partial: removes only the removed node’s routes, in every table; keeps the failed (paused) node’s, the others’, the stale one and every unmanaged route', async () => {
    const world = lab();
    afterNodeSteps(world, [N1.name], [N1.name, N2.name]);
    const request = partial({ nodes: [N1.name, N2.name] });

    const result = await service(world).routes(request, [labTarget(1), labTarget(2)], [doneResult(N1.name), failedResult(N2.name)]);

    expect(deletedRoutes(world)).toEqual([`${TD_TABLE_A} ${N1.cidr}`, `${TD_TABLE_B} ${N1.cidr}`]);
    expect({ ...result, removed: [...result.removed].sort(byTableAndDestination) }).toEqual({
      removed: [entry(TD_TABLE_A, N1.cidr, N1.eni), entry(TD_TABLE_B, N1.cidr, N1.eni)],
      failed: [],
      vetoed: [],
    });
    for (const tableId of [TD_TABLE_A, TD_TABLE_B]) {
      expect(world.routesOf(tableId)).toEqual([
        ...unmanaged,
        route.managed(N2.cidr, N2.eni),
        route.managed(N3.cidr, N3.eni),
        route.managed(STALE_CIDR, STALE_ENI, 'blackhole'),
      ]);
    }
    expect(world.mutations().every((call) => call.method === 'deleteRoute')).toBe(true);
  });

  test('a refused CiliumNode left on a removed node’s address (a stale one beside it) does not keep that node’s routes', async () => {
    const world = lab();
    afterNodeSteps(world, [N1.name], [N1.name]);
    // Stale, with a pod CIDR no network can be read from: the planner protects routes to its ENI, but that
    // ENI was the removed node's.
    world.ciliumNodes.push(ciliumNode(nodeName(0x5e), N1.ip, ['10.30.1.0/24x']));
    const request = partial({ nodes: [N1.name] });

    const result = await service(world).routes(request, [labTarget(1)], [doneResult(N1.name)]);

    expect(deletedRoutes(world)).toEqual([`${TD_TABLE_A} ${N1.cidr}`, `${TD_TABLE_B} ${N1.cidr}`]);
    expect(result.failed).toEqual([]);
  });

  test('the removed node’s ENIs are released, not its address: a target whose IP the snapshot did not keep still loses its routes', async () => {
    const world = lab();
    afterNodeSteps(world, [N1.name], [N1.name]);
    world.ciliumNodes.push(ciliumNode(nodeName(0x5e), N1.ip, ['10.30.1.0/24x']));
    const { ip: _ip, ...withoutIp } = labTarget(1);

    const result = await service(world).routes(partial({ nodes: [N1.name] }), [withoutIp], [doneResult(N1.name)]);

    expect(deletedRoutes(world)).toEqual([`${TD_TABLE_A} ${N1.cidr}`, `${TD_TABLE_B} ${N1.cidr}`]);
    expect(result.failed).toEqual([]);
  });

  test.each([
    ['without a refused CiliumNode on N2’s address, a route inside N1’s CIDR to N2’s ENI is removed with N1', false],
    ['a refused CiliumNode on N2’s address (N2 stays) keeps a route inside N1’s CIDR to N2’s ENI', true],
  ])('%s', async (_name, refusedBesideN2) => {
    const world = lab();
    afterNodeSteps(world, [N1.name], [N1.name]);
    const inside = '10.30.1.128/25';
    world.tables[0]!.routes.push(route.managed(inside, N2.eni));
    if (refusedBesideN2) world.ciliumNodes.push(ciliumNode(nodeName(0x5f), N2.ip, ['10.30.2.0/24x']));

    const result = await service(world).routes(partial({ nodes: [N1.name] }), [labTarget(1)], [doneResult(N1.name)]);

    const n1Routes = [`${TD_TABLE_A} ${N1.cidr}`, `${TD_TABLE_B} ${N1.cidr}`];
    expect(deletedRoutes(world).sort()).toEqual((refusedBesideN2 ? n1Routes : [...n1Routes, `${TD_TABLE_A} ${inside}`]).sort());
    expect(result.failed).toEqual([]);
  });

  test('once the signal aborts (the task\'s deadline), no further deletion starts; what was not started is listed', async () => {
    const world = lab();
    afterNodeSteps(world, [N1.name, N3.name], [N1.name, N3.name]);
    const deadline = new AbortController();
    const deps = world.deps();
    // One deletion at a time; the deadline passes while the first is in flight.
    const ec2 = { ...deps.ec2, deleteRoute: async (routeTableId: string, destination: string) => {
      deadline.abort();
      return deps.ec2.deleteRoute(routeTableId, destination);
    } };
    const oneAtATime = new TeardownService({ ...deps, ec2 }, { ...settings, config: { ...settings.config, applyConcurrency: 1 } });

    const result = await oneAtATime.routes(partial({ nodes: [N1.name, N3.name] }), [labTarget(1), labTarget(3)], [doneResult(N1.name), doneResult(N3.name)], deadline.signal);

    expect(deletedRoutes(world)).toHaveLength(1);
    expect(result.removed).toHaveLength(1);
    const { notStarted = [] } = result as { notStarted?: typeof result.removed };
    expect(notStarted).toHaveLength(3);
    expect([...result.removed, ...notStarted].sort(byTableAndDestination)).toEqual(
      [entry(TD_TABLE_A, N1.cidr, N1.eni), entry(TD_TABLE_A, N3.cidr, N3.eni), entry(TD_TABLE_B, N1.cidr, N1.eni), entry(TD_TABLE_B, N3.cidr, N3.eni)].sort(byTableAndDestination),
    );
    expect(result.failed).toEqual([]);
  });

  test('partial: a second run deletes nothing more', async () => {
    const world = lab();
    afterNodeSteps(world, [N1.name], [N1.name]);
    const args: [TeardownRequest, NodeTarget[], NodeResult[]] = [partial(), [labTarget(1)], [doneResult(N1.name)]];
    await service(world).routes(...args);
    const after = world.state();

    const second = await effects(world, () => service(world).routes(...args));

    expect(second.mutations).toEqual([]);
    expect(second.result).toEqual({ removed: [], failed: [], vetoed: [] });
    expect(second.state).toEqual(after);
  });

  test('partial: a removed node whose CiliumNode still exists (deletion failed to show yet) still loses its routes', async () => {
    const world = lab();
    // Deleted from Kubernetes' point of view but still listed: the step leaves removed nodes out of the claims.
    world.interfaces.find((candidate) => candidate.networkInterfaceId === N1.eni)!.tags = { [PAUSE_TAG_KEY]: N1.name };

    await service(world).routes(partial(), [labTarget(1)], [doneResult(N1.name)]);

    expect(deletedRoutes(world)).toEqual([`${TD_TABLE_A} ${N1.cidr}`, `${TD_TABLE_B} ${N1.cidr}`]);
  });

  test('all: every managed route of the removed nodes and the stale one; the failed node’s and the unmanaged routes stay', async () => {
    const world = lab();
    afterNodeSteps(world, [N1.name, N3.name], [N1.name, N2.name, N3.name]);

    const result = await service(world).routes(everything(), [labTarget(1), labTarget(2), labTarget(3)], [doneResult(N1.name), failedResult(N2.name), doneResult(N3.name)]);

    expect(deletedRoutes(world)).toEqual(
      [TD_TABLE_A, TD_TABLE_B].flatMap((tableId) => [`${tableId} ${N1.cidr}`, `${tableId} ${N3.cidr}`, `${tableId} ${STALE_CIDR}`]).sort(),
    );
    expect(result.failed).toEqual([]);
    for (const tableId of [TD_TABLE_A, TD_TABLE_B]) expect(world.routesOf(tableId)).toEqual([...unmanaged, route.managed(N2.cidr, N2.eni)]);
  });

  test('all, every node removed and every CiliumNode gone: every managed route goes (the empty list is approved), nothing else', async () => {
    const world = lab();
    const names = [N1.name, N2.name, N3.name];
    afterNodeSteps(world, names, names);

    const result = await service(world).routes(everything(), [labTarget(1), labTarget(2), labTarget(3)], names.map((name) => doneResult(name)));

    expect(result.vetoed).toEqual([]);
    expect(result.removed).toHaveLength(8);
    for (const tableId of [TD_TABLE_A, TD_TABLE_B]) expect(world.routesOf(tableId)).toEqual(unmanaged);
  });

  test('unmanaged routes inside the pod network are never touched, even by all', async () => {
    const world = teardownLab({
      extraRoutes: [
        route.gateway('10.30.50.0/24', TGW),
        route.withOrigin('10.30.51.0/24', 'CreateRouteTable', eniId(0x51)),
        route.prefixList('pl-0fedcba9'),
        route.propagated('10.30.52.0/24'),
      ],
    });
    const names = [N1.name, N2.name, N3.name];
    afterNodeSteps(world, names, names);
    const before = world.routesOf(TD_TABLE_A).filter((candidate) => candidate.networkInterfaceId === undefined || candidate.origin !== 'CreateRoute');

    await service(world).routes(everything(), [labTarget(1), labTarget(2), labTarget(3)], names.map((name) => doneResult(name)));

    expect(world.routesOf(TD_TABLE_A)).toEqual(before);
    expect(deletedRoutes(world).some((line) => /10\.30\.5[0-2]\.0|pl-|10\.30\.0\.0\/16/.test(line))).toBe(false);
  });

  test('partial, but the fresh CiliumNode read is empty: the empty-list guard vetoes, nothing is deleted', async () => {
    const world = lab();
    afterNodeSteps(world, [N1.name], [N1.name]);
    world.ciliumNodes = [];

    const result = await service(world).routes(partial(), [labTarget(1)], [doneResult(N1.name)]);

    expect(world.mutations()).toEqual([]);
    expect(result.removed).toEqual([]);
    expect(result.vetoed.length).toBeGreaterThan(0);
    expect(result.vetoed.every((veto) => veto.guard === 'empty-node-list')).toBe(true);
    // The guard holds back every route, but only the removed node's are this teardown's to report.
    expect(result.vetoed.map((veto) => `${veto.routeTableId} ${veto.destination} ${veto.target}`).sort()).toEqual(
      [`${TD_TABLE_A} ${N1.cidr} ${N1.eni}`, `${TD_TABLE_B} ${N1.cidr} ${N1.eni}`].sort(),
    );
  });

  test('partial, the removed node was the only one: still guarded (an empty list is approved only by "all")', async () => {
    const world = lab();
    world.ciliumNodes = world.ciliumNodes.filter((node) => node.name === N1.name);

    await service(world).routes(partial(), [labTarget(1)], [doneResult(N1.name)]);

    expect(world.mutations()).toEqual([]);
  });

  test('no node removed (the Map failed as a whole): a partial teardown deletes nothing', async () => {
    const world = lab();
    const result = await service(world).routes(partial(), [labTarget(1)], { Error: 'States.ExceedToleratedFailureThreshold', Cause: '' });
    expect(world.mutations()).toEqual([]);
    expect(result.removed).toEqual([]);
  });

  test('dry run: what would be removed, nothing deleted', async () => {
    const world = lab();
    const before = world.state();

    const result = await service(world).routes(partial(dry), [labTarget(1)], [doneResult(N1.name)]);

    expect({ ...result, wouldRemove: [...result.wouldRemove!].sort(byTableAndDestination) }).toEqual({
      wouldRemove: [entry(TD_TABLE_A, N1.cidr, N1.eni), entry(TD_TABLE_B, N1.cidr, N1.eni)],
      removed: [],
      failed: [],
      vetoed: [],
    });
    expect(world.mutations()).toEqual([]);
    expect(world.state()).toEqual(before);
  });

  test('one deletion that fails is reported with its error; the others are made', async () => {
    const world = lab();
    afterNodeSteps(world, [N1.name], [N1.name]);
    world.failOn('deleteRoute', throttlingError(), { when: (tableId: string) => tableId === TD_TABLE_B });

    const result = await service(world).routes(partial(), [labTarget(1)], [doneResult(N1.name)]);

    expect(result.removed).toEqual([entry(TD_TABLE_A, N1.cidr, N1.eni)]);
    expect(result.failed).toEqual([{ ...entry(TD_TABLE_B, N1.cidr, N1.eni), error: 'ThrottlingException: Rate exceeded' }]);
    expect(world.routesOf(TD_TABLE_B)).toContainEqual(route.managed(N1.cidr, N1.eni));
  });
});

// =========================================================================================================
describe('activations', () => {
  test('only when asked', async () => {
    const world = teardownLab();
    expect(await service(world).activations(partial())).toEqual({ skipped: 'not requested', deleted: [] });
    expect(world.calls).toEqual([]);
  });

  test('deletes only the activations tagged EKSClusterARN=<this cluster’s ARN>; a second run deletes nothing', async () => {
    const world = teardownLab();
    world.activations.push({ activationId: 'bbbbbbbb-0000-0000-0000-000000000001', tags: { [ACTIVATION_CLUSTER_TAG]: `${TD_CLUSTER_ARN}-old` } });
    world.activations.push({ activationId: 'bbbbbbbb-0000-0000-0000-000000000002', tags: { Cluster: TD_CLUSTER_ARN } });
    const request = everything({ deleteActivations: true });

    const first = await effects(world, () => service(world).activations(request));

    expect(first.result).toEqual({ deleted: [TD_ACTIVATION], alreadyGone: [] });
    expect(first.mutations).toEqual([{ method: 'deleteActivation', args: [TD_ACTIVATION] }]);
    expect(world.activations.map((activation) => activation.activationId)).toEqual([
      TD_OTHER_ACTIVATION,
      TD_UNTAGGED_ACTIVATION,
      'bbbbbbbb-0000-0000-0000-000000000001',
      'bbbbbbbb-0000-0000-0000-000000000002',
    ]);

    const second = await effects(world, () => service(world).activations(request));
    expect(second.result).toEqual({ deleted: [], alreadyGone: [] });
    expect(second.mutations).toEqual([]);
  });

  test('dry run: what would be deleted, nothing deleted', async () => {
    const world = teardownLab();
    expect(await service(world).activations(everything({ deleteActivations: true, dryRun: true }))).toEqual({ wouldDelete: [TD_ACTIVATION], deleted: [] });
    expect(world.mutations()).toEqual([]);
    expect(world.activations).toHaveLength(3);
  });

  test('a cluster without an ARN: ClusterArnUnknown, nothing deleted', async () => {
    const world = teardownLab();
    delete world.cluster.arn;
    const error = await rejection(service(world).activations(everything({ deleteActivations: true })));
    expect(error).toBeInstanceOf(TeardownStepError);
    expect(error.name).toBe('ClusterArnUnknown');
    expect(world.mutations()).toEqual([]);
  });
});

// =========================================================================================================
describe('resume', () => {
  const done2 = [doneResult(labNode(1).name), doneResult(labNode(2).name)];
  /** The routes step's result when it finished: nothing failed, nothing vetoed. */
  const routesDone = { removed: [{ routeTableId: TD_TABLE_A, destination: N1.cidr, target: N1.eni }], failed: [], vetoed: [] };
  const taggedEnis = (world: TeardownWorld) => world.interfaces.filter((candidate) => candidate.tags?.[PAUSE_TAG_KEY] !== undefined).map((candidate) => candidate.networkInterfaceId);

  test('partial, every node removed: untags every target’s ENIs, reads nothing, enables nothing it did not disable', async () => {
    const world = teardownLab();
    const nodes = [labTarget(1), labTarget(2)];
    const pause = await service(world).pause(partial({ nodes: [N1.name, N2.name] }), nodes);
    world.clearCalls();

    const result = await service(world).resume(partial({ nodes: [N1.name, N2.name] }), nodes, pause, done2, routesDone);

    expect(result).toEqual({ untagged: [N1.eni, N2.eni], keptPaused: [], enabledRules: [], rulesLeftDisabled: [] });
    expect(world.mutations()).toEqual([{ method: 'untagNetworkInterfaces', args: [[N1.eni, N2.eni], [PAUSE_TAG_KEY]] }]);
    expect(world.methods()).not.toContain('listNodes');
    expect(taggedEnis(world)).toEqual([]);
  });

  test('a failed node whose Node and CiliumNode still exist goes back to the reconciler (untagged)', async () => {
    const world = teardownLab();
    const nodes = [labTarget(1), labTarget(2)];
    const pause = await service(world).pause(partial(), nodes);
    afterNodeSteps(world, [N1.name], []);

    const result = await service(world).resume(partial(), nodes, pause, [doneResult(N1.name), failedResult(N2.name)], routesDone);

    expect(result).toEqual({ untagged: [N1.eni, N2.eni], keptPaused: [], enabledRules: [], rulesLeftDisabled: [] });
    expect(world.eni(N2.eni)!.tags).toBeUndefined();
  });

  test('a failed node whose Node and CiliumNode are already gone keeps its tag, for the next run to find', async () => {
    const world = teardownLab();
    const nodes = [labTarget(1), labTarget(2), labTarget(3)];
    const pause = await service(world).pause(partial(), nodes);
    // Node 2 failed after delete-objects (say, deregister); node 3 never ran and is gone too.
    afterNodeSteps(world, [N1.name, N2.name, N3.name], []);
    world.clearCalls();

    const result = await service(world).resume(partial(), nodes, pause, [doneResult(N1.name), failedResult(N2.name, 'TransientError')], routesDone);

    expect(result).toEqual({ untagged: [N1.eni], keptPaused: [N2.eni, N3.eni], enabledRules: [], rulesLeftDisabled: [] });
    expect(world.mutations()).toEqual([{ method: 'untagNetworkInterfaces', args: [[N1.eni], [PAUSE_TAG_KEY]] }]);
    expect(world.eni(N2.eni)!.tags).toEqual({ [PAUSE_TAG_KEY]: N2.name });
    expect(world.eni(N3.eni)!.tags).toEqual({ [PAUSE_TAG_KEY]: N3.name });
  });

  test('a half-removed node whose Node is gone but whose CiliumNode is still listed is untagged', async () => {
    const world = teardownLab();
    const pause = await service(world).pause(partial(), [labTarget(1)]);
    world.kubeNodes = world.kubeNodes.filter((node) => node.name !== N1.name);

    const result = await service(world).resume(partial(), [labTarget(1)], pause, [failedResult(N1.name)], routesDone);

    expect(result).toMatchObject({ untagged: [N1.eni], keptPaused: [] });
  });

  test('a half-removed node whose CiliumNode is gone but whose Node is still listed is untagged', async () => {
    const world = teardownLab();
    const pause = await service(world).pause(partial(), [labTarget(1)]);
    world.ciliumNodes = world.ciliumNodes.filter((node) => node.name !== N1.name);

    const result = await service(world).resume(partial(), [labTarget(1)], pause, [failedResult(N1.name)], routesDone);

    expect(result).toMatchObject({ untagged: [N1.eni], keptPaused: [] });
  });

  // ---- the routes step did not finish: the removed nodes keep their tags ---------------------------------
  describe('when the routes step did not finish, the removed nodes keep their tags (the next run finds them by it)', () => {
    const failedRoute = { routeTableId: TD_TABLE_B, destination: N2.cidr, target: N2.eni, error: 'RequestLimitExceeded: Request limit exceeded.' };
    const vetoedRoute = { routeTableId: TD_TABLE_A, destination: N2.cidr, target: N2.eni, guard: 'empty-node-list', reason: 'no CiliumNode left' };
    test.each<[string, unknown]>([
      ['the routes step failed (a Catch in its place)', { Error: 'TransientError', Cause: JSON.stringify({ errorType: 'TransientError', errorMessage: 'Rate exceeded' }) }],
      ['the routes step never ran (no result)', undefined],
      ['a deletion failed', { removed: [], failed: [failedRoute], vetoed: [] }],
      ['a deletion was vetoed', { removed: [], failed: [], vetoed: [vetoedRoute] }],
      ['a dry-run report with a veto', { wouldRemove: [], removed: [], failed: [], vetoed: [vetoedRoute] }],
      ['a deletion was not started before the time ran out', { removed: [], failed: [], vetoed: [], notStarted: [{ routeTableId: TD_TABLE_A, destination: N2.cidr, target: N2.eni }] }],
    ])('%s', async (_label, routes) => {
      const world = teardownLab();
      const nodes = [labTarget(1), labTarget(2)];
      const pause = await service(world).pause(partial(), nodes);
      afterNodeSteps(world, [N1.name, N2.name], []);
      world.clearCalls();

      const result = await service(world).resume(partial(), nodes, pause, done2, routes);

      expect(result).toEqual({ untagged: [], keptPaused: [N1.eni, N2.eni], enabledRules: [], rulesLeftDisabled: [] });
      expect(world.mutations()).toEqual([]);
      expect(world.eni(N1.eni)!.tags).toEqual({ [PAUSE_TAG_KEY]: N1.name });
      expect(world.eni(N2.eni)!.tags).toEqual({ [PAUSE_TAG_KEY]: N2.name });
    });

    test.each<[string, unknown]>([
      ['nothing to remove', { removed: [], failed: [], vetoed: [] }],
      ['a dry-run report', { wouldRemove: [{ routeTableId: TD_TABLE_A, destination: N1.cidr }], removed: [], failed: [], vetoed: [] }],
    ])('a finished routes step (%s) untags them', async (_label, routes) => {
      const world = teardownLab();
      const nodes = [labTarget(1), labTarget(2)];
      const pause = await service(world).pause(partial(), nodes);

      const result = await service(world).resume(partial(), nodes, pause, done2, routes);

      expect(result).toMatchObject({ untagged: [N1.eni, N2.eni], keptPaused: [] });
      expect(taggedEnis(world)).toEqual([]);
    });

    test('only the removed nodes keep them: a failed node still in the cluster is untagged all the same', async () => {
      const world = teardownLab();
      const nodes = [labTarget(1), labTarget(2)];
      const pause = await service(world).pause(partial(), nodes);
      afterNodeSteps(world, [N1.name], []);

      const result = await service(world).resume(partial(), nodes, pause, [doneResult(N1.name), failedResult(N2.name)], { Error: 'States.Timeout', Cause: '' });

      expect(result).toEqual({ untagged: [N2.eni], keptPaused: [N1.eni], enabledRules: [], rulesLeftDisabled: [] });
      expect(taggedEnis(world)).toEqual([N1.eni]);
    });

    test('an ENI tagged by the pause that is not among the targets is untagged even so', async () => {
      const world = teardownLab();
      world.interfaces.find((candidate) => candidate.networkInterfaceId === N3.eni)!.tags = { [PAUSE_TAG_KEY]: N3.name };
      const pause = await service(world).pause(partial(), [labTarget(1)]);

      const result = await service(world).resume(partial(), [labTarget(1)], { ...pause, tagged: [N1.eni, N3.eni] }, [doneResult(N1.name)], undefined);

      expect(result).toMatchObject({ untagged: [N3.eni], keptPaused: [N1.eni] });
    });

    test('verify then reports the kept tags as what remains: the teardown is incomplete', async () => {
      const world = teardownLab();
      const nodes = [labTarget(1)];
      const pause = await service(world).pause(partial(), nodes);
      afterNodeSteps(world, [N1.name], []);
      world.tables.forEach((candidate) => (candidate.routes = candidate.routes.filter((entry) => entry.destination !== N1.cidr)));
      world.interfaces[0]!.sourceDestCheck = true;
      const routes = { Error: 'TransientError', Cause: '{}' };
      const resume = await service(world).resume(partial(), nodes, pause, [doneResult(N1.name)], routes);

      const summary = await service(world).verify({ request: partial(), nodes, snapshot: { notFound: [] }, pause, nodeResults: [doneResult(N1.name)], routes, resume });

      expect(summary.nodes[0]).toMatchObject({ node: N1.name, status: 'incomplete', remains: [`pause tag on ${N1.eni}`] });
      expect(summary.complete).toBe(false);
    });
  });

  // ---- the reconciler's rules ------------------------------------------------------------------------------
  test('partial: a rule the pause disabled is enabled again', async () => {
    const world = teardownLab();
    world.rules[0]!.state = 'DISABLED';

    const result = await service(world).resume(partial(), [labTarget(1)], { tagged: [N1.eni], disabledRules: [TD_RULES[0]] }, [doneResult(N1.name)], routesDone);

    expect(result).toEqual({ untagged: [N1.eni], keptPaused: [], enabledRules: [TD_RULES[0]], rulesLeftDisabled: [] });
    expect(world.rule(TD_RULES[0]!)).toBe('ENABLED');
  });

  test('partial: the rules are enabled again even when the tags stay (routes failed) and a node failed', async () => {
    const world = teardownLab();
    const nodes = [labTarget(1), labTarget(2)];
    const disabledRules = [TD_RULES[0]!, TD_RULES[2]!];
    for (const name of disabledRules) world.rules.find((rule) => rule.name === name)!.state = 'DISABLED';
    afterNodeSteps(world, [N1.name, N2.name], [N1.name, N2.name]);

    const result = await service(world).resume(partial(), nodes, { tagged: [N1.eni, N2.eni], disabledRules }, [doneResult(N1.name), failedResult(N2.name)], { Error: 'x', Cause: '' });

    expect(result).toEqual({ untagged: [], keptPaused: [N1.eni, N2.eni], enabledRules: disabledRules, rulesLeftDisabled: [] });
    expect(TD_RULES.map((name) => world.rule(name))).toEqual(['ENABLED', 'ENABLED', 'ENABLED']);
  });

  test('all: untags, and the rules disabled for the teardown stay disabled', async () => {
    const world = teardownLab();
    const nodes = [labTarget(1), labTarget(2), labTarget(3)];
    const pause = await service(world).pause(everything(), nodes);
    world.clearCalls();

    const result = await service(world).resume(everything(), nodes, pause, nodes.map((node) => doneResult(node.name)), routesDone);

    expect(result).toEqual({ untagged: [N1.eni, N2.eni, N3.eni], keptPaused: [], enabledRules: [], rulesLeftDisabled: TD_RULES });
    expect(world.mutations().map((call) => call.method)).toEqual(['untagNetworkInterfaces']);
    expect(TD_RULES.map((name) => world.rule(name))).toEqual(['DISABLED', 'DISABLED', 'DISABLED']);
  });

  test.each<[string, (world: TeardownWorld) => void]>([
    ['its Node and CiliumNode', () => {}],
    ['its Node only (CiliumNode deleted)', (world) => (world.ciliumNodes = world.ciliumNodes.filter((node) => node.name !== N2.name))],
    ['its CiliumNode only (Node deleted)', (world) => (world.kubeNodes = world.kubeNodes.filter((node) => node.name !== N2.name))],
  ])('all, a failed node still in the cluster (%s): the rules are enabled again, so the reconciler looks after it', async (_label, leave) => {
    const world = teardownLab();
    const nodes = [labTarget(1), labTarget(2)];
    const pause = await service(world).pause(everything(), nodes);
    afterNodeSteps(world, [N1.name], []);
    leave(world);

    const result = await service(world).resume(everything(), nodes, pause, [doneResult(N1.name), failedResult(N2.name)], routesDone);

    expect(result).toEqual({ untagged: [N1.eni, N2.eni], keptPaused: [], enabledRules: TD_RULES, rulesLeftDisabled: [] });
    expect(TD_RULES.map((name) => world.rule(name))).toEqual(['ENABLED', 'ENABLED', 'ENABLED']);
  });

  test('all, a node that never ran and is still in the cluster (the Map failed as a whole) also brings the rules back', async () => {
    const world = teardownLab();
    const nodes = [labTarget(1), labTarget(2)];
    const pause = await service(world).pause(everything(), nodes);

    const result = await service(world).resume(everything(), nodes, pause, { Error: 'States.TaskFailed', Cause: '' }, { removed: [], failed: [], vetoed: [] });

    expect(result).toMatchObject({ enabledRules: TD_RULES, rulesLeftDisabled: [] });
  });

  test('all, the failed node is gone from the cluster: the rules stay disabled and its tag stays', async () => {
    const world = teardownLab();
    const nodes = [labTarget(1), labTarget(2)];
    const pause = await service(world).pause(everything(), nodes);
    afterNodeSteps(world, [N1.name, N2.name], []);

    const result = await service(world).resume(everything(), nodes, pause, [doneResult(N1.name), failedResult(N2.name)], routesDone);

    expect(result).toEqual({ untagged: [N1.eni], keptPaused: [N2.eni], enabledRules: [], rulesLeftDisabled: TD_RULES });
    expect(TD_RULES.map((name) => world.rule(name))).toEqual(['DISABLED', 'DISABLED', 'DISABLED']);
  });

  test('all, every node removed but the routes step failed: tags kept and the rules stay disabled', async () => {
    const world = teardownLab();
    const nodes = [labTarget(1), labTarget(2)];
    const pause = await service(world).pause(everything(), nodes);
    afterNodeSteps(world, [N1.name, N2.name], []);
    world.clearCalls();

    const result = await service(world).resume(everything(), nodes, pause, done2, { Error: 'TransientError', Cause: '' });

    expect(result).toEqual({ untagged: [], keptPaused: [N1.eni, N2.eni], enabledRules: [], rulesLeftDisabled: TD_RULES });
    expect(world.mutations()).toEqual([]);
  });

  test('all: only the rules this execution disabled are enabled again; one already disabled before stays out of it', async () => {
    const world = teardownLab();
    world.rules[1]!.state = 'DISABLED';
    const nodes = [labTarget(1), labTarget(2)];
    const pause = await service(world).pause(everything(), nodes);
    expect(pause.disabledRules).toEqual([TD_RULES[0], TD_RULES[2]]);

    const result = await service(world).resume(everything(), nodes, pause, [doneResult(N1.name), failedResult(N2.name)], routesDone);

    expect(result).toMatchObject({ enabledRules: [TD_RULES[0], TD_RULES[2]], rulesLeftDisabled: [] });
    expect(TD_RULES.map((name) => world.rule(name))).toEqual(['ENABLED', 'DISABLED', 'ENABLED']);
  });

  // ---- other inputs --------------------------------------------------------------------------------------
  test('ENIs tagged by the pause but no longer among the targets are untagged too', async () => {
    const world = teardownLab();
    world.interfaces.find((candidate) => candidate.networkInterfaceId === N3.eni)!.tags = { [PAUSE_TAG_KEY]: N3.name };

    const result = await service(world).resume(partial(), [labTarget(1)], { tagged: [N3.eni], disabledRules: [] }, [doneResult(N1.name)], routesDone);

    expect(result.untagged).toEqual([N1.eni, N3.eni]);
    expect(world.eni(N3.eni)!.tags).toBeUndefined();
  });

  test('after a failed pause (a Catch in its place, no node results, no routes): nodes still present are untagged, nothing enabled', async () => {
    const world = teardownLab();
    const result = await service(world).resume(everything(), [labTarget(1)], { Error: 'TransientError', Cause: '{}' }, undefined, undefined);
    expect(result).toEqual({ untagged: [N1.eni], keptPaused: [], enabledRules: [], rulesLeftDisabled: [] });
    expect(world.mutations().map((call) => call.method)).toEqual(['untagNetworkInterfaces']);
  });

  test('after a failed Map (a Catch in place of the node results): nodes still present are untagged', async () => {
    const world = teardownLab();
    const result = await service(world).resume(partial(), [labTarget(1), labTarget(2)], { tagged: [], disabledRules: [] }, { Error: 'States.TaskFailed', Cause: '' }, routesDone);
    expect(result).toMatchObject({ untagged: [N1.eni, N2.eni], keptPaused: [] });
  });

  test('an ENI gone with its instance is skipped, and a second run ends in the same state', async () => {
    const world = teardownLab();
    const nodes = [labTarget(1), labTarget(2)];
    const pause = await service(world).pause(partial(), nodes);
    world.interfaces = world.interfaces.filter((candidate) => candidate.networkInterfaceId !== N1.eni);

    await service(world).resume(partial(), nodes, pause, done2, routesDone);
    const after = world.state();
    await service(world).resume(partial(), nodes, pause, done2, routesDone);

    expect(world.state()).toEqual(after);
    expect(world.eni(N2.eni)!.tags).toBeUndefined();
  });

  test('no targets and nothing tagged: no call', async () => {
    const world = teardownLab();
    expect(await service(world).resume(partial(), [], { tagged: [], disabledRules: [] }, [], routesDone)).toEqual({ untagged: [], keptPaused: [], enabledRules: [], rulesLeftDisabled: [] });
    expect(world.calls).toEqual([]);
  });

  test('dry run: nothing changed', async () => {
    const world = teardownLab();
    await service(world).pause(everything(), [labTarget(1)]);
    const before = world.state();
    world.clearCalls();

    const result = await service(world).resume(everything(dry), [labTarget(1)], { tagged: [N1.eni], disabledRules: TD_RULES }, [doneResult(N1.name)], routesDone);

    expect(result).toEqual({ dryRun: true, wouldUntag: [N1.eni], untagged: [], keptPaused: [], enabledRules: [], rulesLeftDisabled: [] });
    expect(world.mutations()).toEqual([]);
    expect(world.state()).toEqual(before);
  });
});

// =========================================================================================================
describe('what the state machine keeps of a node: every field its "Node torn down" state reads is there', () => {
  // infra/constructs/teardown.ts: the Pass state copies these scalars into the Map's result; a path to a field
  // a step did not return fails the execution (States.Runtime).
  const READ = {
    drain: 'cordon',
    uninstall: 'outcome',
    deregister: 'managedInstance',
    sourceDestCheck: 'enabled',
    terminate: 'instance',
  } as const;

  async function nodeSteps(world: TeardownWorld, request: TeardownRequest, target: NodeTarget) {
    const svc = service(world);
    return {
      drain: await svc.drain(request, target),
      uninstall: await svc.uninstall(request, target),
      objects: await svc.deleteObjects(request, target),
      deregister: await svc.deregister(request, target),
      sourceDestCheck: await svc.restoreSourceDestCheck(request, target),
      terminate: await svc.terminate(request, target),
    };
  }

  test.each<[string, (world: TeardownWorld) => void, TeardownRequest, NodeTarget]>([
    ['a real run', () => {}, partial({ terminateInstances: true }), labTarget(1)],
    ['a real run, termination not requested', () => {}, partial(), labTarget(1)],
    ['a dry run', () => {}, partial({ dryRun: true, terminateInstances: true }), labTarget(1)],
    ['a node already gone everywhere (a re-run)', (world) => afterNodeSteps(world, [N1.name], []), partial({ terminateInstances: true }), labTarget(1)],
    ['a node without managed instance, instance or ENI', () => {}, partial({ terminateInstances: true }), { name: 'worker-x', networkInterfaceIds: [], cidrs: [] }],
    ['an agent offline', (world) => (world.managedInstances[0]!.pingStatus = 'ConnectionLost'), partial(), labTarget(1)],
  ])('%s', async (_label, prepare, request, target) => {
    const world = teardownLab();
    prepare(world);

    const results = await nodeSteps(world, request, target);

    for (const [step, field] of Object.entries(READ)) {
      expect({ step, field, value: (results[step as keyof typeof READ] as Record<string, unknown>)[field] }).toEqual({ step, field, value: expect.anything() });
    }
    expect(results.objects).toEqual(expect.anything());
  });
});

// =========================================================================================================
describe('every step: a dry run changes nothing', () => {
  test('the whole sequence, dry, makes no mutating call at all', async () => {
    const world = teardownLab();
    const before = world.state();
    const svc = service(world);
    const request = everything({ dryRun: true, terminateInstances: true, deleteActivations: true });

    const snap = await svc.snapshot({ clusterName: TD_CLUSTER, nodes: 'all', dryRun: true, terminateInstances: true, deleteActivations: true });
    expect(snap.request).toEqual(request);
    const pause = await svc.pause(request, snap.nodes);
    const nodeResults: NodeResult[] = [];
    for (const node of snap.nodes) {
      nodeResults.push({
        node: node.name,
        status: 'done',
        drain: await svc.drain(request, node),
        uninstall: await svc.uninstall(request, node),
        objects: await svc.deleteObjects(request, node),
        deregister: await svc.deregister(request, node),
        sourceDestCheck: await svc.restoreSourceDestCheck(request, node),
        terminate: await svc.terminate(request, node),
      });
    }
    const routes = await svc.routes(request, snap.nodes, nodeResults);
    const activations = await svc.activations(request);
    const resume = await svc.resume(request, snap.nodes, pause, nodeResults, routes);
    const summary = await svc.verify({ ...snap, pause, nodeResults, routes, activations, resume });

    expect(world.mutations()).toEqual([]);
    expect(world.state()).toEqual(before);
    expect(routes.wouldRemove).toHaveLength(6);
    expect(summary).toMatchObject({ complete: true, status: 'dry-run', dryRun: true });
    expect(summary.nodes.map((node) => node.status)).toEqual(['planned', 'planned', 'planned']);
    expect(summary.nodes.every((node) => !('remains' in node))).toBe(true);
    expect(summary.message).toBe('dry run: 3 node(s) would be torn down; 6 route(s) would be removed');
  });
});

// =========================================================================================================
describe('verify', () => {
  /** Runs every step for the request's nodes, as the state machine would, with nodeadm doing its job. */
  async function runTeardown(world: TeardownWorld, input: Record<string, unknown>) {
    const svc = service(world);
    world.onRunShellScript = () => ({ status: 'InProgress' });
    const snap = await svc.snapshot(input);
    const { request, nodes } = snap;
    const pause = await svc.pause(request, nodes);
    const nodeResults: NodeResult[] = [];
    for (const node of nodes) {
      const drain = await svc.drain(request, node);
      let uninstall: Record<string, unknown> = await svc.uninstall(request, node);
      if (!uninstall.done) {
        // nodeadm uninstall deregisters the instance; the invocation reports Success.
        world.invocations.find((invocation) => invocation.commandId === uninstall.commandId)!.status = 'Success';
        world.managedInstances = world.managedInstances.filter((mi) => mi.instanceId !== node.managedInstanceId);
        uninstall = await svc.uninstall(request, node, uninstall as { commandId: string; deadline: number });
      }
      nodeResults.push({
        node: node.name,
        status: 'done',
        drain,
        uninstall,
        objects: await svc.deleteObjects(request, node),
        deregister: await svc.deregister(request, node),
        sourceDestCheck: await svc.restoreSourceDestCheck(request, node),
        terminate: await svc.terminate(request, node),
      });
    }
    const routes = await svc.routes(request, nodes, nodeResults);
    const activations = await svc.activations(request);
    const resume = await svc.resume(request, nodes, pause, nodeResults, routes);
    return { ...snap, pause, nodeResults, routes, activations, resume } as Record<string, unknown>;
  }

  test('a partial teardown that did everything: complete, the node removed with nothing remaining', async () => {
    const world = teardownLab();
    const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [N1.name] });

    const summary = await service(world).verify(state);

    expect(summary).toMatchObject({ complete: true, status: 'complete', dryRun: false, all: false, remains: [], errors: [], notFound: [] });
    expect(summary.nodes).toEqual([
      expect.objectContaining({ node: N1.name, status: 'removed', managedInstanceId: N1.name, instanceId: N1.instance, remains: [] }),
    ]);
    expect(summary.nodes[0]!.steps).toMatchObject({ uninstall: { outcome: 'succeeded' }, objects: { node: 'deleted', ciliumNode: 'deleted' }, deregister: { managedInstance: 'already-gone' } });
    expect(summary.message).toBe('1 of 1 node(s) torn down; 2 route(s) removed');
    expect(summary.autoHealing).toEqual({ rules: [...TD_RULES.map((name) => ({ name, state: 'ENABLED' })), { name: MISSING_RULE, state: 'MISSING' }], paused: false });
    // The other nodes are untouched.
    expect(world.routesOf(TD_TABLE_A)).toContainEqual(route.managed(N2.cidr, N2.eni));
    expect(world.kubeNodes.map((node) => node.name)).toContain(N2.name);
  });

  test('a managed route table gone by the time of verify: a summary all the same, incomplete, the read problem named', async () => {
    const world = teardownLab();
    const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [N1.name] });
    world.tables = world.tables.filter((table) => table.routeTableId !== TD_TABLE_B);
    // A route of N1's put back in the table that is still there: it is still found and reported.
    world.tables.find((table) => table.routeTableId === TD_TABLE_A)!.routes.push(route.managed(N1.cidr, N1.eni));

    const summary = await service(world).verify(state);

    expect(summary).toMatchObject({ complete: false, status: 'incomplete' });
    expect(summary.errors).toEqual([{ step: 'verify', error: 'IncompleteReadError', cause: `route-tables: route tables not returned by EC2: ${TD_TABLE_B}` }]);
    expect(summary.nodes).toEqual([
      expect.objectContaining({
        node: N1.name,
        status: 'incomplete',
        remains: [`route ${N1.cidr} in ${TD_TABLE_A}`, `ENIs and routes not verified (route-tables: route tables not returned by EC2: ${TD_TABLE_B})`],
      }),
    ]);
    expect(summary.message).toContain('verify failed: IncompleteReadError');
  });

  test('a named table deleted by the time of verify (EC2 refuses the read): a summary all the same; with the remote VPC configured, the ENIs are still checked', async () => {
    const world = teardownLab();
    const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [N1.name] });
    // The source/dest check is off again on N1's ENI: still found, since the VPC is known from the configuration.
    world.interfaces.find((candidate) => candidate.networkInterfaceId === N1.eni)!.sourceDestCheck = false;
    const notFound = new IncompleteReadError('route-tables', `a configured route table does not exist (EC2: The routeTable ID '${TD_TABLE_B}' does not exist)`);
    world.failOn('describeRouteTables', notFound);
    const withVpc = new TeardownService(world.deps(), { ...settings, config: { ...settings.config, vpcId: REMOTE_VPC } });

    const summary = await withVpc.verify(state);

    expect(summary).toMatchObject({ complete: false, status: 'incomplete' });
    expect(summary.errors).toEqual([{ step: 'verify', error: 'IncompleteReadError', cause: notFound.message }]);
    expect(summary.nodes).toEqual([
      expect.objectContaining({ node: N1.name, status: 'incomplete', remains: [`source/dest check off on ${N1.eni}`, `routes not verified (${notFound.message})`] }),
    ]);
  });

  test('a transient failure of verify’s route-table read still throws, so the state machine retries it', async () => {
    const world = teardownLab();
    const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [N1.name] });
    const throttled = throttlingError();
    world.failOn('describeRouteTables', throttled);

    await expect(service(world).verify(state)).rejects.toBe(throttled);
  });

  test('a stale node torn down beside a refused live node on its address: its routes go, the live node’s stay, complete', async () => {
    const world = teardownLab();
    const stale = nodeName(0x51);
    const staleCidr = '10.30.51.0/24';
    const unreadable = '10.30.77.0/24';
    // N1 is live (its agent is online there) but refused: one of its pod CIDRs cannot be read. The stale node
    // is given no ENI, and its route points at N1's.
    world.ciliumNodes = world.ciliumNodes.map((node) => (node.name === N1.name ? ciliumNode(N1.name, N1.ip, [N1.cidr, `${unreadable}x`]) : node));
    world.ciliumNodes.push(ciliumNode(stale, N1.ip, [staleCidr]));
    for (const table of world.tables) table.routes.push(route.managed(staleCidr, N1.eni), route.managed(unreadable, N1.eni));

    const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [stale] });
    const summary = await service(world).verify(state);

    expect(state.nodes).toEqual([expect.objectContaining({ name: stale, networkInterfaceIds: [] })]);
    expect(summary).toMatchObject({ complete: true, status: 'complete' });
    for (const tableId of [TD_TABLE_A, TD_TABLE_B]) {
      const destinations = world.routesOf(tableId).map((entry) => entry.destination);
      expect(destinations).not.toContain(staleCidr);
      expect(destinations).toEqual(expect.arrayContaining([N1.cidr, unreadable]));
    }
  });

  test('all, with instances terminated and activations deleted: complete; the rules stay disabled and the summary says how to resume', async () => {
    const world = teardownLab();
    const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: 'all', terminateInstances: true, deleteActivations: true });
    world.finishTermination();

    const summary = await service(world).verify(state);

    expect(summary.nodes.map((node) => [node.node, node.status, node.remains])).toEqual([
      [N1.name, 'removed', []],
      [N2.name, 'removed', []],
      [N3.name, 'removed', []],
    ]);
    expect(summary).toMatchObject({ complete: true, status: 'complete', remains: [], errors: [] });
    expect(summary.autoHealing).toMatchObject({ paused: true, resumeWith: TD_RULES.map((name) => `aws events enable-rule --name ${name}`) });
    expect(world.activations.map((activation) => activation.activationId)).toEqual([TD_OTHER_ACTIVATION, TD_UNTAGGED_ACTIVATION]);
    for (const tableId of [TD_TABLE_A, TD_TABLE_B]) expect(world.routesOf(tableId)).toEqual(foreignRoutes());
  });

  describe('a node whose agent is offline: its instance is terminated only when named', () => {
    /**
     * N1's Node and CiliumNode, its agent offline, and an instance with N1's address. From the inventory alone
     * it may be N1's machine, stopped, or a new instance given the address after N1's machine was gone.
     */
    function offlineNode() {
      const world = teardownLab();
      world.managedInstances.find((mi) => mi.instanceId === N1.name)!.pingStatus = 'ConnectionLost';
      return world;
    }

    test('not terminated; the summary says why and how, and the teardown is incomplete', async () => {
      const world = offlineNode();
      const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [N1.name], terminateInstances: true });

      expect(world.mutations().map(({ method }) => method)).not.toContain('terminateInstances');
      expect(world.instances.map((instance) => instance.state)).toEqual(['running', 'running', 'running']);
      const summary = await service(world).verify(state);
      expect(summary).toMatchObject({ complete: false, status: 'incomplete' });
      expect(summary.nodes).toEqual([
        expect.objectContaining({ node: N1.name, status: 'incomplete', remains: [`instance ${N1.instance} running (kept: not shown to be this node's machine)`] }),
      ]);
      // Once the node is gone nothing links the instance to it any more: the operator is told how to finish.
      const terminateWith = `aws ec2 terminate-instances --instance-ids ${N1.instance}`;
      expect(summary.message).toContain(`${N1.instance} was not terminated: nothing shows that it is ${N1.name}'s machine`);
      expect(summary.message).toContain(`if it is, terminate it yourself (${terminateWith})`);
      expect(summary.keptInstances).toEqual([{ node: N1.name, instanceId: N1.instance, state: 'running', reason: expect.stringContaining(terminateWith), terminateWith }]);
      const terminateStep = (summary.nodes[0]!.steps as { terminate: unknown }).terminate;
      expect(terminateStep).toEqual({ instance: 'kept', instanceId: N1.instance, reason: expect.stringContaining(terminateWith) });
    });

    test('a re-run after the agent is gone (the node failed after uninstall, its ENI still paused): kept, unless named', async () => {
      // What a re-run finds when the first run lost the node after nodeadm uninstall: no objects, no agent,
      // the ENI still carrying the pause tag. The agent that showed the instance to be the node's is gone.
      const rerun = () => {
        const world = teardownLab();
        afterNodeSteps(world, [N1.name], [N1.name]);
        return world;
      };
      const world = rerun();
      const summary = await service(world).verify(await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [N1.name], terminateInstances: true }));
      expect(world.mutations().map(({ method }) => method)).not.toContain('terminateInstances');
      expect(summary.keptInstances).toEqual([expect.objectContaining({ node: N1.name, instanceId: N1.instance })]);

      const named = rerun();
      const confirmed = await service(named).verify(await runTeardown(named, { clusterName: TD_CLUSTER, nodes: [N1.name, N1.instance], terminateInstances: true }));
      expect(named.mutations()).toContainEqual(expect.objectContaining({ method: 'terminateInstances', args: [[N1.instance]] }));
      expect(confirmed).toMatchObject({ complete: true, keptInstances: [] });
    });

    test('an instance already gone is not reported as kept, in a dry run or a real one', async () => {
      for (const [state, dryRun] of [['terminated', false], ['shutting-down', true], [undefined, false]] as const) {
        const world = offlineNode();
        if (state) world.instances.find((instance) => instance.instanceId === N1.instance)!.state = state;
        else world.instances = world.instances.filter((instance) => instance.instanceId !== N1.instance);
        const request = partial({ terminateInstances: true, dryRun });
        const target = unproven(labTarget(1));
        // The step neither terminates nor looks (a failed read must not fail a node whose steps are all done).
        expect(await effects(world, () => service(world).terminate(request, target))).toMatchObject({ result: { instance: dryRun ? 'would-keep' : 'kept' }, mutations: [] });
        expect(world.calls.map(({ method }) => method)).toEqual([]);
        const summary = await service(world).verify({ request, nodes: [target], snapshot: { notFound: [] }, nodeResults: [doneResult(N1.name)] });
        expect(summary.keptInstances).toEqual([]);
        expect(summary.message).not.toContain('not terminated');
        expect(summary.message).not.toContain('not be terminated');
      }
    });

    test('a node that failed before its terminate step: its instance is not said to be kept for want of proof', async () => {
      const world = offlineNode();
      const request = partial({ terminateInstances: true });
      const failed: NodeResult = { node: N1.name, status: 'failed', error: 'DrainTimedOut', cause: 'pods left' };
      const summary = await service(world).verify({ request, nodes: [unproven(labTarget(1))], snapshot: { notFound: [] }, nodeResults: [failed] });
      expect(summary.nodes[0]).toMatchObject({ status: 'failed', error: 'DrainTimedOut', remains: expect.arrayContaining([`instance ${N1.instance} running`]) });
      expect(summary.keptInstances).toEqual([]);
      expect(summary.message).not.toContain('not terminated');
    });

    test('a dry run says it would be kept', async () => {
      const world = offlineNode();
      const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [N1.name], terminateInstances: true, dryRun: true });

      expect(world.mutations()).toEqual([]);
      const summary = await service(world).verify(state);
      expect(summary.nodes[0]).toMatchObject({ status: 'planned', steps: expect.objectContaining({ terminate: expect.objectContaining({ instance: 'would-keep', instanceId: N1.instance }) }) });
      expect(summary.message).toContain(`${N1.instance} would not be terminated: nothing shows that it is ${N1.name}'s machine`);
      expect(summary.message).toContain(`to have the teardown terminate it, name ${N1.instance} in \`nodes\` with the node`);
      // No terminate command while the node is still in service.
      expect(summary.keptInstances).toEqual([{ node: N1.name, instanceId: N1.instance, state: 'running', reason: expect.stringContaining('name') }]);
      expect(summary.message).not.toContain('aws ec2 terminate-instances');
    });

    test('a Node named by hostname, paused by a first run that lost it after its objects and agent went: a re-run naming it finishes it', async () => {
      const rerun = () => {
        const world = teardownLab();
        world.kubeNodes = world.kubeNodes.filter((node) => node.name !== N1.name);
        world.ciliumNodes = world.ciliumNodes.filter((node) => node.name !== N1.name);
        world.managedInstances = world.managedInstances.filter((mi) => mi.instanceId !== N1.name);
        world.interfaces[0]!.tags = { [PAUSE_TAG_KEY]: 'edge-7' };
        return world;
      };

      // The tag alone names no node for "all" (a value anyone could write): the ENI is left, and said to be. Still
      // forwarding (source/dest check off, as the first run left it), it is left behind; with the check back on,
      // only the tag is left, which is not counted (the workflow cannot settle it: the run would fail every time).
      for (const forwarding of [true, false]) {
        const all = rerun();
        all.interfaces[0]!.sourceDestCheck = !forwarding;
        const everything = await service(all).verify(await runTeardown(all, { clusterName: TD_CLUSTER, nodes: 'all' }));
        expect(everything.nodes.map((node) => node.node)).toEqual([N2.name, N3.name]);
        expect(everything).toMatchObject({
          complete: !forwarding,
          remains: forwarding ? [`source/dest check off on ${N1.eni} (paused for edge-7, taken for no node)`] : [],
          leftPaused: [{ networkInterfaceId: N1.eni, pausedFor: 'edge-7', sourceDestCheck: !forwarding }],
        });
        expect(everything.message).toContain(`${N1.eni} is still paused for edge-7 and was left alone (whose it is could not be shown): tear that node down by name`);
      }
      // A request naming that node follows the tag.

      const world = rerun();
      const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: ['edge-7', N1.instance], terminateInstances: true });
      expect(state.nodes).toEqual([{ name: 'edge-7', instanceId: N1.instance, ip: N1.ip, networkInterfaceIds: [N1.eni], cidrs: [], instanceProof: 'named' }]);
      const summary = await service(world).verify(state);
      expect(summary).toMatchObject({ complete: true, keptInstances: [] });
      expect(world.interfaces[0]).toMatchObject({ sourceDestCheck: true });
      expect(world.interfaces[0]!.tags?.[PAUSE_TAG_KEY]).toBeUndefined();
      expect(world.instances.find((instance) => instance.instanceId === N1.instance)).toMatchObject({ state: 'shutting-down' });
      for (const tableId of [TD_TABLE_A, TD_TABLE_B]) expect(world.routesOf(tableId).map((entry) => entry.destination)).not.toContain(N1.cidr);
    });

    test('a dry run of "all" cannot name the instance: it says to tear the node down by name first', async () => {
      const world = offlineNode();
      const summary = await service(world).verify(await runTeardown(world, { clusterName: TD_CLUSTER, nodes: 'all', terminateInstances: true, dryRun: true }));
      expect(summary.keptInstances).toEqual([expect.objectContaining({ node: N1.name, instanceId: N1.instance })]);
      expect(summary.message).toContain(`to have a teardown terminate it, tear ${N1.name} down by name first, with ${N1.instance} in \`nodes\``);
    });

    test('named by its instance id as well, it is terminated and the teardown completes', async () => {
      const world = offlineNode();
      const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [N1.name, N1.instance], terminateInstances: true });

      expect(world.mutations()).toContainEqual(expect.objectContaining({ method: 'terminateInstances', args: [[N1.instance]] }));
      const summary = await service(world).verify(state);
      expect(summary).toMatchObject({ complete: true, status: 'complete' });
      expect(summary.message).not.toContain('not terminated');
    });

    test('without terminateInstances nothing is said about it', async () => {
      const world = offlineNode();
      const summary = await service(world).verify(await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [N1.name] }));
      expect(summary).toMatchObject({ complete: true, status: 'complete' });
      expect(summary.message).not.toContain(N1.instance);
    });
  });

  describe("a stale node on a live node's IP (its Node and CiliumNode outlived the machine, which rejoined as N1)", () => {
    const stale = { name: nodeName(7), cidr: '10.30.7.0/24' };
    /** The lab, plus the stale node on N1's IP; the reconciler routed its CIDR to N1's ENI too. */
    function withStaleNode(stalePing: string, livePing = 'Online') {
      const world = teardownLab({ extraRoutes: [route.managed(stale.cidr, N1.eni)] });
      world.kubeNodes.push(hybridKubeNode(stale.name, N1.ip));
      world.ciliumNodes.push(ciliumNode(stale.name, N1.ip, [stale.cidr]));
      world.managedInstances.push({ instanceId: stale.name, ipAddress: N1.ip, pingStatus: stalePing, activationId: TD_ACTIVATION });
      world.managedInstances.find((mi) => mi.instanceId === N1.name)!.pingStatus = livePing;
      return world;
    }
    /** Calls that would pause, re-check or terminate the live machine. */
    const touchesLiveMachine = (world: TeardownWorld) =>
      world.mutations().filter(({ args }) => [N1.eni, N1.instance].some((id) => JSON.stringify(args).includes(id)));

    test('tearing the stale node down, instances included, leaves the live node its ENI, instance and routes', async () => {
      const world = withStaleNode('ConnectionLost');
      const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [stale.name], terminateInstances: true });

      expect(state.nodes).toEqual([{ name: stale.name, managedInstanceId: stale.name, ip: N1.ip, networkInterfaceIds: [], cidrs: [stale.cidr] }]);
      expect(touchesLiveMachine(world)).toEqual([]);
      expect(world.mutations().map(({ method }) => method)).not.toContain('terminateInstances');
      for (const tableId of [TD_TABLE_A, TD_TABLE_B]) {
        expect(world.routesOf(tableId)).toContainEqual(route.managed(N1.cidr, N1.eni));
        expect(world.routesOf(tableId).map((entry) => entry.destination)).not.toContain(stale.cidr);
      }
      expect(world.interfaces.find((entry) => entry.networkInterfaceId === N1.eni)).toMatchObject({ sourceDestCheck: false });
      expect(world.instances.find((entry) => entry.instanceId === N1.instance)).toMatchObject({ state: 'running' });

      const summary = await service(world).verify(state);
      expect(summary).toMatchObject({ complete: true, status: 'complete', sharedIps: [] });
      expect(summary.nodes).toEqual([expect.objectContaining({ node: stale.name, status: 'removed', remains: [] })]);
    });

    test('tearing the live node down takes its ENI and instance as usual', async () => {
      const world = withStaleNode('ConnectionLost');
      const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [N1.name], terminateInstances: true });
      expect(state.nodes).toEqual([labTarget(1)]);
      expect(world.mutations()).toContainEqual(expect.objectContaining({ method: 'terminateInstances', args: [[N1.instance]] }));
    });

    test('no single owner (both agents online): the ENI and instance are left alone, and the summary says why', async () => {
      const world = withStaleNode('Online');
      const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [N1.name], terminateInstances: true });

      const methods = world.mutations().map(({ method }) => method);
      for (const method of ['tagNetworkInterfaces', 'enableSourceDestCheck', 'terminateInstances']) expect(methods).not.toContain(method);
      const summary = await service(world).verify(state);
      expect(summary).toMatchObject({ complete: false, status: 'incomplete', sharedIps: [{ ip: N1.ip, nodes: [N1.name, stale.name] }] });
      expect(summary.nodes[0]!.remains).toEqual([`ENI of ${N1.ip} (also claimed by ${stale.name})`]);
      expect(summary.message).toContain(
        `${N1.ip} is claimed by ${N1.name} and ${stale.name}, and whose machine it is could not be shown: its ENI and instance were left alone`,
      );
    });

    test('a machine re-activated under a new id that has not joined yet: its online agent keeps the stale node off it', async () => {
      // Only the stale node claims the IP in Kubernetes; the machine's new registration is online with it.
      const world = teardownLab({ nodes: 1, extraRoutes: [route.managed(stale.cidr, N1.eni)] });
      world.kubeNodes = world.kubeNodes.filter((node) => node.name !== N1.name);
      world.ciliumNodes = [ciliumNode(stale.name, N1.ip, [stale.cidr])];
      world.kubeNodes.push(hybridKubeNode(stale.name, N1.ip));
      world.managedInstances.push({ instanceId: stale.name, ipAddress: N1.ip, pingStatus: 'ConnectionLost', activationId: TD_ACTIVATION });

      const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [stale.name], terminateInstances: true });

      expect(state.nodes).toEqual([{ name: stale.name, managedInstanceId: stale.name, ip: N1.ip, networkInterfaceIds: [], cidrs: [stale.cidr] }]);
      expect(touchesLiveMachine(world)).toEqual([]);
      expect(world.managedInstances.map((mi) => mi.instanceId)).toContain(N1.name);
    });

    /** The one-node lab with its node named by hostname (`host`), its agent's computer name that host. */
    function hostnameLab(host: string, agentPing: string) {
      const world = teardownLab({ nodes: 1 });
      world.kubeNodes = world.kubeNodes.map((node) => (node.name === N1.name ? hybridKubeNode(host, N1.ip) : node));
      world.ciliumNodes = [ciliumNode(host, N1.ip, [N1.cidr])];
      world.pods = world.pods.map((entry) => ({ ...entry, node: host }));
      Object.assign(world.managedInstances[0]!, { computerName: host, pingStatus: agentPing });
      return world;
    }

    test("a stale Node named by hostname on a re-activated machine's IP: the machine's agent is neither uninstalled nor deregistered", async () => {
      // The machine rejoined as N1's registration (online, listed by the activation) but has no Node yet.
      const world = teardownLab({ nodes: 1, extraRoutes: [route.managed(stale.cidr, N1.eni)] });
      world.kubeNodes = [hybridKubeNode('old-host', N1.ip)];
      world.ciliumNodes = [ciliumNode('old-host', N1.ip, [stale.cidr])];

      const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: ['old-host'], terminateInstances: true });

      expect(state.nodes).toEqual([{ name: 'old-host', ip: N1.ip, networkInterfaceIds: [], cidrs: [stale.cidr] }]);
      expect(touchesLiveMachine(world)).toEqual([]);
      const methods = world.mutations().map(({ method }) => method);
      expect(methods).not.toContain('runShellScript');
      expect(methods).not.toContain('deregisterManagedInstance');
      expect(world.managedInstances.map((mi) => mi.instanceId)).toContain(N1.name);
      // It has no SSM identity of its own, so it may have been that machine's: the summary says so.
      const summary = await service(world).verify(state);
      expect(summary).toMatchObject({ complete: false, sharedIps: [{ ip: N1.ip, nodes: [N1.name, 'old-host'].sort() }] });
    });

    test('a live Node named by hostname, its agent named after it, with a stale node on its IP: torn down whole', async () => {
      const world = withStaleNode('ConnectionLost');
      // N1's Node is named by hostname; its agent's computer name is that host.
      world.kubeNodes = world.kubeNodes.map((node) => (node.name === N1.name ? hybridKubeNode('host-a', N1.ip) : node));
      world.ciliumNodes = world.ciliumNodes.map((node) => (node.name === N1.name ? ciliumNode('host-a', N1.ip, [N1.cidr]) : node));
      world.pods = world.pods.map((entry) => (entry.node === N1.name ? { ...entry, node: 'host-a' } : entry));
      world.managedInstances.find((mi) => mi.instanceId === N1.name)!.computerName = 'host-a.corp.example.com';

      const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: ['host-a'], terminateInstances: true });

      expect(state.nodes).toEqual([{ ...labTarget(1), name: 'host-a' }]);
      expect(world.mutations()).toContainEqual(expect.objectContaining({ method: 'terminateInstances', args: [[N1.instance]] }));
      expect(world.mutations()).toContainEqual(expect.objectContaining({ method: 'runShellScript', args: expect.arrayContaining([N1.name]) }));
    });

    test.each([
      ['a secondary IP of its ENI', 'secondary'],
      ['the IP of a second ENI of its instance', 'second-eni'],
    ])("a stale node on %s: the re-activated machine's online agent, reporting its primary IP, keeps it off", async (_label, where) => {
      const world = teardownLab({ nodes: 1, extraRoutes: [route.managed(stale.cidr, N1.eni)] });
      const staleIp = '10.20.1.77';
      // The machine has not joined again: no Node or CiliumNode of N1, only its online registration.
      world.kubeNodes = [hybridKubeNode(stale.name, staleIp)];
      world.ciliumNodes = [ciliumNode(stale.name, staleIp, [stale.cidr])];
      if (where === 'secondary') world.interfaces[0]!.privateIpAddresses.push(staleIp);
      else world.interfaces.push(eni(eniId(0x77), staleIp, { instanceId: N1.instance, vpcId: REMOTE_VPC, sourceDestCheck: false }));

      const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [stale.name], terminateInstances: true });

      expect(state.nodes).toEqual([{ name: stale.name, managedInstanceId: stale.name, ip: staleIp, networkInterfaceIds: [], cidrs: [stale.cidr] }]);
      expect(touchesLiveMachine(world)).toEqual([]);
      expect(world.mutations().map(({ method }) => method)).not.toContain('terminateInstances');
    });

    test("a Node named by hostname whose own agent is offline: the agent is found by computer name and deregistered", async () => {
      const world = hostnameLab('edge-7', 'ConnectionLost');

      const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: ['edge-7'], terminateInstances: true });

      expect(state.nodes).toEqual([{ ...unproven(labTarget(1)), name: 'edge-7' }]);
      expect(world.mutations()).toContainEqual(expect.objectContaining({ method: 'deregisterManagedInstance', args: [N1.name] }));
      const summary = await service(world).verify(state);
      expect(summary.nodes[0]).toMatchObject({ node: 'edge-7', managedInstanceId: N1.name });
    });

    test('a hostname Node registered twice (the old registration never removed): it still takes its machine', async () => {
      const world = hostnameLab('edge-7', 'ConnectionLost');
      world.managedInstances.push({ instanceId: nodeName(0x99), ipAddress: N1.ip, pingStatus: 'ConnectionLost', activationId: TD_ACTIVATION, computerName: 'edge-7' });

      const { nodes, snapshot } = await service(world).snapshot({ clusterName: TD_CLUSTER, nodes: ['edge-7'], terminateInstances: true });

      expect(nodes).toEqual([{ ...unproven(labTarget(1)), name: 'edge-7' }]);
      expect(snapshot.sharedIps).toEqual([]);
    });

    test('a hostname Node with its own offline agent, its address written in another IPv6 spelling: still found', async () => {
      const world = teardownLab({ nodes: 1 });
      world.cluster = labClusterInfo(DUAL_STACK_NETWORKS);
      world.kubeNodes = [hybridKubeNode('edge-7', 'fd00:20:0:0:0:0:0:b')];
      world.ciliumNodes = [];
      world.interfaces[0]!.ipv6Addresses = ['fd00:20::b'];
      Object.assign(world.managedInstances[0]!, { computerName: 'edge-7', pingStatus: 'ConnectionLost', ipAddress: 'fd00:20::b' });

      const { nodes } = await service(world).snapshot({ clusterName: TD_CLUSTER, nodes: ['edge-7'] });

      expect(nodes).toEqual([expect.objectContaining({ name: 'edge-7', managedInstanceId: N1.name, networkInterfaceIds: [N1.eni], instanceId: N1.instance })]);
    });

    test('an offline registration elsewhere on the IP is no evidence: a stopped node still takes its own machine', async () => {
      const stopped = () => {
        const world = teardownLab({ nodes: 1 });
        world.managedInstances[0]!.pingStatus = 'ConnectionLost';
        // An older registration of the same machine, offline, listed by the activation.
        world.managedInstances.push({ instanceId: stale.name, ipAddress: N1.ip, pingStatus: 'ConnectionLost', activationId: TD_ACTIVATION });
        return world;
      };

      const world = stopped();
      const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [N1.name], terminateInstances: true });

      // The machine is the node's (ENI paused, source/dest check back on), but with its agent offline nothing
      // shows the instance is not some other one now holding the address: it is not terminated.
      expect(state.nodes).toEqual([unproven(labTarget(1))]);
      expect(world.mutations()).toContainEqual(expect.objectContaining({ method: 'enableSourceDestCheck', args: [N1.eni] }));
      expect(world.mutations().map(({ method }) => method)).not.toContain('terminateInstances');
      // Named with its instance, it is.
      const named = stopped();
      const confirmed = await runTeardown(named, { clusterName: TD_CLUSTER, nodes: [N1.name, N1.instance], terminateInstances: true });
      expect(confirmed.nodes).toEqual([{ ...labTarget(1), instanceProof: 'named' }]);
      expect(named.mutations()).toContainEqual(expect.objectContaining({ method: 'terminateInstances', args: [[N1.instance]] }));
    });
  });

  test('what was left behind is listed per node, and the teardown is incomplete', async () => {
    const world = teardownLab();
    // Everything still there: Node, CiliumNode, managed instance, source/dest check off, pause tag, routes.
    world.interfaces[0]!.tags = { [PAUSE_TAG_KEY]: N1.name };
    const request = partial({ terminateInstances: true });

    const summary = await service(world).verify({ request, nodes: [labTarget(1)], snapshot: { notFound: [] }, nodeResults: [doneResult(N1.name)] });

    expect(summary.nodes).toEqual([
      {
        node: N1.name,
        status: 'incomplete',
        managedInstanceId: N1.name,
        instanceId: N1.instance,
        remains: [
          'Kubernetes Node',
          'CiliumNode',
          `managed instance ${N1.name}`,
          `source/dest check off on ${N1.eni}`,
          `pause tag on ${N1.eni}`,
          `instance ${N1.instance} running`,
          `route ${N1.cidr} in ${TD_TABLE_A}`,
          `route ${N1.cidr} in ${TD_TABLE_B}`,
        ],
        steps: {},
      },
    ]);
    expect(summary).toMatchObject({ complete: false, status: 'incomplete' });
    expect(summary.message).toContain(`${N1.name} left: Kubernetes Node, CiliumNode`);
    expect(world.mutations()).toEqual([]);
  });

  test('a single leftover (one route) is enough to be incomplete', async () => {
    const world = teardownLab();
    const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [N1.name] });
    world.tables[1]!.routes.push(route.managed(N1.cidr, N1.eni));

    const summary = await service(world).verify(state);

    expect(summary.nodes[0]).toMatchObject({ status: 'incomplete', remains: [`route ${N1.cidr} in ${TD_TABLE_B}`] });
    expect(summary.complete).toBe(false);
  });

  test('a failed node, a node that never ran, and a failed step: incomplete, each reported', async () => {
    const world = teardownLab();
    const request = partial({ nodes: [N1.name, N2.name, N3.name] });
    afterNodeSteps(world, [N1.name], []);
    world.interfaces[0]!.sourceDestCheck = true;
    world.tables.forEach((candidate) => (candidate.routes = candidate.routes.filter((entry) => entry.destination !== N1.cidr)));

    const summary = await service(world).verify({
      request,
      nodes: [labTarget(1), labTarget(2), labTarget(3)],
      snapshot: { notFound: [nodeName(9)] },
      nodeResults: [doneResult(N1.name), failedResult(N2.name)],
      routes: { Error: 'TransientError', Cause: JSON.stringify({ errorType: 'TransientError', errorMessage: 'Rate exceeded' }) },
    });

    expect(summary.nodes.map((node) => node.status)).toEqual(['removed', 'failed', 'not-run']);
    expect(summary.nodes[1]).toMatchObject({ error: 'DrainTimedOut', cause: `${N2.name} still has pods that must leave after 300 s: default/web` });
    expect(summary.errors).toEqual([{ step: 'routes', error: 'TransientError', cause: 'Rate exceeded' }]);
    expect(summary).toMatchObject({ complete: false, status: 'incomplete', notFound: [nodeName(9)] });
    expect(summary.message).toBe(
      [
        '1 of 3 node(s) torn down',
        '0 route(s) removed',
        `${N2.name} failed: DrainTimedOut`,
        `${N3.name} failed`,
        'routes failed: TransientError',
        `not found (already gone?): ${nodeName(9)}`,
      ].join('; '),
    );
  });

  test('all: managed routes and activations still there are listed as remains', async () => {
    const world = teardownLab({ extraRoutes: [route.managed(STALE_CIDR, STALE_ENI, 'blackhole')] });
    const request = everything({ deleteActivations: true });

    const summary = await service(world).verify({ request, nodes: [], snapshot: {}, nodeResults: [] });

    expect(summary.remains).toEqual([
      ...[TD_TABLE_A, TD_TABLE_B].flatMap((tableId) => [
        `managed route ${N1.cidr} in ${tableId} -> ${N1.eni}`,
        `managed route ${N2.cidr} in ${tableId} -> ${N2.eni}`,
        `managed route ${N3.cidr} in ${tableId} -> ${N3.eni}`,
        `managed route ${STALE_CIDR} in ${tableId} -> ${STALE_ENI}`,
      ]),
      `activation ${TD_ACTIVATION}`,
    ]);
    expect(summary.complete).toBe(false);
  });

  test('an instance shutting down counts as terminated', async () => {
    const world = teardownLab();
    const state = await runTeardown(world, { clusterName: TD_CLUSTER, nodes: [N1.name], terminateInstances: true });
    expect(world.instances[0]!.state).toBe('shutting-down');

    const summary = await service(world).verify(state);

    expect(summary.nodes[0]).toMatchObject({ status: 'removed', remains: [] });
  });

  test('verify changes nothing', async () => {
    const world = teardownLab();
    const before = world.state();
    await service(world).verify({ request: everything({ deleteActivations: true, terminateInstances: true }), nodes: [labTarget(1)], nodeResults: [doneResult(N1.name)] });
    expect(world.mutations()).toEqual([]);
    expect(world.state()).toEqual(before);
  });
});
