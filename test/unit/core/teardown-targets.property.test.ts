/**
 * Property-based tests of resolveTargets (functions/core/teardown.ts) on random worlds in which several nodes
 * may claim one machine's IP (Nodes and CiliumNodes that outlived their machine), with random agent states,
 * agents reporting their own IP, another one or none, random pause tags, and requests naming random sets of
 * nodes. Two kinds of property:
 * - safety and progress, stated without the ownership rule: a node being torn down never takes a machine that
 *   a node not being torn down claims, unless its own agent is the one online there; a machine only nodes being
 *   torn down claim is taken by exactly one of them; the order of the input lists changes nothing;
 * - the rule itself, as an oracle written from the world's description (not from the join code).
 * Machines may have a second ENI (another IP of the same instance), and their first ENI an IPv6 address too;
 * a node or agent may give either address, an IPv6 one in another spelling. A node is named after its managed
 * instance (`mi-…`) or by hostname; a hostname node's agent joins it only by computer name and address, else
 * it is a node of its own (entitiesOf says which). A node may be gone but for the pause tags naming it (a
 * re-run), and a request may name it (tagOnlyTargets). The run count defaults to 200; PROPERTY_RUNS raises it.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import type { KubeNodeRecord, ManagedInstanceRecord } from '../../../functions/core/ports.js';
import { buildScope } from '../../../functions/core/scope.js';
import { PAUSE_TAG_KEY } from '../../../functions/core/teardown-steps.js';
import { HYBRID_NODE_LABEL, type Inventory, type NodeTarget, type SharedNodeIp, resolveTargets } from '../../../functions/core/teardown.js';
import type { CiliumNodeRecord, NetworkInterfaceRecord } from '../../../functions/core/types.js';
import { propertyEniId } from '../../support/arbitraries.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200);
const VPC = 'vpc-0remote0000000001';
const scope = buildScope({ remoteNodeNetworks: ['10.20.0.0/16', 'fd00:20::/64'], remotePodNetworks: ['10.30.0.0/16'] });

const nodeName = (i: number) => `mi-${i.toString(16).padStart(17, '0')}`;
const instanceId = (i: number) => `i-${i.toString(16).padStart(17, '0')}`;
/** Machine IPs 0..5 carry an ENI; 6 and 7 do not (a node whose machine is gone). */
const machineIp = (i: number) => `10.20.1.${10 + i}`;
/** The IPv6 address of machine i's first ENI, as EC2 writes it (compressed). */
const machineIpv6 = (i: number) => `fd00:20::${(0x10 + i).toString(16)}`;
/** The same address as some other source may write it: all eight groups, not compressed. */
const expanded = (ip: string) => ipaddr.IPv6.parse(ip).toNormalizedString();
/** Addresses compared as addresses, not as text (each spelling parsed once: the oracle compares a lot). */
const canonical = new Map<string, string>();
const canonicalOf = (ip: string) => canonical.get(ip) ?? canonical.set(ip, ipaddr.parse(ip).toString()).get(ip)!;
const sameIp = (a: string, b: string) => canonicalOf(a) === canonicalOf(b);
/** The IP of machine i's second ENI, when it has one. */
const secondIp = (i: number) => `10.20.2.${10 + i}`;
const secondEniId = (i: number) => propertyEniId(10 + i);
const MACHINES_WITH_ENI = 6;
/** An address no machine has: an agent reporting it is online somewhere else. */
const ELSEWHERE = '10.20.9.9';

interface WorldNode {
  /** `mi-…`, or `host-…` for a Node named by hostname (its agent then has an `mi-…` id of its own). */
  name: string;
  /** For a hostname node: its agent's id, and whether the agent's computer name is the host or EC2's default. */
  hostname?: { agentId: string; computerName: 'host' | 'ec2-default' };
  /** The IP of its Node / CiliumNode. */
  ip: string;
  inKubernetes: boolean;
  inCilium: boolean;
  /** The managed instance's ping status; undefined: SSM does not list it. */
  agent: 'Online' | 'ConnectionLost' | 'Inactive' | undefined;
  /** The IP its agent reports, if any. */
  agentIp: string | undefined;
  cidr: string;
}

interface World {
  nodes: WorldNode[];
  /** Per machine: its instance (or none), a second ENI (or none), and pause tags naming nodes on each ENI. */
  machines: { instance: boolean; second: boolean; pausedFor?: string; secondPausedFor?: string }[];
  /** Which nodes a named teardown asks for. */
  chosen: boolean[];
  /** Sort keys that shuffle each input list. */
  order: number[];
}

const worldNode = (index: number) =>
  fc
    .record({
      machine: fc.integer({ min: 0, max: 13 }),
      // 'gone': nothing is left of the node but the pause tags an earlier teardown put on its ENIs (if any).
      presence: fc.constantFrom('kubernetes', 'cilium', 'both', 'ssm-only', 'gone'),
      agent: fc.constantFrom('Online', 'ConnectionLost', 'Inactive', undefined),
      reports: fc.constantFrom('own', 'own', 'none', 'elsewhere', 'another-machine', 'another-machine'),
      another: fc.integer({ min: 0, max: 5 }),
      // The first ENI's IPv6 address instead of its IPv4 one, as the Node (and the agent) write it.
      ipv6: fc.constantFrom(undefined, undefined, undefined, 'compressed', 'expanded'),
      agentSpelling: fc.constantFrom('same', 'expanded'),
      // Named by hostname: its agent joins it only by computer name, and only when the Node claims the agent's IP.
      hostname: fc.constantFrom(undefined, undefined, 'host', 'ec2-default'),
    })
    .map(({ machine, presence, agent, reports, another, ipv6, agentSpelling, hostname }): WorldNode => {
      const ssmOnly = presence === 'ssm-only';
      const gone = presence === 'gone';
      const v6 = machine < 8 && ipv6 !== undefined ? machineIpv6(machine) : undefined;
      const ip = v6 !== undefined ? (ipv6 === 'expanded' ? expanded(v6) : v6) : machine < 8 ? machineIp(machine) : secondIp(machine - 8);
      const ownReport = v6 !== undefined && agentSpelling === 'expanded' ? expanded(v6) : ip;
      return {
        // A node SSM alone knows is named after its managed instance, whatever.
        name: hostname && !ssmOnly ? `host-${index + 1}` : nodeName(index + 1),
        ...(hostname && !ssmOnly ? { hostname: { agentId: nodeName(0x100 + index + 1), computerName: hostname } } : {}),
        ip,
        inKubernetes: presence === 'kubernetes' || presence === 'both',
        inCilium: presence === 'cilium' || presence === 'both',
        // A node known to SSM only must be listed by it, with an IP.
        agent: gone ? undefined : ssmOnly ? (agent ?? 'ConnectionLost') : agent,
        // 'another-machine': the agent reports some machine's address, perhaps another instance's (data that
        // cannot all be right).
        agentIp: gone
          ? undefined
          : reports === 'own' || (ssmOnly && reports === 'none') ? ownReport : reports === 'elsewhere' ? ELSEWHERE : reports === 'another-machine' ? machineIp(another) : undefined,
        cidr: `10.30.${index + 1}.0/24`,
      };
    });

const world: fc.Arbitrary<World> = fc.integer({ min: 1, max: 8 }).chain((count) =>
  fc.record({
    nodes: fc.tuple(...Array.from({ length: count }, (_, index) => worldNode(index))),
    machines: fc.array(
      fc
        .record({
          // Mostly real instances: the one-instance rules need two of them.
          instance: fc.constantFrom(true, true, true, false),
          second: fc.boolean(),
          paused: fc.option(fc.integer({ min: 1, max: count }), { nil: undefined, freq: 3 }),
          secondPaused: fc.option(fc.integer({ min: 1, max: count }), { nil: undefined, freq: 4 }),
        })
        .map(({ instance, second, paused, secondPaused }) => ({
          instance,
          second,
          ...(paused !== undefined ? { pausedFor: nodeName(paused) } : {}),
          ...(second && secondPaused !== undefined ? { secondPausedFor: nodeName(secondPaused) } : {}),
        })),
      { minLength: MACHINES_WITH_ENI, maxLength: MACHINES_WITH_ENI },
    ),
    chosen: fc.array(fc.boolean(), { minLength: count, maxLength: count }),
    order: fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
  }).map((w) => {
    // A teardown tags a node's ENIs with the node's name: a hostname node's tag is its hostname.
    const nameOf = (tag: string | undefined) => (tag === undefined ? undefined : (w.nodes.find((node) => nodeName(w.nodes.indexOf(node) + 1) === tag)?.name ?? tag));
    const machines = w.machines.map(({ pausedFor, secondPausedFor, ...machine }) => ({
      ...machine,
      ...(pausedFor !== undefined ? { pausedFor: nameOf(pausedFor)! } : {}),
      ...(secondPausedFor !== undefined ? { secondPausedFor: nameOf(secondPausedFor)! } : {}),
    }));
    return { ...w, machines };
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
    .map((node) => ({
      instanceId: node.hostname?.agentId ?? node.name,
      pingStatus: node.agent!,
      ...(node.agentIp ? { ipAddress: node.agentIp } : {}),
      ...(node.hostname ? { computerName: node.hostname.computerName === 'host' ? node.name : `ip-10-20-1-${node.name.slice(5)}.ec2.internal` } : {}),
    }));
  const networkInterface = (id: string, ip: string, instance: string | undefined, pausedFor: string | undefined, ipv6?: string): NetworkInterfaceRecord => ({
    networkInterfaceId: id,
    vpcId: VPC,
    privateIpAddresses: [ip],
    ipv6Addresses: ipv6 ? [ipv6] : [],
    sourceDestCheck: false,
    ...(instance ? { instanceId: instance } : {}),
    ...(pausedFor ? { tags: { [PAUSE_TAG_KEY]: pausedFor } } : {}),
  });
  const networkInterfaces = machines.flatMap((machine, index) => {
    const instance = machine.instance ? instanceId(index) : undefined;
    return [
      networkInterface(propertyEniId(index), machineIp(index), instance, machine.pausedFor, machineIpv6(index)),
      ...(machine.second ? [networkInterface(secondEniId(index), secondIp(index), instance, machine.secondPausedFor)] : []),
    ];
  });
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

// ---- the world's own facts, without the join code ----------------------------------------------------------

/**
 * What the teardown must treat as one machine: an instance's ENIs together, an ENI without an instance on its
 * own. In the order of their first ENI's id (first ENIs 0..5, then second ENIs 10..15).
 */
interface Unit {
  enis: string[];
  ips: string[];
  instance?: number;
  tags: string[];
}

function unitsOf({ machines }: World): Unit[] {
  const units: Unit[] = [];
  const loose: Unit[] = [];
  machines.forEach((machine, index) => {
    const first = { eni: propertyEniId(index), ips: [machineIp(index), machineIpv6(index)], tag: machine.pausedFor };
    const second = machine.second ? { eni: secondEniId(index), ips: [secondIp(index)], tag: machine.secondPausedFor } : undefined;
    const tagsOf = (parts: { tag?: string | undefined }[]) => [...new Set(parts.flatMap((part) => (part.tag ? [part.tag] : [])))].sort();
    if (machine.instance) {
      const parts = second ? [first, second] : [first];
      units.push({ enis: parts.map((part) => part.eni), ips: parts.flatMap((part) => part.ips), instance: index, tags: tagsOf(parts) });
    } else {
      units.push({ enis: [first.eni], ips: first.ips, tags: tagsOf([first]) });
      if (second) loose.push({ enis: [second.eni], ips: second.ips, tags: tagsOf([second]) });
    }
  });
  return [...units, ...loose];
}

/** Whether a node claims an IP: through its Node or CiliumNode, or through its agent's report. */
const claimsIp = (node: WorldNode, ip: string) =>
  ((node.inKubernetes || node.inCilium) && sameIp(node.ip, ip)) || (node.agent !== undefined && node.agentIp !== undefined && sameIp(node.agentIp, ip));

/** The nodes that claim one of a unit's IPs. */
/**
 * The nodes as the teardown must see them. A hostname node's agent is its own only when its computer name is
 * the host and the Node (or CiliumNode) has the agent's IP; otherwise the agent is a node of its own (named
 * after its managed instance, claiming what it reports) and the hostname node has no agent.
 */
function entitiesOf(nodes: WorldNode[]): WorldNode[] {
  return nodes.flatMap((node) => {
    // A node nothing is left of claims nothing (only pause tags may still name it: tagOnlyTargets).
    if (!node.inKubernetes && !node.inCilium && node.agent === undefined) return [];
    if (!node.hostname || node.agent === undefined) return [node];
    const joined = node.hostname.computerName === 'host' && (node.inKubernetes || node.inCilium) && node.agentIp !== undefined && sameIp(node.ip, node.agentIp);
    if (joined) return [node];
    const { agent: _agent, agentIp: _agentIp, ...withoutAgent } = node;
    const agentNode: WorldNode = { name: node.hostname.agentId, ip: node.agentIp ?? ELSEWHERE, inKubernetes: false, inCilium: false, agent: node.agent, agentIp: node.agentIp, cidr: '' };
    return [{ ...withoutAgent, agent: undefined, agentIp: undefined }, agentNode];
  });
}
const entities = (w: World) => entitiesOf(w.nodes);

function claimantsOf(w: World, unit: Unit): WorldNode[] {
  const nodes = entities(w);
  return nodes.filter((node) => unit.ips.some((ip) => claimsIp(node, ip)));
}

/** The node's agent is online on the unit, reporting one of its IPs. */
const onlineThere = (node: WorldNode, unit: Unit) => node.agent === 'Online' && node.agentIp !== undefined && unit.ips.some((ip) => sameIp(ip, node.agentIp!));

const chosenNames = (w: World) => w.nodes.filter((_, index) => w.chosen[index]).map((node) => node.name);

/**
 * The pause tags that say anything in a teardown of `chosen` (anyone with CreateTags could write one): those
 * naming a managed instance (`mi-…`), and in a named teardown those naming a node it names.
 */
const tagsFor = (unit: Unit, chosen: string[] | 'all') => unit.tags.filter((tag) => tag.startsWith('mi-') || (chosen !== 'all' && chosen.includes(tag)));

/** The rule, without the join code: a claimed unit's provable owner. */
function provableOwner(w: World, unit: Unit, chosen: string[] | 'all'): string | undefined {
  const claimants = claimantsOf(w, unit);
  const tagOther = tagsFor(unit, chosen).some((tag) => !claimants.some((node) => node.name === tag));
  if (claimants.length === 1 && !tagOther) return claimants[0]!.name;
  const live = claimants.filter((node) => node.agent === 'Online');
  return live.length === 1 && onlineThere(live[0]!, unit) ? live[0]!.name : undefined;
}

/**
 * Whose each unit is, for a teardown of `chosen` (or of everything), and in which order each node got its
 * units. One node, one instance throughout: (1) claimed units to their provable owners, except that a node
 * that would own several instances gets none of them; (2) unclaimed units with one pause tag to the node it
 * names, on the same terms; (3) units no one provably owns, when every claimant goes, to the first claimant
 * by name that is on no other instance. A unit held back by the instance rule is `unsettled`.
 */
function assignments(w: World, chosen: string[] | 'all'): { owner: (string | undefined)[]; unsettled: boolean[]; linked: Map<string, Unit[]> } {
  const units = unitsOf(w);
  const owner: (string | undefined)[] = units.map(() => undefined);
  const unsettled = units.map(() => false);
  const linked = new Map<string, Unit[]>();
  const instanceOf = (name: string) => (linked.get(name) ?? []).find((unit) => unit.instance !== undefined)?.instance;
  // A node found to own several instances owns none of them, and takes nothing else either.
  const split = new Set<string>();
  const canTake = (name: string, unit: Unit) => !split.has(name) && (unit.instance === undefined || instanceOf(name) === undefined || instanceOf(name) === unit.instance);
  const give = (index: number, name: string) => {
    owner[index] = name;
    linked.set(name, [...(linked.get(name) ?? []), units[index]!]);
  };
  const giveUnlessSplit = (claims: { index: number; name: string }[]) => {
    const instances = (name: string) => new Set(claims.flatMap((claim) => (claim.name === name && units[claim.index]!.instance !== undefined ? [units[claim.index]!.instance] : [])));
    for (const { name } of claims) if (instances(name).size > 1) split.add(name);
    for (const { index, name } of claims) {
      if (instances(name).size > 1 || !canTake(name, units[index]!)) unsettled[index] = true;
      else give(index, name);
    }
  };
  giveUnlessSplit(
    units.flatMap((unit, index) => {
      const name = claimantsOf(w, unit).length > 0 ? provableOwner(w, unit, chosen) : undefined;
      return name ? [{ index, name }] : [];
    }),
  );
  giveUnlessSplit(
    units.flatMap((unit, index) => {
      // An unclaimed unit paused for one node only (by every tag on it, counting here or not).
      const tags = tagsFor(unit, chosen);
      return claimantsOf(w, unit).length === 0 && unit.tags.length === 1 && tags.length === 1 ? [{ index, name: tags[0]! }] : [];
    }),
  );
  units.forEach((unit, index) => {
    const claimants = claimantsOf(w, unit);
    if (claimants.length === 0 || owner[index] !== undefined || unsettled[index]) return;
    if (chosen !== 'all' && !claimants.every((node) => chosen.includes(node.name))) return;
    const taker = claimants.map((node) => node.name).sort().find((name) => canTake(name, unit));
    if (taker) give(index, taker);
    else unsettled[index] = true;
  });
  return { owner, unsettled, linked };
}

/** The claimed IPs of a unit, or all of them when none is claimed. */
function reportedIps(w: World, unit: Unit): string[] {
  const claimed = unit.ips.filter((ip) => entities(w).some((node) => claimsIp(node, ip)));
  return claimed.length > 0 ? claimed : unit.ips;
}

/** What a teardown of `chosen` (or of everything) reports as shared: units it has a stake in that nobody took. */
function sharedOf(w: World, chosen: string[] | 'all'): SharedNodeIp[] {
  const units = unitsOf(w);
  const { owner, unsettled } = assignments(w, chosen);
  return units
    .flatMap((unit, index) => {
      const claimants = claimantsOf(w, unit);
      // Claimed by nobody but paused for several (any values): the tags disagree, and the unit is nobody's.
      const tagsDisagree = claimants.length === 0 && unit.tags.length > 1;
      if (owner[index] !== undefined || (!unsettled[index] && claimants.length === 0 && !tagsDisagree)) return [];
      if (chosen === 'all' && !unsettled[index] && !tagsDisagree) return [];
      const others = tagsFor(unit, chosen).filter((tag) => !claimants.some((node) => node.name === tag));
      const disputants = [...new Set([...claimants.map((node) => node.name), ...others, ...(tagsDisagree ? unit.tags : [])])].sort();
      const asked = chosen === 'all' || disputants.some((name) => chosen.includes(name));
      return asked ? reportedIps(w, unit).map((ip) => ({ ip, nodes: disputants })) : [];
    })
    .concat(
      // A hostname node being torn down that has no agent of its own (nothing says which machine it is) and lost
      // a machine it claims to a node that is not: that machine may be its own after all, so it is reported.
      units.flatMap((unit, index) => {
        const claimants = claimantsOf(w, unit);
        const taker = owner[index];
        if (chosen === 'all' || taker === undefined || chosen.includes(taker) || claimants.length < 2) return [];
        if (!claimants.some((node) => chosen.includes(node.name) && node.hostname !== undefined && node.agent === undefined)) return [];
        const others = tagsFor(unit, chosen).filter((tag) => !claimants.some((node) => node.name === tag));
        const disputants = [...new Set([...claimants.map((node) => node.name), ...others])].sort();
        return reportedIps(w, unit).map((ip) => ({ ip, nodes: disputants }));
      }),
    )
    .sort((a, b) => a.ip.localeCompare(b.ip));
}

/**
 * Nodes nothing is left of but the pause tags naming them, that a teardown of `chosen` still makes targets of:
 * the node an unclaimed unit is paused for (when it is paused for that one only), and in a named teardown a
 * requested node that a unit nobody got is paused for (found, with nothing to take).
 */
function tagOnlyTargets(w: World, chosen: string[] | 'all'): string[] {
  const known = new Set(entities(w).map((node) => node.name));
  const { owner, unsettled } = assignments(w, chosen);
  const names = new Set<string>();
  unitsOf(w).forEach((unit, index) => {
    const claimants = claimantsOf(w, unit);
    const tags = tagsFor(unit, chosen);
    const unknown = tags.filter((tag) => !known.has(tag));
    if (claimants.length === 0 && unit.tags.length === 1 && tags.length === 1) for (const tag of unknown) names.add(tag);
    const nobodys = owner[index] === undefined && (unsettled[index] || claimants.length > 0 || unit.tags.length > 1);
    if (chosen !== 'all' && nobodys) for (const tag of unknown) if (chosen.includes(tag)) names.add(tag);
  });
  return [...names];
}

const linksOf = (targets: NodeTarget[]) =>
  targets.map((target) => ({ name: target.name, enis: [...target.networkInterfaceIds].sort(), instanceId: target.instanceId })).sort((a, b) => a.name.localeCompare(b.name));

/** The unit an ENI belongs to. */
const unitOf = (w: World, eni: string) => unitsOf(w).find((unit) => unit.enis.includes(eni))!;

describe('resolveTargets properties (several nodes on one IP)', () => {
  test('safety: a node torn down never takes a machine another node claims, unless its own agent is the one online there', () => {
    let sawUnchosenClaimant = 0;
    let sawMultiEni = 0;
    let sawTagOnClaimed = 0;
    fc.assert(
      fc.property(world, (w) => {
        const chosen = chosenNames(w);
        const result = resolveTargets({ all: false, nodes: chosen }, inventoryOf(w));
        if (unitsOf(w).some((unit) => claimantsOf(w, unit).length > 0 && tagsFor(unit, chosen).some((tag) => !claimantsOf(w, unit).some((node) => node.name === tag)))) sawTagOnClaimed += 1;
        for (const target of result.nodes) {
          for (const eni of target.networkInterfaceIds) {
            const unit = unitOf(w, eni);
            const others = claimantsOf(w, unit).filter((node) => !chosen.includes(node.name));
            if (others.length === 0) continue;
            sawUnchosenClaimant += 1;
            const own = entities(w).find((node) => node.name === target.name)!;
            expect({ eni, node: target.name, online: onlineThere(own, unit) }).toEqual({ eni, node: target.name, online: true });
            for (const other of others) expect(other.agent === 'Online').toBe(false);
          }
          // One node, one instance: every ENI a node takes is on the instance it records (or on none), and no
          // instance is split between nodes.
          for (const eni of target.networkInterfaceIds) {
            const instance = unitOf(w, eni).instance;
            if (instance !== undefined) expect({ eni, instanceId: target.instanceId }).toEqual({ eni, instanceId: instanceId(instance) });
          }
          if (target.instanceId !== undefined) {
            const holders = result.nodes.filter((other) => other.instanceId === target.instanceId);
            expect(holders.map((other) => other.name)).toEqual([target.name]);
          }
          if (target.networkInterfaceIds.some((eni) => unitOf(w, eni).enis.length > 1)) sawMultiEni += 1;
        }
      }),
      { numRuns: RUNS },
    );
    // The generator does produce machines taken although someone else claims them, machines of several ENIs
    // taken, and pause tags naming someone other than a machine's claimants.
    expect(sawUnchosenClaimant).toBeGreaterThan(0);
    expect(sawMultiEni).toBeGreaterThan(0);
    expect(sawTagOnClaimed).toBeGreaterThan(0);
  });

  test('progress: a machine that only nodes being torn down claim is taken whole by exactly one of them, or reported', () => {
    let sawShared = 0;
    let sawReported = 0;
    fc.assert(
      fc.property(world, (w) => {
        const chosen = chosenNames(w);
        const result = resolveTargets({ all: false, nodes: chosen }, inventoryOf(w));
        for (const unit of unitsOf(w)) {
          const claimants = claimantsOf(w, unit);
          if (claimants.length === 0 || !claimants.every((node) => chosen.includes(node.name))) continue;
          if (claimants.length > 1) sawShared += 1;
          const holders = result.nodes.filter((target) => unit.enis.some((eni) => target.networkInterfaceIds.includes(eni)));
          if (holders.length === 0) {
            // Never dropped silently: every claimed address of it is in the summary.
            sawReported += 1;
            for (const ip of unit.ips.filter((address) => claimants.some((node) => claimsIp(node, address)))) {
              expect(result.sharedIps.map((entry) => entry.ip)).toContain(ip);
            }
            continue;
          }
          expect(holders).toHaveLength(1);
          expect(claimants.map((node) => node.name)).toContain(holders[0]!.name);
          for (const eni of unit.enis) expect(holders[0]!.networkInterfaceIds).toContain(eni);
        }
      }),
      { numRuns: RUNS },
    );
    expect(sawShared).toBeGreaterThan(0);
    expect(sawReported).toBeGreaterThan(0);
  });

  test('the rule, named teardowns: each chosen node gets exactly the machines the rule gives it; disputes it has a stake in are reported', () => {
    let sawDisputed = 0;
    let sawProvenAmongSeveral = 0;
    let sawHostnameJoined = 0;
    let sawAgentApart = 0;
    let sawTagOnlyFound = 0;
    let sawNotFound = 0;
    fc.assert(
      fc.property(world, (w) => {
        const chosen = chosenNames(w);
        const all = entities(w);
        if (all.some((node) => node.hostname && node.agent !== undefined && (assignments(w, chosen).linked.get(node.name) ?? []).length > 0)) sawHostnameJoined += 1;
        if (all.some((node) => w.nodes.some((raw) => raw.hostname?.agentId === node.name))) sawAgentApart += 1;
        const result = resolveTargets({ all: false, nodes: chosen }, inventoryOf(w));
        // A node named that nothing is left of is found only through a pause tag the rule follows.
        const findable = new Set([...entities(w).map((node) => node.name), ...tagOnlyTargets(w, chosen)]);
        expect(result.notFound).toEqual(chosen.filter((name) => !findable.has(name)));
        expect(result.nodes.map((target) => target.name)).toEqual(chosen.filter((name) => findable.has(name)));
        if (chosen.some((name) => findable.has(name) && !entities(w).some((node) => node.name === name))) sawTagOnlyFound += 1;
        if (chosen.some((name) => !findable.has(name))) sawNotFound += 1;
        const { linked } = assignments(w, chosen);
        for (const target of result.nodes) {
          const owned = linked.get(target.name) ?? [];
          expect({ node: target.name, enis: [...target.networkInterfaceIds].sort() }).toEqual({ node: target.name, enis: owned.flatMap((unit) => unit.enis).sort() });
          const instance = owned.find((unit) => unit.instance !== undefined)?.instance;
          expect(target.instanceId).toBe(instance === undefined ? undefined : instanceId(instance));
          if (owned.some((unit) => claimantsOf(w, unit).length > 1)) sawProvenAmongSeveral += 1;
        }
        expect(result.sharedIps).toEqual(sharedOf(w, chosen));
        if (result.sharedIps.length > 0) sawDisputed += 1;

      }),
      { numRuns: Math.max(RUNS, 1000) },
    );
    // The generator does produce both kinds of shared IP (otherwise the property says little).
    expect(sawDisputed).toBeGreaterThan(0);
    expect(sawProvenAmongSeveral).toBeGreaterThan(0);
    // Hostname nodes whose agent joined them and took a machine, and agents that stayed nodes of their own.
    expect(sawHostnameJoined).toBeGreaterThan(0);
    expect(sawAgentApart).toBeGreaterThan(0);
    // Nodes named that only pause tags still name: found through them, or not found.
    expect(sawTagOnlyFound).toBeGreaterThan(0);
    expect(sawNotFound).toBeGreaterThan(0);
  });

  test('the rule, everything: each machine goes with exactly the node the rule names; every node is a target', () => {
    fc.assert(
      fc.property(world, (w) => {
        const result = resolveTargets({ all: true, nodes: [] }, inventoryOf(w));
        expect(result.nodes.map((target) => target.name)).toEqual([...new Set([...entities(w).map((node) => node.name), ...tagOnlyTargets(w, 'all')])].sort());
        expect(result.sharedIps).toEqual(sharedOf(w, 'all'));
        const { owner } = assignments(w, 'all');
        unitsOf(w).forEach((unit, index) => {
          for (const eni of unit.enis) {
            const holders = result.nodes.filter((target) => target.networkInterfaceIds.includes(eni)).map((target) => target.name);
            expect({ eni, holders }).toEqual({ eni, holders: owner[index] === undefined ? [] : [owner[index]] });
          }
        });
      }),
      { numRuns: RUNS },
    );
  });

  test('named by its instance id, a machine resolves to the node whose instance the rule makes it, or to nothing', () => {
    fc.assert(
      fc.property(world, (w) => {
        const inventory = inventoryOf(w);
        const { linked } = assignments(w, []);
        w.machines.forEach((machine, index) => {
          if (!machine.instance) return;
          // The node whose instance this is: the first unit with an instance it was given.
          const owner = [...linked].find(([, units]) => units.find((unit) => unit.instance !== undefined)?.instance === index)?.[0];
          const result = resolveTargets({ all: false, nodes: [instanceId(index)] }, inventory);
          expect(result.nodes.map((target) => target.name)).toEqual(owner === undefined ? [] : [owner]);
          expect(result.notFound).toEqual(owner === undefined ? [instanceId(index)] : []);
        });
      }),
      { numRuns: RUNS },
    );
  });

  test('termination: an instance is marked to terminate exactly when its node\'s own agent is online on it, or the request names it', () => {
    let sawNamedOnly = 0;
    let sawUnproven = 0;
    let sawIpv6SpelledOtherwise = 0;
    fc.assert(
      fc.property(world, (w) => {
        // Named teardowns also name some instance ids (picked by the world's order keys), and "all" names none.
        const namedInstances = w.machines.flatMap((machine, index) => (machine.instance && w.order[index]! % 3 === 0 ? [instanceId(index)] : []));
        for (const request of [{ all: false, nodes: [...chosenNames(w), ...namedInstances] }, { all: true, nodes: [] }]) {
          for (const target of resolveTargets(request, inventoryOf(w)).nodes) {
            if (target.instanceId === undefined) {
              expect(target.instanceProof).toBeUndefined();
              continue;
            }
            const unit = unitsOf(w).find((candidate) => candidate.instance !== undefined && instanceId(candidate.instance) === target.instanceId)!;
            const own = entities(w).find((node) => node.name === target.name);
            const expected = own !== undefined && onlineThere(own, unit) ? 'online-agent' : request.nodes.includes(target.instanceId) ? 'named' : undefined;
            expect({ node: target.name, instanceId: target.instanceId, proof: target.instanceProof }).toEqual({ node: target.name, instanceId: target.instanceId, proof: expected });
            if (expected === 'named') sawNamedOnly += 1;
            if (expected === undefined) sawUnproven += 1;
            if (expected === 'online-agent' && own!.agentIp!.includes(':') && own!.agentIp !== own!.ip) sawIpv6SpelledOtherwise += 1;
          }
        }
      }),
      { numRuns: Math.max(RUNS, 1000) },
    );
    expect(sawNamedOnly).toBeGreaterThan(0);
    expect(sawUnproven).toBeGreaterThan(0);
    // Proof by an agent that writes its IPv6 address otherwise than the Node does (about one world in a hundred,
    // hence the 1000 worlds at least: with 200, none appeared in about one run in eight).
    expect(sawIpv6SpelledOtherwise).toBeGreaterThan(0);
  });

  test('the generator produces nodes whose data points at two instances (rare, so sampled more)', () => {
    // The one-instance rules are only exercised by such worlds; cheap to detect, so 1000 worlds at least.
    let sawSplit = 0;
    fc.assert(
      fc.property(world, (w) => {
        const units = unitsOf(w);
        const provenInstances = (name: string) =>
          new Set(units.filter((unit) => unit.instance !== undefined && claimantsOf(w, unit).length > 0 && provableOwner(w, unit, 'all') === name).map((unit) => unit.instance));
        if (entities(w).some((node) => provenInstances(node.name).size > 1)) sawSplit += 1;
      }),
      { numRuns: Math.max(RUNS, 1000) },
    );
    expect(sawSplit).toBeGreaterThan(0);
  });

  test('the order in which Kubernetes, Cilium, SSM and EC2 list things changes nothing', () => {
    fc.assert(
      fc.property(world, (w) => {
        const plain = inventoryOf(w);
        const mixed = inventoryOf(w, w.order);
        expect(linksOf(resolveTargets({ all: true, nodes: [] }, mixed).nodes)).toEqual(linksOf(resolveTargets({ all: true, nodes: [] }, plain).nodes));
        const chosen = chosenNames(w);
        const a = resolveTargets({ all: false, nodes: chosen }, plain);
        const b = resolveTargets({ all: false, nodes: chosen }, mixed);
        expect(linksOf(b.nodes)).toEqual(linksOf(a.nodes));
        expect(b.sharedIps).toEqual(a.sharedIps);
      }),
      { numRuns: RUNS },
    );
  });
});
