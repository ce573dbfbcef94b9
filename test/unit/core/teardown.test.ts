/**
 * The pure half of the teardown (functions/core/teardown.ts): the input schema and its error fields, the
 * join of Kubernetes, Cilium, SSM and EC2 records into node targets, what draining must still do, when
 * `nodeadm uninstall` counts as finished, which route deletions belong to the removed nodes, and the helpers
 * that read the state machine's results.
 */
import { ConfigError } from '../../../functions/core/errors.js';
import type { RouteAction } from '../../../functions/core/plan.js';
import type { KubeNodeRecord, ManagedInstanceRecord, PodRecord } from '../../../functions/core/ports.js';
import { MAX_NODES_PER_TEARDOWN, PAUSE_TAG_KEY, TEARDOWN_EXECUTION_TIMEOUT_SECONDS } from '../../../functions/core/teardown-steps.js';
import {
  HYBRID_NODE_LABEL,
  type Inventory,
  type NodeTarget,
  TEARDOWN_DEFAULTS,
  type TeardownRequest,
  checkTeardownFits,
  nodeResultsOf,
  parseTeardownRequest,
  podsToDrain,
  resolveTargets,
  routesOfRemovedNodes,
  stepError,
  uninstallProgress,
} from '../../../functions/core/teardown.js';
import { OTHER_VPC, ciliumNode, dualStackScope, detachedEni as eni, eniId, labScope, nodeName } from '../../support/builders.js';

const CLUSTER = 'hybrid-lab';
const MI1 = nodeName(1);
const MI2 = nodeName(2);
const MI3 = nodeName(3);
const instanceId = (i: number) => `i-${i.toString(16).padStart(17, '0')}`;

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

// ---------------------------------------------------------------------------------------------------------
describe('parseTeardownRequest', () => {
  const base = { clusterName: CLUSTER, nodes: [MI1] };

  test('fills in every default', () => {
    expect(parseTeardownRequest(base, CLUSTER)).toEqual({
      clusterName: CLUSTER,
      all: false,
      nodes: [MI1],
      terminateInstances: false,
      deleteActivations: false,
      dryRun: false,
      concurrency: TEARDOWN_DEFAULTS.concurrency,
      timeouts: { drainSeconds: 300, uninstallSeconds: 600, pollSeconds: 10 },
      nodeadmPath: 'nodeadm',
    });
  });

  test('"all" is all, with an empty node list', () => {
    expect(parseTeardownRequest({ clusterName: CLUSTER, nodes: 'all' }, CLUSTER)).toMatchObject({ all: true, nodes: [] });
  });

  test('every field as given', () => {
    const input = {
      clusterName: CLUSTER,
      nodes: [MI1, instanceId(7), 'worker-1.example.internal'],
      terminateInstances: true,
      deleteActivations: true,
      dryRun: true,
      concurrency: 40,
      timeouts: { drainSeconds: 1, uninstallSeconds: 3600, pollSeconds: 300 },
      nodeadmPath: '/usr/local/bin/nodeadm',
    };
    expect(parseTeardownRequest(input, CLUSTER)).toEqual({ ...input, all: false });
  });

  test('a partial timeouts object keeps the other defaults', () => {
    expect(parseTeardownRequest({ ...base, timeouts: { drainSeconds: 60 } }, CLUSTER).timeouts).toEqual({
      drainSeconds: 60,
      uninstallSeconds: 600,
      pollSeconds: 10,
    });
  });

  test('duplicate node ids collapse, first occurrence first', () => {
    expect(parseTeardownRequest({ clusterName: CLUSTER, nodes: [MI2, MI1, MI2, MI1, MI3] }, CLUSTER).nodes).toEqual([MI2, MI1, MI3]);
  });

  test.each([
    ['drainSeconds', 1],
    ['drainSeconds', 3600],
    ['uninstallSeconds', 1],
    ['uninstallSeconds', 3600],
    ['pollSeconds', 1],
    ['pollSeconds', 300],
  ])('timeouts.%s = %d is accepted', (field, value) => {
    expect(parseTeardownRequest({ ...base, timeouts: { [field]: value } }, CLUSTER).timeouts).toMatchObject({ [field]: value });
  });

  test('the limit is 100 nodes per teardown', () => {
    expect(MAX_NODES_PER_TEARDOWN).toBe(100);
  });

  test('100 nodes are accepted', () => {
    const nodes = Array.from({ length: 100 }, (_, i) => nodeName(i + 1));
    expect(parseTeardownRequest({ clusterName: CLUSTER, nodes }, CLUSTER).nodes).toHaveLength(100);
  });

  test('the limit counts the list as written: 101 entries are refused even when duplicates would collapse them', () => {
    const nodes = [...Array.from({ length: 100 }, (_, i) => nodeName(i + 1)), nodeName(1)];
    expect(configErrorOf(() => parseTeardownRequest({ clusterName: CLUSTER, nodes }, CLUSTER)).field).toBe('nodes');
  });

  test('a node name of 253 characters is accepted', () => {
    const name = `${'a'.repeat(251)}.b`;
    expect(name).toHaveLength(253);
    expect(parseTeardownRequest({ clusterName: CLUSTER, nodes: [name] }, CLUSTER).nodes).toEqual([name]);
  });

  test.each([1, 40])('concurrency %d is accepted', (concurrency) => {
    expect(parseTeardownRequest({ ...base, concurrency }, CLUSTER).concurrency).toBe(concurrency);
  });

  test.each(['nodeadm', '/usr/local/bin/nodeadm', '/opt/eks_hybrid/nodeadm-1.0'])('nodeadmPath %j is accepted', (nodeadmPath) => {
    expect(parseTeardownRequest({ ...base, nodeadmPath }, CLUSTER).nodeadmPath).toBe(nodeadmPath);
  });

  const tooMany = Array.from({ length: 101 }, (_, i) => nodeName(i + 1));
  test.each<[string, string, unknown]>([
    ['not an object', 'input', 'teardown everything'],
    ['null', 'input', null],
    ['an array', 'input', [base]],
    ['an unknown key', 'input', { ...base, force: true }],
    ['missing clusterName', 'clusterName', { nodes: [MI1] }],
    ['empty clusterName', 'clusterName', { clusterName: '', nodes: [MI1] }],
    ['clusterName not a string', 'clusterName', { clusterName: 42, nodes: [MI1] }],
    ['missing nodes', 'nodes', { clusterName: CLUSTER }],
    ['nodes a word other than all', 'nodes', { clusterName: CLUSTER, nodes: 'everything' }],
    ['nodes "ALL"', 'nodes', { clusterName: CLUSTER, nodes: 'ALL' }],
    ['nodes empty', 'nodes', { clusterName: CLUSTER, nodes: [] }],
    ['101 nodes', 'nodes', { clusterName: CLUSTER, nodes: tooMany }],
    ['the second node id malformed', 'nodes[1]', { clusterName: CLUSTER, nodes: [MI1, 'MI-Upper_Case'] }],
    ['an empty node id', 'nodes[0]', { clusterName: CLUSTER, nodes: [''] }],
    ['a node id with a shell metacharacter', 'nodes[2]', { clusterName: CLUSTER, nodes: [MI1, MI2, 'mi-1;reboot'] }],
    ['a node id of 254 characters', 'nodes[0]', { clusterName: CLUSTER, nodes: [`${'a'.repeat(252)}.b`] }],
    // A wrong type inside the list fails both branches of the union: the union's own message, on nodes.
    ['a node id that is a number', 'nodes', { clusterName: CLUSTER, nodes: [42] }],
    ['terminateInstances a string', 'terminateInstances', { ...base, terminateInstances: 'yes' }],
    ['deleteActivations a number', 'deleteActivations', { ...base, deleteActivations: 1 }],
    ['dryRun a string', 'dryRun', { ...base, dryRun: 'true' }],
    ['concurrency 0', 'concurrency', { ...base, concurrency: 0 }],
    ['concurrency 41', 'concurrency', { ...base, concurrency: 41 }],
    ['concurrency 2.5', 'concurrency', { ...base, concurrency: 2.5 }],
    ['timeouts.drainSeconds 0', 'timeouts.drainSeconds', { ...base, timeouts: { drainSeconds: 0 } }],
    ['timeouts.drainSeconds 3601', 'timeouts.drainSeconds', { ...base, timeouts: { drainSeconds: 3601 } }],
    ['timeouts.drainSeconds 1.5', 'timeouts.drainSeconds', { ...base, timeouts: { drainSeconds: 1.5 } }],
    ['timeouts.drainSeconds a string', 'timeouts.drainSeconds', { ...base, timeouts: { drainSeconds: '300' } }],
    ['timeouts.uninstallSeconds 0', 'timeouts.uninstallSeconds', { ...base, timeouts: { uninstallSeconds: 0 } }],
    ['timeouts.uninstallSeconds 3601', 'timeouts.uninstallSeconds', { ...base, timeouts: { uninstallSeconds: 3601 } }],
    ['timeouts.pollSeconds 0', 'timeouts.pollSeconds', { ...base, timeouts: { pollSeconds: 0 } }],
    ['timeouts.pollSeconds 301', 'timeouts.pollSeconds', { ...base, timeouts: { pollSeconds: 301 } }],
    ['timeouts.pollSeconds negative', 'timeouts.pollSeconds', { ...base, timeouts: { pollSeconds: -10 } }],
    ['an unknown key in timeouts', 'timeouts', { ...base, timeouts: { drainSeconds: 10, waitSeconds: 5 } }],
    ['timeouts not an object', 'timeouts', { ...base, timeouts: 300 }],
    ['nodeadmPath relative', 'nodeadmPath', { ...base, nodeadmPath: 'bin/nodeadm' }],
    ['nodeadmPath with a shell command', 'nodeadmPath', { ...base, nodeadmPath: '/usr/bin/nodeadm; reboot' }],
    ['nodeadmPath with a space', 'nodeadmPath', { ...base, nodeadmPath: '/usr/local/bin/node adm' }],
    ['nodeadmPath empty', 'nodeadmPath', { ...base, nodeadmPath: '' }],
    ['nodeadmPath naming another program', 'nodeadmPath', { ...base, nodeadmPath: '/bin/sh' }],
    ['nodeadmPath naming a program in a nodeadm folder', 'nodeadmPath', { ...base, nodeadmPath: '/opt/nodeadm/sh' }],
  ])('%s: ConfigError on %s', (_label, field, input) => {
    const error = configErrorOf(() => parseTeardownRequest(input, CLUSTER));
    expect(error.field).toBe(field);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
  });

  test('a node id of the wrong type gets the union’s message', () => {
    expect(configErrorOf(() => parseTeardownRequest({ clusterName: CLUSTER, nodes: [42] }, CLUSTER)).message).toBe(
      'nodes: must be "all" or a list of node names, managed-instance ids (mi-…) or EC2 instance ids (i-…)',
    );
  });

  test('a malformed node id is named by its index, with the rule', () => {
    expect(configErrorOf(() => parseTeardownRequest({ clusterName: CLUSTER, nodes: [MI1, 'Bad_Name'] }, CLUSTER)).message).toBe(
      'nodes[1]: must be a node name, a managed-instance id (mi-…) or an EC2 instance id (i-…)',
    );
  });

  test('101 nodes: the message states the limit of 100', () => {
    // The operator gave a list of valid ids; being told they must give "all or a list of node names" is wrong.
    expect(configErrorOf(() => parseTeardownRequest({ clusterName: CLUSTER, nodes: Array.from({ length: 101 }, (_, i) => nodeName(i)) }, CLUSTER)).message).toBe(
      'nodes: at most 100 nodes per teardown',
    );
  });

  test('an empty list: the message asks for a node or "all"', () => {
    expect(configErrorOf(() => parseTeardownRequest({ clusterName: CLUSTER, nodes: [] }, CLUSTER)).message).toBe('nodes: name at least one node, or "all"');
  });

  test('an unknown key is named in the message', () => {
    expect(configErrorOf(() => parseTeardownRequest({ ...base, force: true }, CLUSTER)).message).toContain('force');
    expect(configErrorOf(() => parseTeardownRequest({ ...base, timeouts: { waitSeconds: 5 } }, CLUSTER)).message).toContain('waitSeconds');
  });

  test('the bounds are in the timeout messages', () => {
    expect(configErrorOf(() => parseTeardownRequest({ ...base, timeouts: { drainSeconds: 0 } }, CLUSTER)).message).toBe(
      'timeouts.drainSeconds: drainSeconds must be at least 1',
    );
    expect(configErrorOf(() => parseTeardownRequest({ ...base, timeouts: { uninstallSeconds: 3601 } }, CLUSTER)).message).toBe(
      'timeouts.uninstallSeconds: uninstallSeconds must be at most 3600',
    );
  });

  test('a cluster other than the deployed one is refused under clusterName, naming both', () => {
    const error = configErrorOf(() => parseTeardownRequest({ clusterName: 'prod', nodes: 'all' }, CLUSTER));
    expect(error.field).toBe('clusterName');
    expect(error.message).toContain('prod');
    expect(error.message).toContain(CLUSTER);
  });

  test('the cluster comparison is exact', () => {
    expect(configErrorOf(() => parseTeardownRequest({ clusterName: 'Hybrid-Lab', nodes: 'all' }, CLUSTER)).field).toBe('clusterName');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('checkTeardownFits', () => {
  /** A validated request for `all`, with the given concurrency and timeouts (seconds). */
  const request = (concurrency: number, drainSeconds: number, uninstallSeconds: number): TeardownRequest =>
    parseTeardownRequest({ clusterName: CLUSTER, nodes: 'all', concurrency, timeouts: { drainSeconds, uninstallSeconds } }, CLUSTER);
  const defaults = parseTeardownRequest({ clusterName: CLUSTER, nodes: 'all' }, CLUSTER);

  test('the execution limit is 24 hours', () => {
    expect(TEARDOWN_EXECUTION_TIMEOUT_SECONDS).toBe(86_400);
  });

  test.each([0, 1, 100])('%d targets with the defaults fit', (count) => {
    expect(() => checkTeardownFits(defaults, count)).not.toThrow();
  });

  test('101 targets: ConfigError on nodes, naming the count and the limit', () => {
    const error = configErrorOf(() => checkTeardownFits(defaults, 101));
    expect(error.field).toBe('nodes');
    expect(error.message).toBe('nodes: 101 nodes match; one teardown takes at most 100: name them in batches');
  });

  test('the node limit applies whatever the concurrency and timeouts (fastest settings, 101 targets)', () => {
    expect(configErrorOf(() => checkTeardownFits(request(40, 1, 1), 101)).field).toBe('nodes');
  });

  test('the count is the targets resolved, not the ids named: a request naming one node that matches 101 is refused', () => {
    const named = parseTeardownRequest({ clusterName: CLUSTER, nodes: [MI1] }, CLUSTER);
    expect(configErrorOf(() => checkTeardownFits(named, 101)).field).toBe('nodes');
    expect(() => checkTeardownFits(named, 100)).not.toThrow();
  });

  // Worst case: ceil(nodes / concurrency) × (drainSeconds + uninstallSeconds + 300) + 900 ≤ 86,400.
  test('exactly at the limit fits: 19 rounds × (600 + 3600 + 300) + 900 = 86,400', () => {
    expect(() => checkTeardownFits(request(1, 600, 3600), 19)).not.toThrow();
  });

  test('one second over the limit: ConfigError on concurrency (19 × 4501 + 900 = 86,419)', () => {
    const error = configErrorOf(() => checkTeardownFits(request(1, 601, 3600), 19));
    expect(error.field).toBe('concurrency');
    expect(error.message).toBe(
      "concurrency: 19 nodes, 1 at a time, with up to 4501 s each could take 86419 s, more than the execution's limit of 86400 s: " +
        'raise concurrency or lower timeouts.drainSeconds / timeouts.uninstallSeconds',
    );
  });

  test('the uninstall budget counts like the drain budget', () => {
    expect(() => checkTeardownFits(request(1, 3600, 600), 19)).not.toThrow();
    expect(configErrorOf(() => checkTeardownFits(request(1, 3600, 601), 19)).field).toBe('concurrency');
  });

  test('one more round is too many: 20 nodes one at a time do not fit, two at a time they do', () => {
    expect(configErrorOf(() => checkTeardownFits(request(1, 600, 3600), 20)).field).toBe('concurrency');
    expect(() => checkTeardownFits(request(2, 600, 3600), 20)).not.toThrow();
  });

  test('rounds are whole: 39 nodes two at a time are 20 rounds, not 19.5', () => {
    // 20 × (400 + 3600 + 300) + 900 = 86,900 > 86,400; 19.5 rounds would be 84,750 and fit.
    expect(configErrorOf(() => checkTeardownFits(request(2, 400, 3600), 39)).field).toBe('concurrency');
    expect(() => checkTeardownFits(request(2, 400, 3600), 38)).not.toThrow();
  });

  test('the largest budgets: 11 nodes one at a time fit, 12 do not; 100 nodes need only 3 rounds at concurrency 40', () => {
    expect(() => checkTeardownFits(request(1, 3600, 3600), 11)).not.toThrow();
    expect(configErrorOf(() => checkTeardownFits(request(1, 3600, 3600), 12)).field).toBe('concurrency');
    expect(() => checkTeardownFits(request(40, 3600, 3600), 100)).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('resolveTargets', () => {
  const scope = labScope();
  const node = (i: number) => ({ name: nodeName(i), ip: `10.20.1.${10 + i}`, cidr: `10.30.${i}.0/24`, eni: eniId(i), instance: instanceId(i) });
  const kube = (name: string, ip: string | undefined, labels: Record<string, string> = { [HYBRID_NODE_LABEL]: 'hybrid' }): KubeNodeRecord => ({
    name,
    labels,
    unschedulable: false,
    internalIPs: ip === undefined ? [] : [ip],
  });
  const mi = (name: string, ip?: string): ManagedInstanceRecord => ({ instanceId: name, ...(ip ? { ipAddress: ip } : {}), pingStatus: 'Online' });

  function inventory(parts: Partial<Inventory> = {}): Inventory {
    return { kubeNodes: [], ciliumNodes: [], managedInstances: [], networkInterfaces: [], scope, pauseTagKey: PAUSE_TAG_KEY, ...parts };
  }

  /** Nodes 1..n fully present: Node, CiliumNode, managed instance and ENI. */
  function fullInventory(n = 3, extra: Partial<Inventory> = {}): Inventory {
    const nodes = Array.from({ length: n }, (_, i) => node(i + 1));
    return inventory({
      kubeNodes: [...nodes.map((entry) => kube(entry.name, entry.ip)), ...(extra.kubeNodes ?? [])],
      ciliumNodes: [...nodes.map((entry) => ciliumNode(entry.name, entry.ip, [entry.cidr])), ...(extra.ciliumNodes ?? [])],
      managedInstances: [...nodes.map((entry) => mi(entry.name, entry.ip)), ...(extra.managedInstances ?? [])],
      networkInterfaces: [...nodes.map((entry) => eni(entry.eni, entry.ip, { instanceId: entry.instance })), ...(extra.networkInterfaces ?? [])],
    });
  }

  const full = (i: number): NodeTarget => {
    const entry = node(i);
    return { name: entry.name, managedInstanceId: entry.name, instanceId: entry.instance, ip: entry.ip, networkInterfaceIds: [entry.eni], cidrs: [entry.cidr], instanceProof: 'online-agent' };
  };

  test('a node named by its managed-instance id joins Node, CiliumNode, managed instance and ENI', () => {
    expect(resolveTargets({ all: false, nodes: [MI2] }, fullInventory())).toEqual({ nodes: [full(2)], notFound: [], sharedIps: [] });
  });

  test('a node named by its EC2 instance id is found through the ENI attachment', () => {
    expect(resolveTargets({ all: false, nodes: [instanceId(3)] }, fullInventory())).toEqual({ nodes: [full(3)], notFound: [], sharedIps: [] });
  });

  test('an 8-digit instance id is matched too', () => {
    const inv = inventory({
      kubeNodes: [kube(MI1, '10.20.1.11')],
      networkInterfaces: [eni(eniId(1), '10.20.1.11', { instanceId: 'i-0abc1234' })],
    });
    expect(resolveTargets({ all: false, nodes: ['i-0abc1234'] }, inv).nodes.map((target) => target.name)).toEqual([MI1]);
  });

  test('a node named twice (by name and by instance id) is one target', () => {
    const result = resolveTargets({ all: false, nodes: [MI1, instanceId(1), MI1] }, fullInventory());
    expect(result).toEqual({ nodes: [full(1)], notFound: [], sharedIps: [] });
  });

  test('names that match nothing are notFound, the others resolve', () => {
    const result = resolveTargets({ all: false, nodes: [nodeName(9), MI1, instanceId(9), 'gone-node'] }, fullInventory());
    expect(result.nodes).toEqual([full(1)]);
    expect(result.notFound).toEqual([nodeName(9), instanceId(9), 'gone-node']);
  });

  test('a node whose Node and CiliumNode are gone is still found through its managed instance and ENI', () => {
    const entry = node(2);
    const inv = inventory({
      managedInstances: [mi(entry.name, entry.ip)],
      networkInterfaces: [eni(entry.eni, entry.ip, { instanceId: entry.instance })],
    });
    expect(resolveTargets({ all: false, nodes: [entry.name] }, inv)).toEqual({
      nodes: [{ name: entry.name, managedInstanceId: entry.name, instanceId: entry.instance, ip: entry.ip, networkInterfaceIds: [entry.eni], cidrs: [], instanceProof: 'online-agent' }],
      notFound: [],
      sharedIps: [],
    });
  });

  test('a node paused by an earlier run is found by its ENI tag after every node object is gone', () => {
    const entry = node(3);
    const inv = inventory({ networkInterfaces: [eni(entry.eni, entry.ip, { instanceId: entry.instance, tags: { [PAUSE_TAG_KEY]: entry.name } })] });
    const expected = { name: entry.name, managedInstanceId: entry.name, instanceId: entry.instance, ip: entry.ip, networkInterfaceIds: [entry.eni], cidrs: [] };
    // Nothing live shows the instance is the node's (its agent is gone): only naming the instance does.
    expect(resolveTargets({ all: false, nodes: [entry.name] }, inv)).toEqual({ nodes: [expected], notFound: [], sharedIps: [] });
    expect(resolveTargets({ all: false, nodes: [entry.instance] }, inv)).toEqual({ nodes: [{ ...expected, instanceProof: 'named' }], notFound: [], sharedIps: [] });
    expect(resolveTargets({ all: true, nodes: [] }, inv)).toEqual({ nodes: [expected], notFound: [], sharedIps: [] });
  });

  test.each([
    ['a node name', 'worker-5'],
    ['an EC2 private DNS name', 'ip-10-0-1-5.ec2.internal'],
    ['an EC2 instance id', instanceId(5)],
    ['a managed-instance id in upper case', nodeName(5).toUpperCase()],
    ['a managed-instance id one digit short', nodeName(5).slice(0, -1)],
    ['a managed-instance id one digit long', `${nodeName(5)}0`],
    ['an empty value', ''],
  ])('a pause tag alone that is not a managed-instance id (%s) makes no target of its own', (_label, value) => {
    // The tag value is data anyone with CreateTags could write: it must not lead the teardown to another node.
    const inv = inventory({ networkInterfaces: [eni(eniId(5), '10.20.1.50', { instanceId: instanceId(5), tags: { [PAUSE_TAG_KEY]: value } })] });
    expect(resolveTargets({ all: true, nodes: [] }, inv)).toEqual({ nodes: [], notFound: [], sharedIps: [] });
    // Named by the request, it is that node's, as a teardown left it (a hostname node whose objects are gone);
    // an instance id or an empty value never names a node (and the request's own validation refuses names in
    // upper case before it gets here).
    const requestable = value !== '' && !value.startsWith('i-');
    const nodes = value === '' ? [instanceId(5)] : [value, instanceId(5)];
    expect(resolveTargets({ all: false, nodes }, inv)).toEqual(
      requestable
        ? { nodes: [{ name: value, instanceId: instanceId(5), ip: '10.20.1.50', networkInterfaceIds: [eniId(5)], cidrs: [], instanceProof: 'named' }], notFound: [], sharedIps: [] }
        : { nodes: [], notFound: nodes, sharedIps: [] },
    );
    if (requestable) {
      // Named without its instance: found with its machine, but the instance is not shown to be its own.
      expect(resolveTargets({ all: false, nodes: [value] }, inv).nodes).toEqual([{ name: value, instanceId: instanceId(5), ip: '10.20.1.50', networkInterfaceIds: [eniId(5)], cidrs: [] }]);
    }
  });

  test('an ip-… tag value on an ENI of no known node: not a target, the real nodes resolve as usual', () => {
    const inv = fullInventory(2, {
      networkInterfaces: [eni(eniId(9), '10.0.1.5', { instanceId: instanceId(9), tags: { [PAUSE_TAG_KEY]: 'ip-10-0-1-5.ec2.internal' } })],
    });
    const { nodes } = resolveTargets({ all: true, nodes: [] }, inv);
    expect(nodes).toEqual([full(1), full(2)]);
    expect(nodes.flatMap((target) => target.networkInterfaceIds)).not.toContain(eniId(9));
  });

  test('a paused ENI that carries a known node IP joins that node, whatever the tag says', () => {
    const entry = node(1);
    const inv = inventory({
      kubeNodes: [kube(entry.name, entry.ip)],
      networkInterfaces: [eni(entry.eni, entry.ip, { tags: { [PAUSE_TAG_KEY]: 'stale-name' } })],
    });
    expect(resolveTargets({ all: true, nodes: [] }, inv).nodes.map((target) => [target.name, target.networkInterfaceIds])).toEqual([[entry.name, [entry.eni]]]);
  });

  test('a pause tag naming another managed instance on a known node’s ENI makes no second target', () => {
    const entry = node(1);
    const inv = inventory({
      kubeNodes: [kube(entry.name, entry.ip)],
      networkInterfaces: [eni(entry.eni, entry.ip, { tags: { [PAUSE_TAG_KEY]: nodeName(7) } })],
    });
    expect(resolveTargets({ all: true, nodes: [] }, inv).nodes.map((target) => target.name)).toEqual([entry.name]);
  });

  test('an instance no node claims whose two ENIs are paused for two nodes: the tags disagree, so it is nobody\'s, and it is reported', () => {
    const inv = inventory({
      networkInterfaces: [
        eni(eniId(8), '10.20.8.8', { instanceId: instanceId(8), tags: { [PAUSE_TAG_KEY]: nodeName(7) } }),
        eni(eniId(9), '10.20.8.9', { instanceId: instanceId(8), tags: { [PAUSE_TAG_KEY]: nodeName(9) } }),
      ],
    });
    const reported = [
      { ip: '10.20.8.8', nodes: [nodeName(7), nodeName(9)] },
      { ip: '10.20.8.9', nodes: [nodeName(7), nodeName(9)] },
    ];
    // Named, the node is found (there is nothing else of it), with nothing to take.
    expect(resolveTargets({ all: false, nodes: [nodeName(7)] }, inv)).toEqual({
      nodes: [{ name: nodeName(7), managedInstanceId: nodeName(7), networkInterfaceIds: [], cidrs: [] }],
      notFound: [],
      sharedIps: reported,
    });
    expect(resolveTargets({ all: false, nodes: [instanceId(8)] }, inv)).toEqual({ nodes: [], notFound: [instanceId(8)], sharedIps: reported });
    expect(resolveTargets({ all: true, nodes: [] }, inv)).toEqual({ nodes: [], notFound: [], sharedIps: reported });
    // A teardown of some other node has no stake in it.
    expect(resolveTargets({ all: false, nodes: [nodeName(5)] }, inv)).toEqual({ nodes: [], notFound: [nodeName(5)], sharedIps: [] });
  });

  test('a node whose data points at two instances takes neither, nor a third one its pause tag is on', () => {
    // Its Node is on one instance, its agent (online) reports the address of another; a third carries its tag.
    const inv = inventory({
      kubeNodes: [kube(MI1, '10.20.1.11')],
      managedInstances: [mi(MI1, '10.20.1.12')],
      networkInterfaces: [
        eni(eniId(1), '10.20.1.11', { instanceId: instanceId(1) }),
        eni(eniId(2), '10.20.1.12', { instanceId: instanceId(2) }),
        eni(eniId(3), '10.20.1.13', { instanceId: instanceId(3), tags: { [PAUSE_TAG_KEY]: MI1 } }),
      ],
    });
    for (const request of [{ all: false, nodes: [MI1] }, { all: true, nodes: [] }]) {
      const result = resolveTargets(request, inv);
      expect(result.nodes.map((target) => [target.name, target.networkInterfaceIds, target.instanceId])).toEqual([[MI1, [], undefined]]);
      expect(result.sharedIps.map((shared) => shared.ip)).toEqual(['10.20.1.11', '10.20.1.12', '10.20.1.13']);
    }
  });

  test('an instance no node claims, paused for a node by one ENI and for a name that does not count by another: nobody\'s, whatever is named', () => {
    // What the request names must not decide it: with only the `mi-…` tag counting, the machine would go to that
    // node and the other tag (its only link to web-1) would be removed by the resume.
    const inv = inventory({
      networkInterfaces: [
        eni(eniId(8), '10.20.8.8', { instanceId: instanceId(8), tags: { [PAUSE_TAG_KEY]: nodeName(7) } }),
        eni(eniId(9), '10.20.8.9', { instanceId: instanceId(8), tags: { [PAUSE_TAG_KEY]: 'web-1' } }),
      ],
    });
    const reported = ['10.20.8.8', '10.20.8.9'].map((ip) => ({ ip, nodes: [nodeName(7), 'web-1'] }));
    for (const request of [{ all: false, nodes: [nodeName(7)] }, { all: false, nodes: [nodeName(7), 'web-1'] }, { all: false, nodes: ['web-1'] }, { all: true, nodes: [] }]) {
      const result = resolveTargets(request, inv);
      expect(result.nodes.flatMap((target) => target.networkInterfaceIds)).toEqual([]);
      expect(result.sharedIps).toEqual(reported);
    }
  });

  test('a machine no node claims, paused for two nodes, concerns a teardown of a hostname node named by the managed instance one tag names', () => {
    const inv = inventory({
      kubeNodes: [kube('web-1', '10.20.1.11')],
      managedInstances: [{ ...mi(MI1, '10.20.1.11'), computerName: 'web-1' }],
      networkInterfaces: [
        eni(eniId(1), '10.20.1.11', { instanceId: instanceId(1) }),
        eni(eniId(8), '10.20.8.8', { instanceId: instanceId(8), tags: { [PAUSE_TAG_KEY]: MI1 } }),
        eni(eniId(9), '10.20.8.9', { instanceId: instanceId(8), tags: { [PAUSE_TAG_KEY]: nodeName(9) } }),
      ],
    });
    const result = resolveTargets({ all: false, nodes: ['web-1'] }, inv);
    expect(result.nodes.map((target) => [target.name, target.managedInstanceId, target.networkInterfaceIds])).toEqual([['web-1', MI1, [eniId(1)]]]);
    expect(result.sharedIps).toEqual(['10.20.8.8', '10.20.8.9'].map((ip) => ({ ip, nodes: [MI1, nodeName(9)] })));
  });

  test('a pause tag on an ENI no node claims, naming a node that is on another instance, takes nothing and is reported', () => {
    // One node, one machine: the node's own ENI (by IP) wins; a tagged ENI of some other instance is left alone.
    const own = node(1);
    const inv = fullInventory(1, { networkInterfaces: [eni(eniId(8), '10.20.8.8', { instanceId: instanceId(8), tags: { [PAUSE_TAG_KEY]: own.name } })] });
    const reported = [{ ip: '10.20.8.8', nodes: [own.name] }];
    for (const ordered of [inv, { ...inv, networkInterfaces: [...inv.networkInterfaces].reverse() }]) {
      expect(resolveTargets({ all: false, nodes: [own.name] }, ordered)).toEqual({ nodes: [full(1)], notFound: [], sharedIps: reported });
      expect(resolveTargets({ all: false, nodes: [instanceId(8)] }, ordered)).toEqual({ nodes: [], notFound: [instanceId(8)], sharedIps: reported });
      expect(resolveTargets({ all: true, nodes: [] }, ordered)).toEqual({ nodes: [full(1)], notFound: [], sharedIps: reported });
    }
    // A second ENI of the node's own instance, tagged by the teardown, is the node's.
    const secondary = fullInventory(1, { networkInterfaces: [eni(eniId(9), '10.20.9.9', { instanceId: own.instance, tags: { [PAUSE_TAG_KEY]: own.name } })] });
    expect(resolveTargets({ all: false, nodes: [own.name] }, secondary).nodes[0]!.networkInterfaceIds).toEqual([own.eni, eniId(9)]);
  });

  test.each(['hybrid-worker-1', 'HYBRID-WORKER-1', 'hybrid-worker-1.corp.example.com'])(
    'a managed instance joins a Node of another name by IP when its computer name is the Node’s host (%s)',
    (computerName) => {
      const inv = inventory({
        kubeNodes: [kube('hybrid-worker-1', '10.20.1.11')],
        ciliumNodes: [ciliumNode('hybrid-worker-1', '10.20.1.11', ['10.30.1.0/24'])],
        managedInstances: [{ ...mi(MI1, '10.20.1.11'), computerName }],
        networkInterfaces: [eni(eniId(1), '10.20.1.11', { instanceId: instanceId(1) })],
      });
      const expected = { name: 'hybrid-worker-1', managedInstanceId: MI1, instanceId: instanceId(1), ip: '10.20.1.11', networkInterfaceIds: [eniId(1)], cidrs: ['10.30.1.0/24'], instanceProof: 'online-agent' };
      expect(resolveTargets({ all: false, nodes: [MI1] }, inv)).toEqual({ nodes: [expected], notFound: [], sharedIps: [] });
      expect(resolveTargets({ all: true, nodes: [] }, inv)).toEqual({ nodes: [expected], notFound: [], sharedIps: [] });
    },
  );

  test.each([
    ['an EC2 default name, made of the address', 'ip-10-20-1-11', 'ip-10-20-1-11.us-west-2.compute.internal'],
    ['two fully qualified names that share only the short name', 'web1.old.example.com', 'web1.new.example.com'],
    ['a name that merely starts the same', 'hybrid-10', 'hybrid-10.20.1.11'],
  ])('a managed instance does not join a Node by %s', (_label, nodeName, computerName) => {
    const inv = inventory({
      kubeNodes: [kube(nodeName, '10.20.1.11')],
      managedInstances: [{ ...mi(MI1, '10.20.1.11'), computerName }],
      networkInterfaces: [eni(eniId(1), '10.20.1.11', { instanceId: instanceId(1) })],
    });
    expect(resolveTargets({ all: true, nodes: [] }, inv).nodes.map((target) => [target.name, target.managedInstanceId])).toEqual(
      [[nodeName, undefined], [MI1, MI1]].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
  });

  test('two hostname Nodes on one IP that both match the computer name: the managed instance joins neither', () => {
    const inv = inventory({
      kubeNodes: [kube('web1.old.example.com', '10.20.1.11'), kube('web1', '10.20.1.11')],
      managedInstances: [{ ...mi(MI1, '10.20.1.11'), computerName: 'web1.old.example.com' }, { ...mi(MI2, '10.20.1.12'), computerName: 'web1' }],
      networkInterfaces: [eni(eniId(1), '10.20.1.11', { instanceId: instanceId(1) })],
    });
    for (const ordered of [inv, { ...inv, kubeNodes: [...inv.kubeNodes].reverse() }]) {
      const { nodes, sharedIps } = resolveTargets({ all: false, nodes: ['web1.old.example.com'] }, ordered);
      expect(nodes).toEqual([{ name: 'web1.old.example.com', ip: '10.20.1.11', networkInterfaceIds: [], cidrs: [] }]);
      expect(sharedIps).toEqual([{ ip: '10.20.1.11', nodes: [MI1, 'web1', 'web1.old.example.com'] }]);
    }
  });

  describe('IPv6 node addresses (dual-stack node networks)', () => {
    const dual = (parts: Partial<Inventory>) => ({ ...inventory(parts), scope: dualStackScope() });

    test('a node known by its IPv6 address alone gets the ENI carrying it, in any spelling', () => {
      for (const spelling of ['fd00:20::b', 'fd00:20:0:0:0:0:0:b', 'FD00:20::B']) {
        const inv = dual({
          kubeNodes: [kube(MI1, spelling)],
          managedInstances: [mi(MI1, 'fd00:20::b')],
          networkInterfaces: [eni(eniId(1), '10.20.9.9', { instanceId: instanceId(1), ipv6: ['fd00:20::b'] })],
        });
        expect(resolveTargets({ all: false, nodes: [MI1] }, inv).nodes[0]).toMatchObject({ networkInterfaceIds: [eniId(1)], instanceId: instanceId(1) });
      }
    });

    test("a stale node on the IPv4 address of a live node known by IPv6: the live node's online agent keeps it off", () => {
      const inv = dual({
        kubeNodes: [kube(MI1, '10.20.1.5'), kube(MI2, 'fd00:20::b')],
        managedInstances: [{ instanceId: MI1, ipAddress: '10.20.1.5', pingStatus: 'ConnectionLost' }, mi(MI2, 'fd00:20::b')],
        networkInterfaces: [eni(eniId(2), '10.20.1.5', { instanceId: instanceId(2), ipv6: ['fd00:20::b'] })],
      });
      expect(resolveTargets({ all: false, nodes: [MI1] }, inv)).toMatchObject({ nodes: [{ name: MI1, networkInterfaceIds: [] }], sharedIps: [] });
      expect(resolveTargets({ all: false, nodes: [MI2] }, inv).nodes[0]).toMatchObject({ networkInterfaceIds: [eniId(2)], instanceId: instanceId(2) });
    });
  });

  test('two online agents of one computer name on different addresses are two machines: the other one still disputes', () => {
    // web-1's Node says X, its CiliumNode Y; one agent reports Y (joins web-1), the other reports X (the ENI's).
    const inv = inventory({
      kubeNodes: [kube('web-1', '10.20.1.10')],
      ciliumNodes: [ciliumNode('web-1', '10.20.1.20', ['10.30.1.0/24'])],
      managedInstances: [
        { ...mi(MI1, '10.20.1.20'), computerName: 'web-1' },
        { ...mi(MI2, '10.20.1.10'), computerName: 'web-1' },
      ],
      networkInterfaces: [eni(eniId(1), '10.20.1.10', { instanceId: instanceId(1) })],
    });
    const result = resolveTargets({ all: false, nodes: ['web-1'] }, inv);
    expect(result.nodes).toEqual([expect.objectContaining({ name: 'web-1', managedInstanceId: MI1, networkInterfaceIds: [] })]);
    expect(result.nodes[0]!.instanceId).toBeUndefined();
    expect(result.sharedIps).toEqual([{ ip: '10.20.1.10', nodes: [MI2, 'web-1'] }]);
  });

  test('a Node whose first address is outside the node networks still claims the one inside (the CiliumNode’s)', () => {
    const inv = inventory({
      kubeNodes: [{ ...kube(MI1, '192.168.5.5'), internalIPs: ['192.168.5.5', '10.20.1.11'] }],
      ciliumNodes: [ciliumNode(MI1, '10.20.1.11', ['10.30.1.0/24'])],
      networkInterfaces: [eni(eniId(1), '10.20.1.11', { instanceId: instanceId(1) })],
    });
    expect(resolveTargets({ all: false, nodes: [MI1] }, inv).nodes).toEqual([
      { name: MI1, managedInstanceId: MI1, ip: '192.168.5.5', instanceId: instanceId(1), networkInterfaceIds: [eniId(1)], cidrs: ['10.30.1.0/24'] },
    ]);
  });

  test.each([
    ['no computer name', undefined],
    ['another host', 'hybrid-worker-7'],
  ])('with %s, a managed instance on a hostname Node’s IP is a node of its own, and owns the machine it is online on', (_label, computerName) => {
    // A stale Node's address may be another machine's now: joining would uninstall and deregister that agent.
    const inv = inventory({
      kubeNodes: [kube('hybrid-worker-1', '10.20.1.11')],
      managedInstances: [{ ...mi(MI1, '10.20.1.11'), ...(computerName ? { computerName } : {}) }],
      networkInterfaces: [eni(eniId(1), '10.20.1.11', { instanceId: instanceId(1) })],
    });
    expect(resolveTargets({ all: true, nodes: [] }, inv).nodes.map((target) => [target.name, target.managedInstanceId, target.networkInterfaceIds])).toEqual([
      ['hybrid-worker-1', undefined, []],
      [MI1, MI1, [eniId(1)]],
    ]);
    // Tearing the hostname Node down alone: its objects go, the machine stays, and the summary is told why.
    expect(resolveTargets({ all: false, nodes: ['hybrid-worker-1'] }, inv)).toEqual({
      nodes: [{ name: 'hybrid-worker-1', ip: '10.20.1.11', networkInterfaceIds: [], cidrs: [] }],
      notFound: [],
      sharedIps: [{ ip: '10.20.1.11', nodes: ['hybrid-worker-1', MI1] }],
    });
  });

  test('a hybrid Node without a CiliumNode has no CIDRs; a CiliumNode without a Node is still a target', () => {
    const inv = inventory({
      kubeNodes: [kube(MI1, '10.20.1.11')],
      ciliumNodes: [ciliumNode(MI2, '10.20.1.12', ['10.30.2.0/24'])],
    });
    expect(resolveTargets({ all: true, nodes: [] }, inv).nodes).toEqual([
      { name: MI1, managedInstanceId: MI1, ip: '10.20.1.11', networkInterfaceIds: [], cidrs: [] },
      { name: MI2, managedInstanceId: MI2, ip: '10.20.1.12', networkInterfaceIds: [], cidrs: ['10.30.2.0/24'] },
    ]);
  });

  test('the CIDRs are the in-scope ones the CiliumNode claims (pool allocations included)', () => {
    const inv = inventory({
      ciliumNodes: [ciliumNode(MI1, '10.20.1.11', ['10.30.1.0/24', '192.168.7.0/24'], { pools: [{ pool: 'extra', cidrs: ['10.30.101.0/24'] }] })],
    });
    expect(resolveTargets({ all: false, nodes: [MI1] }, inv).nodes[0]!.cidrs).toEqual(['10.30.1.0/24', '10.30.101.0/24']);
  });

  test('all: hybrid Nodes, CiliumNodes in the node networks, managed instances and paused ENIs, sorted by name', () => {
    const paused = node(7);
    const inv = fullInventory(2, {
      kubeNodes: [
        // EKS (cloud) node: no hybrid label, IP in the EKS VPC.
        kube('ip-10-10-1-5.us-west-2.compute.internal', '10.10.1.5', { 'eks.amazonaws.com/nodegroup': 'system' }),
        // Labelled hybrid, IP outside the node networks: still a hybrid node.
        kube('hybrid-odd', '172.16.0.9'),
        // Not labelled, IP inside the node networks: a node of the remote network.
        kube('unlabelled-remote', '10.20.9.9', {}),
      ],
      ciliumNodes: [
        ciliumNode('ip-10-10-1-5.us-west-2.compute.internal', '10.10.1.5', ['10.30.200.0/24']),
        ciliumNode(nodeName(5), '10.20.1.15', ['10.30.5.0/24']),
      ],
      managedInstances: [mi(nodeName(6), '10.20.1.16')],
      networkInterfaces: [
        eni(paused.eni, paused.ip, { instanceId: paused.instance, tags: { [PAUSE_TAG_KEY]: paused.name } }),
        // An ENI that carries no node IP and no pause tag, and one in another VPC.
        eni(eniId(40), '10.20.40.40', { instanceId: instanceId(40) }),
        eni(eniId(41), '10.10.1.5', { vpcId: OTHER_VPC }),
      ],
    });
    const { nodes, notFound } = resolveTargets({ all: true, nodes: [] }, inv);
    expect(notFound).toEqual([]);
    expect(nodes.map((target) => target.name)).toEqual(['hybrid-odd', MI1, MI2, nodeName(5), nodeName(6), nodeName(7), 'unlabelled-remote']);
    expect(nodes.find((target) => target.name === nodeName(5))).toEqual({
      name: nodeName(5),
      managedInstanceId: nodeName(5),
      ip: '10.20.1.15',
      networkInterfaceIds: [],
      cidrs: ['10.30.5.0/24'],
    });
    expect(nodes.find((target) => target.name === nodeName(6))).toEqual({ name: nodeName(6), managedInstanceId: nodeName(6), ip: '10.20.1.16', networkInterfaceIds: [], cidrs: [] });
    expect(nodes.flatMap((target) => target.networkInterfaceIds).sort()).toEqual([eniId(1), eniId(2), paused.eni].sort());
  });

  test('a non-hybrid Node outside the node networks cannot be named either', () => {
    const inv = inventory({ kubeNodes: [kube('ip-10-10-1-5.us-west-2.compute.internal', '10.10.1.5', {})] });
    expect(resolveTargets({ all: false, nodes: ['ip-10-10-1-5.us-west-2.compute.internal'] }, inv)).toEqual({
      nodes: [],
      notFound: ['ip-10-10-1-5.us-west-2.compute.internal'],
      sharedIps: [],
    });
  });

  test('a CiliumNode outside the node networks is left out', () => {
    const inv = inventory({ ciliumNodes: [ciliumNode(MI1, '10.10.1.11', ['10.30.1.0/24']), ciliumNode(MI2, undefined, ['10.30.2.0/24'])] });
    expect(resolveTargets({ all: true, nodes: [] }, inv).nodes).toEqual([]);
  });

  test('an ENI of a named instance that carries no known node IP is not a target', () => {
    const inv = inventory({ networkInterfaces: [eni(eniId(8), '10.20.8.8', { instanceId: instanceId(8) })] });
    expect(resolveTargets({ all: false, nodes: [instanceId(8)] }, inv)).toEqual({ nodes: [], notFound: [instanceId(8)], sharedIps: [] });
  });

  test('a node with several ENIs lists each once', () => {
    const inv = inventory({
      kubeNodes: [kube(MI1, '10.20.1.11')],
      networkInterfaces: [eni(eniId(1), '10.20.1.11', { instanceId: instanceId(1) }), eni(eniId(2), '10.20.1.11', { instanceId: instanceId(1) }), eni(eniId(1), '10.20.1.11')],
    });
    expect(resolveTargets({ all: false, nodes: [MI1] }, inv).nodes[0]!.networkInterfaceIds).toEqual([eniId(1), eniId(2)]);
  });

  describe('instanceProof: what shows that a node\'s instance may be terminated', () => {
    const entry = node(1);
    const offlineAgent = (ip: string | undefined = entry.ip): ManagedInstanceRecord => ({ instanceId: entry.name, ...(ip ? { ipAddress: ip } : {}), pingStatus: 'ConnectionLost' });
    /** The node's Node and CiliumNode on its IP, its agent as given, and one instance holding the IP. */
    const world = (managedInstances: ManagedInstanceRecord[], eniOptions: Parameters<typeof eni>[2] = {}) =>
      inventory({
        kubeNodes: [kube(entry.name, entry.ip)],
        ciliumNodes: [ciliumNode(entry.name, entry.ip, [entry.cidr])],
        managedInstances,
        networkInterfaces: [eni(entry.eni, entry.ip, { instanceId: entry.instance, ...eniOptions })],
      });
    const proofs = (request: { all: boolean; nodes: string[] }, inv: Inventory) =>
      resolveTargets(request, inv).nodes.map((target) => [target.name, target.instanceId, target.instanceProof]);

    test('the node\'s agent online at the instance\'s address: shown, whether the node is named or everything goes', () => {
      const inv = world([mi(entry.name, entry.ip)]);
      for (const request of [{ all: false, nodes: [entry.name] }, { all: false, nodes: [entry.instance] }, { all: true, nodes: [] }]) {
        expect(proofs(request, inv)).toEqual([[entry.name, entry.instance, 'online-agent']]);
      }
    });

    test.each([
      ['its agent is offline (a stale node whose address an unrelated instance now has, or a stopped machine)', [offlineAgent()]],
      ['its agent is offline and reports no address', [offlineAgent(undefined)]],
      ['its agent is online elsewhere (another address)', [mi(entry.name, '10.20.1.99')]],
      ['its agent is online and reports no address', [mi(entry.name)]],
      ['SSM knows no agent of it', []],
    ])('the sole claimant takes the machine, but nothing shows the instance is its own when %s', (_label, managedInstances) => {
      const inv = world(managedInstances);
      for (const request of [{ all: false, nodes: [entry.name] }, { all: true, nodes: [] }]) {
        expect(proofs(request, inv)).toEqual([[entry.name, entry.instance, undefined]]);
      }
      // The operator's word: naming the instance id (alone, or with the node) shows it.
      expect(proofs({ all: false, nodes: [entry.instance] }, inv)).toEqual([[entry.name, entry.instance, 'named']]);
      expect(proofs({ all: false, nodes: [entry.name, entry.instance] }, inv)).toEqual([[entry.name, entry.instance, 'named']]);
    });

    test('an agent online at another address of the same instance (a secondary IPv4 or an IPv6 address in another spelling) shows it', () => {
      const secondary = world([mi(entry.name, '10.20.1.77')], { secondaryIps: ['10.20.1.77'] });
      expect(proofs({ all: false, nodes: [entry.name] }, secondary)).toEqual([[entry.name, entry.instance, 'online-agent']]);
      const ipv6 = world([mi(entry.name, 'fd00:20:0:0:0:0:0:b')], { ipv6: ['fd00:20::b'] });
      expect(proofs({ all: false, nodes: [entry.name] }, ipv6)).toEqual([[entry.name, entry.instance, 'online-agent']]);
    });

    test('a Node named by its host with no agent at all (credentials from elsewhere): only naming the instance shows it', () => {
      const inv = inventory({
        kubeNodes: [kube('hybrid-worker-1', entry.ip)],
        ciliumNodes: [ciliumNode('hybrid-worker-1', entry.ip, [entry.cidr])],
        networkInterfaces: [eni(entry.eni, entry.ip, { instanceId: entry.instance })],
      });
      expect(proofs({ all: false, nodes: ['hybrid-worker-1'] }, inv)).toEqual([['hybrid-worker-1', entry.instance, undefined]]);
      expect(proofs({ all: false, nodes: ['hybrid-worker-1', entry.instance] }, inv)).toEqual([['hybrid-worker-1', entry.instance, 'named']]);
    });

    test('naming an instance shows only that instance: another node in the same request is not shown by it', () => {
      const other = node(2);
      const inv = inventory({
        kubeNodes: [kube(entry.name, entry.ip), kube(other.name, other.ip)],
        managedInstances: [offlineAgent(), { instanceId: other.name, ipAddress: other.ip, pingStatus: 'ConnectionLost' }],
        networkInterfaces: [eni(entry.eni, entry.ip, { instanceId: entry.instance }), eni(other.eni, other.ip, { instanceId: other.instance })],
      });
      expect(proofs({ all: false, nodes: [entry.instance, other.name] }, inv)).toEqual([
        [entry.name, entry.instance, 'named'],
        [other.name, other.instance, undefined],
      ]);
    });
  });

  describe('one IP claimed by two nodes (a Node and CiliumNode left from before the machine rejoined)', () => {
    const ip = '10.20.1.11';
    const stale = nodeName(1);
    const live = nodeName(2);
    const machine = { eni: eniId(1), instance: instanceId(1) };
    /** Both nodes fully present in Kubernetes and Cilium on the same IP; one ENI, one instance. */
    const world = (managedInstances: ManagedInstanceRecord[], extra: { tags?: Record<string, string> } = {}) =>
      inventory({
        kubeNodes: [kube(stale, ip), kube(live, ip)],
        ciliumNodes: [ciliumNode(stale, ip, ['10.30.1.0/24']), ciliumNode(live, ip, ['10.30.2.0/24'])],
        managedInstances,
        networkInterfaces: [eni(machine.eni, ip, { instanceId: machine.instance, ...(extra.tags ? { tags: extra.tags } : {}) })],
      });
    const offline = (name: string): ManagedInstanceRecord => ({ instanceId: name, ipAddress: ip, pingStatus: 'ConnectionLost' });
    const reversed = (inv: Inventory): Inventory => ({
      ...inv,
      kubeNodes: [...inv.kubeNodes].reverse(),
      ciliumNodes: [...inv.ciliumNodes].reverse(),
      managedInstances: [...inv.managedInstances].reverse(),
      networkInterfaces: [...inv.networkInterfaces].reverse(),
    });
    const liveTarget: NodeTarget = { name: live, managedInstanceId: live, instanceId: machine.instance, ip, networkInterfaceIds: [machine.eni], cidrs: ['10.30.2.0/24'], instanceProof: 'online-agent' };
    const staleTarget: NodeTarget = { name: stale, managedInstanceId: stale, ip, networkInterfaceIds: [], cidrs: ['10.30.1.0/24'] };

    test('the ENI and instance go with the node whose managed instance is online with the IP, in any input order', () => {
      for (const inv of [world([offline(stale), mi(live, ip)]), reversed(world([offline(stale), mi(live, ip)]))]) {
        expect(resolveTargets({ all: false, nodes: [stale] }, inv)).toEqual({ nodes: [staleTarget], notFound: [], sharedIps: [] });
        expect(resolveTargets({ all: false, nodes: [live] }, inv)).toEqual({ nodes: [liveTarget], notFound: [], sharedIps: [] });
        expect(resolveTargets({ all: false, nodes: [machine.instance] }, inv)).toEqual({ nodes: [liveTarget], notFound: [], sharedIps: [] });
        expect(resolveTargets({ all: true, nodes: [] }, inv).nodes).toEqual([staleTarget, liveTarget]);
      }
    });

    test('the stale node is online nowhere and not listed by SSM at all: the same', () => {
      const inv = world([mi(live, ip)]);
      expect(resolveTargets({ all: false, nodes: [stale] }, inv).nodes).toEqual([staleTarget]);
      expect(resolveTargets({ all: false, nodes: [live] }, inv).nodes).toEqual([liveTarget]);
    });

    test.each([
      ['neither is online', [offline(stale), offline(live)]],
      ['both are online', [mi(stale, ip), mi(live, ip)]],
      ['SSM knows neither', []],
      ['the online one reports another IP', [offline(stale), mi(live, '10.20.1.99')]],
    ])('no single owner (%s): a named teardown takes the ENI with neither node and says so', (_label, managedInstances) => {
      const inv = world(managedInstances);
      for (const name of [stale, live]) {
        const result = resolveTargets({ all: false, nodes: [name] }, inv);
        expect(result.nodes.map((target) => [target.name, target.networkInterfaceIds, target.instanceId])).toEqual([[name, [], undefined]]);
        expect(result.sharedIps).toEqual([{ ip, nodes: [stale, live] }]);
      }
      // Named by its instance, the machine matches no node: nothing to tear down by that id, and why.
      expect(resolveTargets({ all: false, nodes: [machine.instance] }, inv)).toEqual({
        nodes: [],
        notFound: [machine.instance],
        sharedIps: [{ ip, nodes: [stale, live] }],
      });
    });

    test('no single owner, but every claimant named: the ENI goes with the first by name', () => {
      for (const nodes of [[live, stale], [stale, live]]) {
        const result = resolveTargets({ all: false, nodes }, world([offline(stale), offline(live)]));
        expect(result.nodes.map((target) => [target.name, target.networkInterfaceIds, target.instanceId])).toEqual(
          nodes.map((name) => (name === stale ? [stale, [machine.eni], machine.instance] : [live, [], undefined])),
        );
        expect(result.sharedIps).toEqual([]);
        // Taken for want of an owner, not shown to be the stale node's: its instance is not to be terminated.
        expect(result.nodes.map((target) => target.instanceProof)).toEqual([undefined, undefined]);
      }
    });

    test('an agent online with no IP, or another one, is no proof for the one that reports this IP', () => {
      // The live node's agent is online but reports no IP; a stray registration online with the IP must not
      // take the live node's machine.
      const inv = world([mi(stale, ip), { instanceId: live, pingStatus: 'Online' }]);
      const result = resolveTargets({ all: false, nodes: [stale] }, inv);
      expect(result.nodes[0]!.networkInterfaceIds).toEqual([]);
      expect(result.sharedIps).toEqual([{ ip, nodes: [stale, live] }]);
    });

    test('no single owner, everything torn down: the ENI goes with the first node by name (both go)', () => {
      const result = resolveTargets({ all: true, nodes: [] }, world([offline(stale), offline(live)]));
      expect(result.nodes.map((target) => [target.name, target.networkInterfaceIds])).toEqual([
        [stale, [machine.eni]],
        [live, []],
      ]);
      expect(result.sharedIps).toEqual([]);
    });

    test('no single owner: a pause tag naming one of them does not settle it', () => {
      const result = resolveTargets({ all: false, nodes: [stale] }, world([offline(stale), offline(live)], { tags: { [PAUSE_TAG_KEY]: stale } }));
      expect(result.nodes[0]!.networkInterfaceIds).toEqual([]);
      expect(result.sharedIps).toEqual([{ ip, nodes: [stale, live] }]);
    });

    describe('a pause tag naming a node that no longer claims the IP (an earlier teardown of it stopped halfway)', () => {
      const paused = nodeName(9);
      /** Only the stale node claims the IP now; the ENI still carries the pause tag of the node torn down. */
      const leftover = (staleAgent: ManagedInstanceRecord) =>
        inventory({
          kubeNodes: [kube(stale, ip)],
          ciliumNodes: [ciliumNode(stale, ip, ['10.30.1.0/24'])],
          managedInstances: [staleAgent],
          networkInterfaces: [eni(machine.eni, ip, { instanceId: machine.instance, tags: { [PAUSE_TAG_KEY]: paused } })],
        });

      test('the paused node, named again, is found and told why; the node that claims the IP, named, takes the machine', () => {
        const inv = leftover(offline(stale));
        const dispute = [{ ip, nodes: [stale, paused] }];
        expect(resolveTargets({ all: false, nodes: [paused] }, inv)).toEqual({
          nodes: [{ name: paused, managedInstanceId: paused, networkInterfaceIds: [], cidrs: [] }],
          notFound: [],
          sharedIps: dispute,
        });
        // Every node that claims the IP is being torn down (here its only claimant), so the machine goes with it.
        const withIt = { ...staleTarget, instanceId: machine.instance, networkInterfaceIds: [machine.eni] };
        expect(resolveTargets({ all: false, nodes: [stale] }, inv)).toEqual({ nodes: [withIt], notFound: [], sharedIps: [] });
        expect(resolveTargets({ all: true, nodes: [] }, inv)).toEqual({ nodes: [withIt], notFound: [], sharedIps: [] });
      });

      test('an agent online on the machine with its IP outweighs the tag', () => {
        const result = resolveTargets({ all: false, nodes: [stale] }, leftover(mi(stale, ip)));
        expect(result).toEqual({ nodes: [{ ...staleTarget, instanceId: machine.instance, networkInterfaceIds: [machine.eni], instanceProof: 'online-agent' }], notFound: [], sharedIps: [] });
      });
    });

    test('a shared IP of a node not being torn down is not reported', () => {
      const inv = inventory({
        ...world([]),
        kubeNodes: [...world([]).kubeNodes, kube(nodeName(3), '10.20.1.13')],
      });
      expect(resolveTargets({ all: false, nodes: [nodeName(3)] }, inv).sharedIps).toEqual([]);
    });

    test('a managed instance on the IP of a node named after another managed instance is a node of its own', () => {
      // The node named mi-…2 is that managed instance; mi-…1 (online, reporting the IP) cannot be it.
      const inv = inventory({
        kubeNodes: [kube(live, ip)],
        managedInstances: [mi(stale, ip), { instanceId: live, pingStatus: 'Online' }],
        networkInterfaces: [eni(machine.eni, ip, { instanceId: machine.instance })],
      });
      const { nodes } = resolveTargets({ all: true, nodes: [] }, inv);
      expect(nodes.map((target) => [target.name, target.managedInstanceId, target.networkInterfaceIds])).toEqual([
        [stale, stale, [machine.eni]],
        [live, live, []],
      ]);
    });

    test("a stale node's IP on a second ENI of the live node's instance: the instance is one machine, the live node's", () => {
      const second = { eni: eniId(0x77), ip: '10.20.1.77' };
      const inv = inventory({
        kubeNodes: [kube(live, ip), kube(stale, second.ip)],
        ciliumNodes: [ciliumNode(live, ip, ['10.30.2.0/24']), ciliumNode(stale, second.ip, ['10.30.1.0/24'])],
        managedInstances: [mi(live, ip), { instanceId: stale, ipAddress: second.ip, pingStatus: 'ConnectionLost' }],
        networkInterfaces: [eni(machine.eni, ip, { instanceId: machine.instance }), eni(second.eni, second.ip, { instanceId: machine.instance })],
      });
      const whole = { ...liveTarget, networkInterfaceIds: [machine.eni, second.eni] };
      expect(resolveTargets({ all: false, nodes: [stale] }, inv)).toEqual({
        nodes: [{ ...staleTarget, ip: second.ip, networkInterfaceIds: [] }],
        notFound: [],
        sharedIps: [],
      });
      expect(resolveTargets({ all: false, nodes: [live] }, inv).nodes).toEqual([whole]);
      expect(resolveTargets({ all: false, nodes: [machine.instance] }, inv).nodes).toEqual([whole]);
    });

    test('an ENI no node claims on a node’s instance, paused for another node, is part of that node’s machine', () => {
      const extra = eni(eniId(0x50), '10.20.1.50', { instanceId: machine.instance, tags: { [PAUSE_TAG_KEY]: nodeName(9) } });
      const inv = inventory({ kubeNodes: [kube(live, ip)], managedInstances: [mi(live, ip)], networkInterfaces: [eni(machine.eni, ip, { instanceId: machine.instance }), extra] });
      expect(resolveTargets({ all: false, nodes: [nodeName(9)] }, inv)).toEqual({ nodes: [], notFound: [nodeName(9)], sharedIps: [] });
      expect(resolveTargets({ all: false, nodes: [live] }, inv).nodes[0]!.networkInterfaceIds).toEqual([machine.eni, extra.networkInterfaceId]);
    });

    test('a node whose claims point at two instances owns neither, even named or with everything torn down', () => {
      // Its Node says one address, its agent another, each on a different instance.
      const other = { eni: eniId(0x33), ip: '10.20.1.33', instance: instanceId(0x33) };
      const inv = inventory({
        kubeNodes: [kube(live, ip)],
        managedInstances: [{ instanceId: live, ipAddress: other.ip, pingStatus: 'Online' }],
        networkInterfaces: [eni(machine.eni, ip, { instanceId: machine.instance }), eni(other.eni, other.ip, { instanceId: other.instance })],
      });
      // Which instance is it on? Its data cannot all be right: neither is terminated, both are reported.
      const reported = [
        { ip, nodes: [live] },
        { ip: other.ip, nodes: [live] },
      ];
      expect(resolveTargets({ all: false, nodes: [live] }, inv)).toEqual({
        nodes: [{ name: live, managedInstanceId: live, ip, networkInterfaceIds: [], cidrs: [] }],
        notFound: [],
        sharedIps: reported,
      });
      expect(resolveTargets({ all: true, nodes: [] }, inv).sharedIps).toEqual(reported);
      expect(resolveTargets({ all: false, nodes: [other.instance] }, inv)).toMatchObject({ nodes: [], notFound: [other.instance] });
    });

    test('a Node named by hostname with two managed instances on its IP: the online one joins it, the other stands alone', () => {
      const inv = inventory({
        kubeNodes: [kube('hybrid-worker-1', ip)],
        managedInstances: [offline(stale), mi(live, ip)].map((record) => ({ ...record, computerName: 'hybrid-worker-1' })),
        networkInterfaces: [eni(machine.eni, ip, { instanceId: machine.instance })],
      });
      for (const ordered of [inv, reversed(inv)]) {
        const { nodes } = resolveTargets({ all: true, nodes: [] }, ordered);
        expect(nodes.map((target) => [target.name, target.managedInstanceId, target.networkInterfaceIds])).toEqual([
          ['hybrid-worker-1', live, [machine.eni]],
          [stale, stale, []],
        ]);
      }
    });
  });

  test('empty inventory: all resolves to nothing, named ids are all notFound', () => {
    expect(resolveTargets({ all: true, nodes: [] }, inventory())).toEqual({ nodes: [], notFound: [], sharedIps: [] });
    expect(resolveTargets({ all: false, nodes: [MI1, MI2] }, inventory())).toEqual({ nodes: [], notFound: [MI1, MI2], sharedIps: [] });
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('podsToDrain', () => {
  const pod = (name: string, options: Partial<PodRecord> = {}): PodRecord => ({
    namespace: 'default',
    name,
    ownerKinds: ['ReplicaSet'],
    mirror: false,
    terminating: false,
    phase: 'Running',
    ...options,
  });

  test.each<[string, 'evict' | 'terminating' | 'left', PodRecord]>([
    ['a ReplicaSet pod', 'evict', pod('web')],
    ['a StatefulSet pod', 'evict', pod('db-0', { ownerKinds: ['StatefulSet'] })],
    ['a bare pod', 'evict', pod('debug', { ownerKinds: [] })],
    ['a pending pod', 'evict', pod('queued', { phase: 'Pending' })],
    ['a pod without a phase', 'evict', pod('unknown', { phase: undefined as unknown as string })],
    ['a pod already terminating', 'terminating', pod('leaving', { terminating: true })],
    ['a DaemonSet pod', 'left', pod('cilium-x', { ownerKinds: ['DaemonSet'] })],
    ['a pod owned by a DaemonSet among others', 'left', pod('odd', { ownerKinds: ['ReplicaSet', 'DaemonSet'] })],
    ['a terminating DaemonSet pod', 'left', pod('cilium-y', { ownerKinds: ['DaemonSet'], terminating: true })],
    ['a mirror (static) pod', 'left', pod('kube-proxy', { ownerKinds: ['Node'], mirror: true })],
    ['a Succeeded pod', 'left', pod('job-1', { ownerKinds: ['Job'], phase: 'Succeeded' })],
    ['a Failed pod', 'left', pod('job-2', { ownerKinds: ['Job'], phase: 'Failed' })],
  ])('%s goes to %s', (_label, bucket, record) => {
    const result = podsToDrain([record]);
    expect(result[bucket]).toEqual([record]);
    for (const other of (['evict', 'terminating', 'left'] as const).filter((name) => name !== bucket)) expect(result[other]).toEqual([]);
  });

  test('a mixed node, order kept', () => {
    const pods = [pod('a'), pod('ds', { ownerKinds: ['DaemonSet'] }), pod('b', { terminating: true }), pod('c'), pod('done', { phase: 'Succeeded' })];
    expect(podsToDrain(pods)).toEqual({ evict: [pods[0], pods[3]], terminating: [pods[2]], left: [pods[1], pods[4]] });
  });

  test('no pods', () => {
    expect(podsToDrain([])).toEqual({ evict: [], terminating: [], left: [] });
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('uninstallProgress', () => {
  const online: ManagedInstanceRecord = { instanceId: MI1, pingStatus: 'Online' };
  const deadline = 1_000_000;

  test.each<[string, Parameters<typeof uninstallProgress>[0], ReturnType<typeof uninstallProgress>]>([
    ['Success', { invocationStatus: 'Success', managedInstance: online, deadline, now: 0 }, { done: true, outcome: 'succeeded' }],
    ['Success after the deadline, instance gone', { invocationStatus: 'Success', deadline, now: deadline + 1 }, { done: true, outcome: 'succeeded' }],
    ['Failed', { invocationStatus: 'Failed', managedInstance: online, deadline, now: 0 }, { done: false, outcome: 'failed' }],
    ['Cancelled', { invocationStatus: 'Cancelled', managedInstance: online, deadline, now: 0 }, { done: false, outcome: 'failed' }],
    // nodeadm outlived its execution timeout (the uninstall budget): go on and deregister, like our own deadline.
    ['TimedOut', { invocationStatus: 'TimedOut', managedInstance: online, deadline, now: 0 }, { done: true, outcome: 'timed-out' }],
    ['TimedOut, instance gone', { invocationStatus: 'TimedOut', deadline, now: 0 }, { done: true, outcome: 'timed-out' }],
    ['TimedOut, agent offline', { invocationStatus: 'TimedOut', managedInstance: { ...online, pingStatus: 'ConnectionLost' }, deadline, now: 0 }, { done: true, outcome: 'timed-out' }],
    ['Cancelled, even past the deadline', { invocationStatus: 'Cancelled', managedInstance: online, deadline, now: deadline + 1 }, { done: false, outcome: 'failed' }],
    ['Failed, even with the instance gone and past the deadline', { invocationStatus: 'Failed', deadline, now: deadline + 5 }, { done: false, outcome: 'failed' }],
    ['InProgress, instance no longer registered', { invocationStatus: 'InProgress', deadline, now: 0 }, { done: true, outcome: 'deregistered' }],
    ['no invocation, instance no longer registered', { deadline, now: 0 }, { done: true, outcome: 'deregistered' }],
    ['InProgress, agent ConnectionLost', { invocationStatus: 'InProgress', managedInstance: { ...online, pingStatus: 'ConnectionLost' }, deadline, now: 0 }, { done: true, outcome: 'agent-offline' }],
    ['Pending, agent Inactive', { invocationStatus: 'Pending', managedInstance: { ...online, pingStatus: 'Inactive' }, deadline, now: 0 }, { done: true, outcome: 'agent-offline' }],
    ['InProgress, online, exactly at the deadline', { invocationStatus: 'InProgress', managedInstance: online, deadline, now: deadline }, { done: true, outcome: 'timed-out' }],
    ['InProgress, online, past the deadline', { invocationStatus: 'InProgress', managedInstance: online, deadline, now: deadline + 1 }, { done: true, outcome: 'timed-out' }],
    ['InProgress, online, 1 ms before the deadline', { invocationStatus: 'InProgress', managedInstance: online, deadline, now: deadline - 1 }, { done: false, outcome: 'in-progress' }],
    ['Delayed, online', { invocationStatus: 'Delayed', managedInstance: online, deadline, now: 0 }, { done: false, outcome: 'in-progress' }],
    ['no invocation yet, online', { managedInstance: online, deadline, now: 0 }, { done: false, outcome: 'in-progress' }],
    ['no ping status reported, before the deadline', { invocationStatus: 'InProgress', managedInstance: { instanceId: MI1 }, deadline, now: 0 }, { done: false, outcome: 'in-progress' }],
  ])('%s', (_label, input, expected) => {
    expect(uninstallProgress(input)).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('routesOfRemovedNodes', () => {
  const deletion = (routeTableId: string, destination: string, previousTarget?: string): RouteAction => ({
    routeTableId,
    destination,
    action: 'delete',
    ...(previousTarget ? { previousTarget } : {}),
    reason: 'stale: no node claims it',
  });
  const target = (name: string, networkInterfaceIds: string[], cidrs: string[]): NodeTarget => ({ name, networkInterfaceIds, cidrs });
  const removed = [target(MI1, [eniId(1)], ['10.30.1.0/24']), target(MI2, [eniId(2)], ['10.30.2.0/24', '10.30.20.0/24'])];

  test.each<[string, boolean, RouteAction]>([
    ['a route to a removed node’s ENI', true, deletion('rtb-a', '10.30.77.0/24', eniId(1))],
    ['the same in another table', true, deletion('rtb-b', '10.30.78.0/24', eniId(2))],
    ['a route to the exact CIDR a removed node claimed (other target)', true, deletion('rtb-a', '10.30.1.0/24', eniId(9))],
    ['a route to a removed node’s second CIDR', true, deletion('rtb-a', '10.30.20.0/24', eniId(9))],
    ['a route inside a removed node’s CIDR', true, deletion('rtb-a', '10.30.2.128/25', eniId(9))],
    ['a route that covers a removed node’s CIDR', true, deletion('rtb-a', '10.30.0.0/22', eniId(9))],
    ['a blackhole route to an instance over a removed CIDR', true, deletion('rtb-a', '10.30.1.0/24', instanceId(1))],
    ['a route of another node (other ENI, other CIDR)', false, deletion('rtb-a', '10.30.3.0/24', eniId(3))],
    ['an adjacent CIDR', false, deletion('rtb-a', '10.30.0.0/24', eniId(9))],
    ['a route with no previous target and an unrelated CIDR', false, deletion('rtb-a', '10.30.9.0/24')],
    ['an unparsable destination to an unrelated target', false, deletion('rtb-a', 'pl-0123abcd', eniId(9))],
    ['an unparsable destination to a removed ENI', true, deletion('rtb-a', 'pl-0123abcd', eniId(1))],
  ])('partial: %s → kept=%p', (_label, kept, action) => {
    expect(routesOfRemovedNodes([action], removed, false)).toEqual(kept ? [action] : []);
  });

  test('partial: only the removed nodes’ deletions, in input order', () => {
    const deletions = [
      deletion('rtb-a', '10.30.1.0/24', eniId(1)),
      deletion('rtb-a', '10.30.3.0/24', eniId(3)),
      deletion('rtb-b', '10.30.1.0/24', eniId(1)),
      deletion('rtb-b', '10.30.9.0/24', eniId(9)),
      deletion('rtb-b', '10.30.2.0/24', eniId(2)),
    ];
    expect(routesOfRemovedNodes(deletions, removed, false)).toEqual([deletions[0], deletions[2], deletions[4]]);
  });

  test('partial with no removed node: nothing', () => {
    expect(routesOfRemovedNodes([deletion('rtb-a', '10.30.1.0/24', eniId(1))], [], false)).toEqual([]);
  });

  test('a removed node’s unparsable CIDR is ignored, its ENI still counts', () => {
    const odd = [target(MI3, [eniId(3)], ['not-a-cidr'])];
    const deletions = [deletion('rtb-a', '10.30.3.0/24', eniId(9)), deletion('rtb-a', '10.30.4.0/24', eniId(3))];
    expect(routesOfRemovedNodes(deletions, odd, false)).toEqual([deletions[1]]);
  });

  test('all: every deletion, related or not', () => {
    const deletions = [deletion('rtb-a', '10.30.3.0/24', eniId(3)), deletion('rtb-b', '10.30.9.0/24'), deletion('rtb-a', '10.30.1.0/24', eniId(1))];
    expect(routesOfRemovedNodes(deletions, [], true)).toEqual(deletions);
    expect(routesOfRemovedNodes(deletions, removed, true)).toEqual(deletions);
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('nodeResultsOf and stepError', () => {
  test.each<[string, unknown, unknown[]]>([
    ['the Map result', [{ node: MI1, status: 'done' }, { node: MI2, status: 'failed', error: 'DrainTimedOut' }], [{ node: MI1, status: 'done' }, { node: MI2, status: 'failed', error: 'DrainTimedOut' }]],
    ['an empty Map result', [], []],
    ['a Catch error in its place', { Error: 'States.TaskFailed', Cause: 'boom' }, []],
    ['nothing', undefined, []],
    ['null', null, []],
    ['a string', 'done', []],
  ])('nodeResultsOf(%s)', (_label, value, expected) => {
    expect(nodeResultsOf(value)).toEqual(expected);
  });

  test.each<[string, unknown, ReturnType<typeof stepError>]>([
    ['a Catch object', { Error: 'TransientError', Cause: '{"errorType":"TransientError"}' }, { error: 'TransientError', cause: '{"errorType":"TransientError"}' }],
    ['a Catch object without Cause', { Error: 'States.Timeout' }, { error: 'States.Timeout', cause: '' }],
    ['non-string Error and Cause', { Error: 42, Cause: { detail: 1 } }, { error: '42', cause: '' }],
    ['a step result', { tagged: [eniId(1)], disabledRules: [] }, undefined],
    ['a result that has an error field (lower case)', { error: 'x', cause: 'y' }, undefined],
    ['an array', [{ Error: 'x' }], undefined],
    ['null', null, undefined],
    ['undefined', undefined, undefined],
    ['a string', 'Error', undefined],
  ])('stepError(%s)', (_label, value, expected) => {
    expect(stepError(value)).toEqual(expected);
  });
});
