/**
 * Property-based tests of resolveTargets (functions/core/teardown.ts) on random worlds in which several nodes
 * may claim one machine's IP (Nodes and CiliumNodes that outlived their machine), with random SSM agent states
 * and pause tags. The oracle says whose each ENI is from the world's own description, without the join code:
 * an IP's sole claimant, else the one claimant whose managed instance is online with it, else nobody (a named
 * teardown) or the first claimant by name (everything). The run count defaults to 200; PROPERTY_RUNS raises it.
 */
import fc from 'fast-check';
import type { KubeNodeRecord, ManagedInstanceRecord } from '../../../functions/core/ports.js';
import { buildScope } from '../../../functions/core/scope.js';
import { PAUSE_TAG_KEY } from '../../../functions/core/teardown-steps.js';
import { HYBRID_NODE_LABEL, type Inventory, type NodeTarget, resolveTargets } from '../../../functions/core/teardown.js';
import type { CiliumNodeRecord, NetworkInterfaceRecord } from '../../../functions/core/types.js';
import { propertyEniId } from '../../support/arbitraries.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200);
const VPC = 'vpc-0remote0000000001';
const scope = buildScope({ remoteNodeNetworks: ['10.20.0.0/16'], remotePodNetworks: ['10.30.0.0/16'] });

const nodeName = (i: number) => `mi-${i.toString(16).padStart(17, '0')}`;
const instanceId = (i: number) => `i-${i.toString(16).padStart(17, '0')}`;
/** Machine IPs 0..5 carry an ENI; 6 and 7 do not (a node whose machine is gone). */
const machineIp = (i: number) => `10.20.1.${10 + i}`;
const MACHINES_WITH_ENI = 6;

interface WorldNode {
  name: string;
  ip: string;
  inKubernetes: boolean;
  inCilium: boolean;
  /** The managed instance's ping status; undefined: SSM does not list it. */
  agent: 'Online' | 'ConnectionLost' | 'Inactive' | undefined;
  /** Whether SSM reports the IP (an agent that never reported one has none). */
  agentReportsIp: boolean;
  cidr: string;
}

interface World {
  nodes: WorldNode[];
  /** Per machine with an ENI: its instance (or none) and a pause tag naming one of the nodes (or none). */
  machines: { instance: boolean; pausedFor?: string }[];
  /** Sort keys that shuffle each input list. */
  order: number[];
}

const worldNode = (index: number) =>
  fc
    .record({
      machine: fc.integer({ min: 0, max: 7 }),
      presence: fc.constantFrom('kubernetes', 'cilium', 'both', 'ssm-only'),
      agent: fc.constantFrom('Online', 'ConnectionLost', 'Inactive', undefined),
      agentReportsIp: fc.boolean(),
    })
    .map(
      ({ machine, presence, agent, agentReportsIp }): WorldNode => ({
        name: nodeName(index + 1),
        ip: machineIp(machine),
        inKubernetes: presence === 'kubernetes' || presence === 'both',
        inCilium: presence === 'cilium' || presence === 'both',
        // A node known to SSM only must be listed by it.
        agent: presence === 'ssm-only' ? (agent ?? 'ConnectionLost') : agent,
        agentReportsIp: presence === 'ssm-only' ? true : agentReportsIp,
        cidr: `10.30.${index + 1}.0/24`,
      }),
    );

const world: fc.Arbitrary<World> = fc.integer({ min: 1, max: 8 }).chain((count) =>
  fc.record({
    nodes: fc.tuple(...Array.from({ length: count }, (_, index) => worldNode(index))),
    machines: fc.array(
      fc.record({ instance: fc.boolean(), paused: fc.option(fc.integer({ min: 1, max: count }), { nil: undefined }) }).map(({ instance, paused }) => ({
        instance,
        ...(paused !== undefined ? { pausedFor: nodeName(paused) } : {}),
      })),
      { minLength: MACHINES_WITH_ENI, maxLength: MACHINES_WITH_ENI },
    ),
    order: fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
  }),
);

function shuffled<T>(items: T[], order: number[], salt: number): T[] {
  return items
    .map((item, index) => ({ item, key: order[(index + salt) % order.length]!, index }))
    .sort((a, b) => a.key - b.key || a.index - b.index)
    .map(({ item }) => item);
}

function inventoryOf({ nodes, machines }: World, order?: number[]): Inventory {
  const kubeNodes: KubeNodeRecord[] = nodes
    .filter((node) => node.inKubernetes)
    .map((node) => ({ name: node.name, labels: { [HYBRID_NODE_LABEL]: 'hybrid' }, unschedulable: false, internalIPs: [node.ip] }));
  const ciliumNodes: CiliumNodeRecord[] = nodes
    .filter((node) => node.inCilium)
    .map((node) => ({ name: node.name, addresses: [{ type: 'InternalIP', ip: node.ip }], podCIDRs: [node.cidr], poolCIDRs: [] }));
  const managedInstances: ManagedInstanceRecord[] = nodes
    .filter((node) => node.agent !== undefined)
    .map((node) => ({ instanceId: node.name, pingStatus: node.agent!, ...(node.agentReportsIp ? { ipAddress: node.ip } : {}) }));
  const networkInterfaces: NetworkInterfaceRecord[] = machines.map((machine, index) => ({
    networkInterfaceId: propertyEniId(index),
    vpcId: VPC,
    privateIpAddresses: [machineIp(index)],
    ipv6Addresses: [],
    sourceDestCheck: false,
    ...(machine.instance ? { instanceId: instanceId(index) } : {}),
    // Tags only where some node claims the IP: there they must change nothing. (A tag alone leading to a node
    // whose objects are all gone is the example tests' subject.)
    ...(machine.pausedFor && nodes.some((node) => node.ip === machineIp(index)) ? { tags: { [PAUSE_TAG_KEY]: machine.pausedFor } } : {}),
  }));
  const arrange = <T>(items: T[], salt: number) => (order ? shuffled(items, order, salt) : items);
  return {
    kubeNodes: arrange(kubeNodes, 0),
    ciliumNodes: arrange(ciliumNodes, 16),
    managedInstances: arrange(managedInstances, 32),
    networkInterfaces: arrange(networkInterfaces, 48),
    scope,
    pauseTagKey: PAUSE_TAG_KEY,
  };
}

/** Whose machine `index` is, by the rule, or why nobody's. */
function ownerOf({ nodes }: World, index: number, all: boolean): string | undefined {
  const ip = machineIp(index);
  const claimants = nodes.filter((node) => node.ip === ip).map((node) => node.name);
  if (claimants.length === 1) return claimants[0];
  const online = nodes.filter((node) => node.ip === ip && node.agent === 'Online' && node.agentReportsIp).map((node) => node.name);
  if (online.length === 1) return online[0];
  return all ? [...claimants].sort()[0] : undefined;
}

/** The machines (with an ENI) whose IP several nodes claim and that nobody provably owns. */
function disputedMachines(w: World): number[] {
  return w.machines.flatMap((_, index) => (w.nodes.filter((node) => node.ip === machineIp(index)).length > 1 && ownerOf(w, index, false) === undefined ? [index] : []));
}

const linksOf = (targets: NodeTarget[]) =>
  targets.map((target) => ({ name: target.name, enis: [...target.networkInterfaceIds].sort(), instanceId: target.instanceId })).sort((a, b) => a.name.localeCompare(b.name));

describe('resolveTargets properties (several nodes on one IP)', () => {
  test('named one at a time: a node gets a machine exactly when it provably owns it', () => {
    let sawDisputed = 0;
    let sawProvenAmongSeveral = 0;
    fc.assert(
      fc.property(world, (w) => {
        const inventory = inventoryOf(w);
        for (const node of w.nodes) {
          const result = resolveTargets({ all: false, nodes: [node.name] }, inventory);
          expect(result.notFound).toEqual([]);
          expect(result.nodes.map((target) => target.name)).toEqual([node.name]);
          const owned = w.machines.flatMap((_, index) => (ownerOf(w, index, false) === node.name ? [index] : []));
          expect(result.nodes[0]!.networkInterfaceIds).toEqual(owned.map(propertyEniId));
          const instance = owned.find((index) => w.machines[index]!.instance);
          expect(result.nodes[0]!.instanceId).toBe(instance === undefined ? undefined : instanceId(instance));
          // Every dispute that involves this node is reported, naming all of its claimants.
          const disputed = disputedMachines(w).filter((index) => node.ip === machineIp(index));
          expect(result.sharedIps).toEqual(
            disputed.map((index) => ({ ip: machineIp(index), nodes: w.nodes.filter((other) => other.ip === machineIp(index)).map((other) => other.name).sort() })),
          );
          if (disputed.length > 0) sawDisputed += 1;
          if (owned.length > 0 && w.nodes.filter((other) => other.ip === node.ip).length > 1) sawProvenAmongSeveral += 1;
        }
      }),
      { numRuns: RUNS },
    );
    // The generator does produce both kinds of shared IP (otherwise the property says little).
    expect(sawDisputed).toBeGreaterThan(0);
    expect(sawProvenAmongSeveral).toBeGreaterThan(0);
  });

  test('everything: each machine with a claimant goes with exactly one node, the rule’s; every node is a target', () => {
    fc.assert(
      fc.property(world, (w) => {
        const result = resolveTargets({ all: true, nodes: [] }, inventoryOf(w));
        expect(result.nodes.map((target) => target.name)).toEqual(w.nodes.map((node) => node.name).sort());
        expect(result.sharedIps).toEqual([]);
        w.machines.forEach((_, index) => {
          const holders = result.nodes.filter((target) => target.networkInterfaceIds.includes(propertyEniId(index))).map((target) => target.name);
          const owner = ownerOf(w, index, true);
          expect(holders).toEqual(owner === undefined ? [] : [owner]);
        });
      }),
      { numRuns: RUNS },
    );
  });

  test('the order in which Kubernetes, Cilium, SSM and EC2 list things changes nothing', () => {
    fc.assert(
      fc.property(world, (w) => {
        const plain = inventoryOf(w);
        const mixed = inventoryOf(w, w.order);
        expect(linksOf(resolveTargets({ all: true, nodes: [] }, mixed).nodes)).toEqual(linksOf(resolveTargets({ all: true, nodes: [] }, plain).nodes));
        for (const node of w.nodes) {
          const a = resolveTargets({ all: false, nodes: [node.name] }, plain);
          const b = resolveTargets({ all: false, nodes: [node.name] }, mixed);
          expect(linksOf(b.nodes)).toEqual(linksOf(a.nodes));
          expect(b.sharedIps).toEqual(a.sharedIps);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
