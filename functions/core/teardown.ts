/**
 * The pure half of the ordered teardown: what an operator may ask for, which nodes that names, what
 * draining must still do, when `nodeadm uninstall` counts as finished, which routes belong to the removed
 * nodes, and the summary. No I/O here: the task steps (functions/service/teardown.ts) read and act, these
 * functions decide. The order of the steps is the state machine's (infra/constructs/teardown.ts).
 */
import * as z from 'zod';
import { type ClaimSet, collectClaims } from './claims.js';
import { canonicalIpText, cidrsOverlap, parseCidr, parseIp, sameIpAddress } from './cidr.js';
import { ConfigError } from './errors.js';
import type { RouteAction } from './plan.js';
import type { KubeNodeRecord, ManagedInstanceRecord, PodRecord } from './ports.js';
import { type Scope, inNodeScope } from './scope.js';
import type { CiliumNodeRecord, NetworkInterfaceRecord } from './types.js';
import { fieldPath } from '../shared/field-path.js';
import { MAX_NODES_PER_TEARDOWN, TEARDOWN_EXECUTION_TIMEOUT_SECONDS } from './teardown-steps.js';

/** The Kubernetes label EKS puts on hybrid nodes. */
export const HYBRID_NODE_LABEL = 'eks.amazonaws.com/compute-type';

export const TEARDOWN_DEFAULTS = {
  concurrency: 5,
  drainSeconds: 300,
  uninstallSeconds: 600,
  pollSeconds: 10,
  nodeadmPath: 'nodeadm',
} as const;

const seconds = (field: string, min: number, max: number) =>
  z
    .number({ error: `${field} must be a whole number of seconds` })
    .int(`${field} must be a whole number of seconds`)
    .min(min, `${field} must be at least ${min}`)
    .max(max, `${field} must be at most ${max}`);

const NODE_ID = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const NODE_ID_MESSAGE = 'must be a node name, a managed-instance id (mi-…) or an EC2 instance id (i-…)';

// The path is put into a shell command run as root on the node: nothing but path characters.
// The file must be nodeadm (a versioned name such as nodeadm-1.0 too): this path runs as root on every node, so it
// cannot name some other program (`/bin/sh uninstall …`), even in a step payload written by hand.
const NODEADM_PATH = z
  .string()
  .regex(/^(\/[A-Za-z0-9._-]+)*\/nodeadm[A-Za-z0-9._-]*$|^nodeadm$/, 'must be an absolute path to nodeadm, such as /usr/local/bin/nodeadm');
const TIMEOUTS = {
  drainSeconds: seconds('drainSeconds', 1, 3600),
  uninstallSeconds: seconds('uninstallSeconds', 1, 3600),
  pollSeconds: seconds('pollSeconds', 1, 300),
};
const CONCURRENCY = z.number().int().min(1).max(40);

/** The execution input as the operator writes it (console, CLI, events/teardown-*.json). */
export const TeardownInputSchema = z
  .object({
    clusterName: z.string({ error: 'must name the cluster' }).min(1, 'must name the cluster'),
    // The list's own limits are checked below: inside a union, zod would report them as "neither branch matched".
    nodes: z.union([z.literal('all'), z.array(z.string())], {
      error: 'must be "all" or a list of node names, managed-instance ids (mi-…) or EC2 instance ids (i-…)',
    }),
    terminateInstances: z.boolean().default(false),
    deleteActivations: z.boolean().default(false),
    dryRun: z.boolean().default(false),
    concurrency: CONCURRENCY.default(TEARDOWN_DEFAULTS.concurrency),
    timeouts: z
      .object({
        drainSeconds: TIMEOUTS.drainSeconds.default(TEARDOWN_DEFAULTS.drainSeconds),
        uninstallSeconds: TIMEOUTS.uninstallSeconds.default(TEARDOWN_DEFAULTS.uninstallSeconds),
        pollSeconds: TIMEOUTS.pollSeconds.default(TEARDOWN_DEFAULTS.pollSeconds),
      })
      .strict()
      .default({ drainSeconds: TEARDOWN_DEFAULTS.drainSeconds, uninstallSeconds: TEARDOWN_DEFAULTS.uninstallSeconds, pollSeconds: TEARDOWN_DEFAULTS.pollSeconds }),
    nodeadmPath: NODEADM_PATH.default(TEARDOWN_DEFAULTS.nodeadmPath),
  })
  .strict()
  .superRefine((value, context) => {
    if (value.nodes === 'all') return;
    if (value.nodes.length === 0) context.addIssue({ code: 'custom', path: ['nodes'], message: 'name at least one node, or "all"' });
    if (value.nodes.length > MAX_NODES_PER_TEARDOWN) context.addIssue({ code: 'custom', path: ['nodes'], message: `at most ${MAX_NODES_PER_TEARDOWN} nodes per teardown` });
    value.nodes.forEach((id, index) => {
      if (id.length > 253 || !NODE_ID.test(id)) {
        context.addIssue({ code: 'custom', path: ['nodes', index], message: NODE_ID_MESSAGE });
      }
    });
  });

export type TeardownInput = z.input<typeof TeardownInputSchema>;

/** The validated request every step receives. */
export interface TeardownRequest {
  clusterName: string;
  all: boolean;
  /** The identifiers the operator named (empty for all). */
  nodes: string[];
  terminateInstances: boolean;
  deleteActivations: boolean;
  dryRun: boolean;
  concurrency: number;
  timeouts: { drainSeconds: number; uninstallSeconds: number; pollSeconds: number };
  nodeadmPath: string;
}

export const INSTANCE_PROOFS = ['online-agent', 'named'] as const;
export type InstanceProof = (typeof INSTANCE_PROOFS)[number];

/**
 * The request as every step after the snapshot receives it (the snapshot's output, passed on by the state
 * machine). Checked again in each step, as strictly as the execution input: the task function acts with the
 * teardown's permissions (a shell command as root through Run Command, TerminateInstances), so a payload that did
 * not come from the snapshot, such as a direct invoke, must not widen what a request can do.
 */
export const TeardownRequestSchema = z.object({
  clusterName: z.string().min(1),
  all: z.boolean(),
  nodes: z.array(z.string().max(253).regex(NODE_ID, NODE_ID_MESSAGE)).max(MAX_NODES_PER_TEARDOWN),
  terminateInstances: z.boolean(),
  deleteActivations: z.boolean(),
  dryRun: z.boolean(),
  concurrency: CONCURRENCY,
  timeouts: z.object(TIMEOUTS),
  nodeadmPath: NODEADM_PATH,
});


/** A NodeTarget as the snapshot wrote it: ids in their AWS forms, so none can smuggle anything into a call. */
export const NodeTargetSchema = z.object({
  name: z.string().min(1).max(253).regex(NODE_ID, 'must be a Kubernetes node name'),
  managedInstanceId: z.string().regex(/^mi-[0-9a-f]{17}$/, 'must be a managed-instance id such as mi-0123456789abcdef0').optional(),
  instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/, 'must be an EC2 instance id such as i-0123456789abcdef0').optional(),
  // As the Node reported it: only ever a filter value and compared, so a text no IP parser reads (a zone id)
  // fails nobody's teardown here; it simply matches no ENI.
  ip: z.string().max(100).optional(),
  networkInterfaceIds: z.array(z.string().regex(/^eni-[0-9a-f]{8,17}$/, 'must be an ENI id such as eni-0123456789abcdef0')),
  cidrs: z.array(z.string().refine((text) => parseCidr(text).ok, 'must be a CIDR')),
  instanceProof: z.enum(INSTANCE_PROOFS).optional(),
});

/** A step's request must be for the cluster this teardown is deployed for, as the snapshot checked. */
export function checkStepRequest(request: TeardownRequest, deployedCluster: string): void {
  if (request.clusterName !== deployedCluster) {
    throw new ConfigError('request.clusterName', `this teardown is deployed for cluster ${deployedCluster}, not ${request.clusterName}`);
  }
}

/** Validates the execution input. The error names the offending field; the deployed cluster must be the one named. */
export function parseTeardownRequest(input: unknown, deployedCluster: string): TeardownRequest {
  const parsed = TeardownInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(fieldPath(issue.path, 'input'), issue.message);
  }
  const value = parsed.data;
  if (value.clusterName !== deployedCluster) {
    throw new ConfigError('clusterName', `this teardown is deployed for cluster ${deployedCluster}, not ${value.clusterName}`);
  }
  const nodes = value.nodes === 'all' ? [] : [...new Set(value.nodes)];
  return {
    clusterName: value.clusterName,
    all: value.nodes === 'all',
    nodes,
    terminateInstances: value.terminateInstances,
    deleteActivations: value.deleteActivations,
    dryRun: value.dryRun,
    concurrency: value.concurrency,
    timeouts: value.timeouts,
    nodeadmPath: value.nodeadmPath,
  };
}

/** Time a node's other steps may take besides draining and uninstalling (task retries included), and the end of the run. */
const NODE_STEPS_SECONDS = 300;
const FINAL_STEPS_SECONDS = 900;

/**
 * The targets fit one execution: at most MAX_NODES_PER_TEARDOWN of them, and, if every node used its whole
 * drain and uninstall budget, the run would still end within the execution's time limit. Either failure
 * names the field to change; nothing has been changed yet.
 */
export function checkTeardownFits(request: TeardownRequest, nodeCount: number): void {
  if (nodeCount > MAX_NODES_PER_TEARDOWN) {
    throw new ConfigError('nodes', `${nodeCount} nodes match; one teardown takes at most ${MAX_NODES_PER_TEARDOWN}: name them in batches`);
  }
  const perNode = request.timeouts.drainSeconds + request.timeouts.uninstallSeconds + NODE_STEPS_SECONDS;
  const worstCase = Math.ceil(nodeCount / request.concurrency) * perNode + FINAL_STEPS_SECONDS;
  if (worstCase > TEARDOWN_EXECUTION_TIMEOUT_SECONDS) {
    throw new ConfigError(
      'concurrency',
      `${nodeCount} nodes, ${request.concurrency} at a time, with up to ${perNode} s each could take ${worstCase} s, more than the ` +
        `execution's limit of ${TEARDOWN_EXECUTION_TIMEOUT_SECONDS} s: raise concurrency or lower timeouts.drainSeconds / timeouts.uninstallSeconds`,
    );
  }
}

/** One node to tear down, with everything the per-node steps need (state data: plain JSON). */
export interface NodeTarget {
  /** The Kubernetes Node / CiliumNode name (for hybrid nodes, the managed-instance id). */
  name: string;
  managedInstanceId?: string;
  instanceId?: string;
  ip?: string;
  networkInterfaceIds: string[];
  /** Pod CIDRs the node claimed when the teardown started. */
  cidrs: string[];
  /**
   * What showed, when the teardown started, that `instanceId` is this node's machine; without it the instance
   * is never terminated. `online-agent`: the node's own agent was online and reported one of the instance's
   * addresses. `named`: the request named the instance id.
   */
  instanceProof?: InstanceProof;
}


export interface Inventory {
  kubeNodes: KubeNodeRecord[];
  ciliumNodes: CiliumNodeRecord[];
  managedInstances: ManagedInstanceRecord[];
  /** ENIs in the remote VPC: those carrying node IPs, those of named instances, and those a teardown paused. */
  networkInterfaces: NetworkInterfaceRecord[];
  scope: Scope;
  /** Tag key of paused ENIs (value: node name). */
  pauseTagKey: string;
}

export const MANAGED_INSTANCE_ID = /^mi-[0-9a-f]{17}$/;
const INSTANCE_ID = /^i-[0-9a-f]{8}([0-9a-f]{9})?$/;

/** A CiliumNode's InternalIP addresses (entries without one say nothing). */
export function internalIpsOf(node: CiliumNodeRecord): string[] {
  return node.addresses.filter((address) => address.type === 'InternalIP' && address.ip !== '').map((address) => address.ip);
}

function inNodeNetworks(scope: Scope, ip: string | undefined): boolean {
  if (!ip) return false;
  const parsed = parseIp(ip);
  return parsed.ok && inNodeScope(scope, parsed.value);
}

/** A node IP that several nodes claim, whose ENI (and instance) could not be shown to belong to one of them. */
export interface SharedNodeIp {
  ip: string;
  nodes: string[];
}

/**
 * Which nodes the request names, joined across Kubernetes, Cilium, SSM and EC2 by name and IP. For `all`:
 * every hybrid Node, every CiliumNode in the remote node networks, every managed instance of the cluster's
 * activations and every ENI an earlier teardown paused. A name that matches nothing is `notFound` (a node
 * torn down by an earlier run), which is what makes a re-run safe.
 *
 * A machine (an instance with all its ENIs; an ENI without an instance alone) joins the node it can be shown to
 * be. Two nodes claim one address when a Node and its CiliumNode outlive their machine and the address comes
 * back under a new name (an instance re-activated, or a new instance given a freed address); tearing down the
 * stale one must not touch the live one's machine (its routes, source/dest check, instance) or agent. The
 * owner is the sole claimant of the machine's addresses, unless a pause tag names another node; else the one
 * claimant whose agent is online, when it reports one of those addresses. One node, one instance: a node whose
 * data points at two owns neither. Without a provable owner the machine goes to nobody in a named teardown
 * unless every claimant is named, and to the first claimant by name (on no other instance) when everything
 * goes; whatever is left alone that the request has a stake in is listed in `sharedIps`. Owning a machine is
 * not enough to have its instance terminated: that takes `instanceProof` (see proveInstances).
 */
export function resolveTargets(
  request: Pick<TeardownRequest, 'all' | 'nodes'>,
  inventory: Inventory,
): { nodes: NodeTarget[]; notFound: string[]; sharedIps: SharedNodeIp[] } {
  const claims: ClaimSet = collectClaims(inventory.ciliumNodes, inventory.scope);
  // A pause tag makes a claim only when it names a hybrid node (`mi-…`), or a node the request names (a Node
  // named by hostname, which an earlier teardown paused before its objects went): its value is data anyone with
  // CreateTags could write, and must not lead the teardown to some other node.
  const tagCounts = (tag: string) => MANAGED_INSTANCE_ID.test(tag) || (!request.all && !INSTANCE_ID.test(tag) && request.nodes.includes(tag));
  const cidrsOf = new Map(claims.nodes.map((claim) => [claim.node, claim.cidrs.map((cidr) => cidr.text)]));
  const byName = new Map<string, NodeTarget>();
  const target = (name: string): NodeTarget => {
    let entry = byName.get(name);
    if (!entry) {
      entry = { name, networkInterfaceIds: [], cidrs: cidrsOf.get(name) ?? [] };
      byName.set(name, entry);
    }
    return entry;
  };

  // Every node claiming each address (by its canonical form: IPv6 has several spellings), first seen first.
  const claimants = new Map<string, NodeTarget[]>();
  const claim = (ip: string, entry: NodeTarget) => {
    const list = claimants.get(canonicalIpText(ip)) ?? [];
    if (!list.includes(entry)) list.push(entry);
    claimants.set(canonicalIpText(ip), list);
  };
  const claimantsOf = (ip: string) => claimants.get(canonicalIpText(ip)) ?? [];
  const isClaimed = (ip: string) => claimants.has(canonicalIpText(ip));
  // Everything known, keyed by node name; IPs link the EC2 side to the Kubernetes side. A node claims every
  // address of its Node and CiliumNode inside the node networks (the reconciler routes to the CiliumNode's).
  for (const node of inventory.kubeNodes) {
    const ip = node.internalIPs[0];
    if (node.labels[HYBRID_NODE_LABEL] !== 'hybrid' && !inNodeNetworks(inventory.scope, ip)) continue;
    const entry = target(node.name);
    entry.ip ??= ip;
    for (const address of node.internalIPs) if (address === ip || inNodeNetworks(inventory.scope, address)) claim(address, entry);
  }
  for (const node of inventory.ciliumNodes) {
    const ips = internalIpsOf(node).filter((ip) => inNodeNetworks(inventory.scope, ip));
    if (ips.length === 0) continue;
    const entry = target(node.name);
    entry.ip ??= ips[0];
    for (const address of ips) claim(address, entry);
  }
  const online = (mi: ManagedInstanceRecord) => mi.pingStatus === 'Online';
  // Online instances first, so which one joins a node does not depend on the order SSM listed them in.
  const managedInstances = [...inventory.managedInstances].sort(
    (a, b) => Number(online(b)) - Number(online(a)) || a.instanceId.localeCompare(b.instanceId),
  );
  const agentsById = new Map(managedInstances.map((mi) => [mi.instanceId, mi]));
  const agentOf = (entry: NodeTarget) => (entry.managedInstanceId === undefined ? undefined : agentsById.get(entry.managedInstanceId));
  for (const mi of managedInstances) {
    // A managed instance named after no node joins a node claiming its IP only when that is a Node named by
    // hostname (a node named `mi-…` is that managed instance) after the instance's computer name, the only such
    // Node, with no managed instance yet; otherwise it is a node of its own. An IP alone is no proof: a stale
    // Node's address may now be another machine's, and joining would uninstall and deregister that agent.
    const sameHostNodes = (mi.ipAddress === undefined ? [] : claimantsOf(mi.ipAddress)).filter(
      (entry) => !MANAGED_INSTANCE_ID.test(entry.name) && sameHost(mi.computerName, entry.name),
    );
    const hosts = sameHostNodes.filter((entry) => entry.managedInstanceId === undefined);
    const named = byName.get(mi.instanceId);
    const entry = named ?? (hosts.length === 1 ? hosts[0] : undefined) ?? target(mi.instanceId);
    entry.managedInstanceId = mi.instanceId;
    // A second registration of a host that already has its agent on the same address (a machine registered
    // again without the old one being removed) is no other node on that machine: it does not dispute the
    // address. Two agents of one name on different addresses are two machines, and both count.
    const hostAgent = sameHostNodes.length === 1 ? agentOf(sameHostNodes[0]!) : undefined;
    const duplicate =
      !named &&
      entry !== hosts[0] &&
      hostAgent !== undefined &&
      hostAgent.instanceId !== mi.instanceId &&
      hostAgent.ipAddress !== undefined &&
      mi.ipAddress !== undefined &&
      sameIpAddress(hostAgent.ipAddress, mi.ipAddress);
    if (mi.ipAddress) {
      entry.ip ??= mi.ipAddress;
      if (!duplicate) claim(mi.ipAddress, entry);
    }
  }
  const isNamed = (entry: NodeTarget, name: string) => entry.name === name || entry.managedInstanceId === name;
  /** The node a pause tag names: by name or by its managed instance; else a node of that name. */
  const entryNamed = (name: string) => [...byName.values()].find((entry) => isNamed(entry, name)) ?? target(name);

  // Machines: an instance's ENIs together (one machine is one node's), an ENI without an instance on its own.
  // In ENI id order, so nothing depends on the order EC2 listed them in.
  const byMachine = new Map<string, NetworkInterfaceRecord[]>();
  for (const eni of [...inventory.networkInterfaces].sort((a, b) => a.networkInterfaceId.localeCompare(b.networkInterfaceId))) {
    const key = eni.instanceId ?? eni.networkInterfaceId;
    byMachine.set(key, [...(byMachine.get(key) ?? []), eni]);
  }
  interface Machine {
    enis: NetworkInterfaceRecord[];
    ips: string[];
    instanceId?: string;
    /** The nodes claiming any of its IPs. */
    contenders: NodeTarget[];
    /** Nodes its pause tags name that are not among the contenders (tags naming `mi-…` ids or requested names only). */
    pausedForOthers: string[];
    /** Every value its ENIs' pause tags have, counting or not: several on a machine no node claims disagree. */
    tagValues: string[];
    owner?: NodeTarget;
    /** Its owner would have been a node whose data points at several instances, or one already on another. */
    unsettled?: true;
  }
  const machines: Machine[] = [...byMachine.values()].map((enis) => {
    const ips = enis.flatMap((eni) => [...eni.privateIpAddresses, ...eni.ipv6Addresses]);
    const contenders = [...new Set(ips.flatMap(claimantsOf))];
    const tagValues = [...new Set(enis.map((eni) => eni.tags?.[inventory.pauseTagKey]).filter((tag): tag is string => tag !== undefined && tag !== ''))].sort();
    const instanceId = enis[0]!.instanceId;
    return {
      enis,
      ips,
      ...(instanceId ? { instanceId } : {}),
      contenders,
      pausedForOthers: tagValues.filter((tag) => tagCounts(tag) && !contenders.some((entry) => isNamed(entry, tag))),
      tagValues,
    };
  });
  /**
   * Nodes whose data, in one pass, points at several instances: they get none of those, and take nothing after
   * (a machine their IP claims proved in an earlier pass stays theirs).
   */
  const split = new Set<NodeTarget>();
  /** One node, one machine: a node already on another instance cannot take this one. */
  const canTake = (entry: NodeTarget, machine: Machine) =>
    !split.has(entry) && (machine.instanceId === undefined || entry.instanceId === undefined || entry.instanceId === machine.instanceId);
  const take = (entry: NodeTarget, machine: Machine) => {
    machine.owner = entry;
    for (const eni of machine.enis) {
      if (!entry.networkInterfaceIds.includes(eni.networkInterfaceId)) entry.networkInterfaceIds.push(eni.networkInterfaceId);
      entry.ip ??= eni.privateIpAddresses[0];
    }
    if (machine.instanceId) entry.instanceId ??= machine.instanceId;
  };
  /** Owners found for machines: a node that would get several instances (its data cannot all be right) gets none. */
  const takeUnlessSplit = (claims: { owner: NodeTarget; machine: Machine }[]) => {
    const instances = new Map<NodeTarget, Set<string>>();
    for (const { owner, machine } of claims) if (machine.instanceId) instances.set(owner, (instances.get(owner) ?? new Set()).add(machine.instanceId));
    for (const [owner, ids] of instances) if (ids.size > 1) split.add(owner);
    for (const { owner, machine } of claims) {
      if ((instances.get(owner)?.size ?? 0) > 1 || !canTake(owner, machine)) machine.unsettled = true;
      else take(owner, machine);
    }
  };

  /** The node's own agent is online and reports one of the machine's addresses. */
  const onlineOn = (entry: NodeTarget, machine: Machine) => {
    const agent = agentOf(entry);
    const reported = agent?.pingStatus === 'Online' ? agent.ipAddress : undefined;
    return reported !== undefined && machine.ips.some((ip) => sameIpAddress(ip, reported));
  };
  /**
   * Whose a machine is, among the nodes claiming its IPs: a sole claimant, unless a pause tag names another node
   * (an earlier teardown of that one paused it); else the one claimant whose agent is online, and only when it
   * reports one of the machine's IPs (an agent online elsewhere says nothing about this machine).
   */
  const ownerOf = (machine: Machine): NodeTarget | undefined => {
    const { contenders, pausedForOthers } = machine;
    if (contenders.length === 1 && pausedForOthers.length === 0) return contenders[0];
    const live = contenders.filter((entry) => agentOf(entry)?.pingStatus === 'Online');
    return live.length === 1 && onlineOn(live[0]!, machine) ? live[0] : undefined;
  };
  takeUnlessSplit(
    machines.flatMap((machine) => {
      const owner = machine.contenders.length > 0 ? ownerOf(machine) : undefined;
      return owner ? [{ owner, machine }] : [];
    }),
  );
  // A machine no node claims, paused for a node: an earlier teardown's record of whose it was (a re-run after
  // the node's objects are gone). Not when several tags disagree, nor for a node on another instance.
  takeUnlessSplit(
    machines.flatMap((machine) => {
      if (machine.contenders.length > 0 || machine.tagValues.length !== 1 || machine.pausedForOthers.length !== 1) return [];
      const tag = machine.pausedForOthers[0]!;
      return [{ owner: entryNamed(tag), machine }];
    }),
  );
  for (const entry of byName.values()) if (MANAGED_INSTANCE_ID.test(entry.name)) entry.managedInstanceId ??= entry.name;
  const byNameOrder = (entries: NodeTarget[]) => [...entries].sort((a, b) => a.name.localeCompare(b.name));
  /** Claimed, and neither provably owned nor left over from an owner with inconsistent data. */
  const contested = machines.filter((machine) => machine.contenders.length > 0 && machine.owner === undefined && !machine.unsettled);
  /**
   * Claimed by no node, and paused for several (whatever the values, and whether or not they count here, so
   * that what a request names does not decide it): the tags disagree on whose it is, so it is nobody's.
   */
  const tagsDisagree = (machine: Machine) => machine.contenders.length === 0 && machine.tagValues.length > 1;
  const sharedIps: SharedNodeIp[] = [];
  const report = (machine: Machine, disputants: string[]) => {
    const claimed = machine.ips.filter(isClaimed);
    for (const ip of claimed.length > 0 ? claimed : machine.ips) {
      if (!sharedIps.some((entry) => entry.ip === ip)) sharedIps.push({ ip, nodes: disputants });
    }
  };
  const disputantsOf = (machine: Machine) =>
    [...new Set([...machine.contenders.map((entry) => entry.name), ...machine.pausedForOthers, ...(tagsDisagree(machine) ? machine.tagValues : [])])].sort();
  /** Every node claiming the machine goes: the first of them by name that is on no other instance takes it. */
  const settleAmong = (machine: Machine) => {
    const taker = byNameOrder(machine.contenders).find((entry) => canTake(entry, machine));
    if (taker) take(taker, machine);
    else machine.unsettled = true;
  };
  const sortedShared = () => sharedIps.sort((a, b) => a.ip.localeCompare(b.ip));
  /**
   * Terminating is the one step nothing undoes, and an address alone does not show whose an instance is: a
   * stale node's address may have gone to an instance that is no node at all (its sole claimant is then the
   * stale node). So an instance is marked for termination only by evidence from when the teardown started: the
   * owner's own agent online and reporting one of the instance's addresses, or the operator naming the instance.
   * An earlier run's proof is deliberately not carried over in a tag (a re-run after the agent was uninstalled
   * needs the instance named): a tag is data anyone with CreateTags could write, and would then suffice to have
   * any instance in the remote VPC terminated.
   */
  const proveInstances = (namedIds: readonly string[]) => {
    for (const machine of machines) {
      const { owner, instanceId } = machine;
      if (!owner || !instanceId || owner.instanceId !== instanceId) continue;
      if (onlineOn(owner, machine)) owner.instanceProof = 'online-agent';
      else if (namedIds.includes(instanceId)) owner.instanceProof = 'named';
    }
  };

  if (request.all) {
    for (const machine of contested) settleAmong(machine);
    // What even tearing everything down cannot settle is left alone, and said.
    for (const machine of machines) if (machine.unsettled || tagsDisagree(machine)) report(machine, disputantsOf(machine));
    proveInstances([]);
    return { nodes: byNameOrder([...byName.values()]), notFound: [], sharedIps: sortedShared() };
  }

  const matches = (entry: NodeTarget, id: string) => isNamed(entry, id) || (INSTANCE_ID.test(id) && entry.instanceId === id);
  const chosen = new Map<string, NodeTarget>();
  for (const id of request.nodes) {
    const match = [...byName.values()].find((entry) => matches(entry, id));
    if (match) chosen.set(match.name, match);
  }
  for (const machine of contested) if (machine.contenders.every((entry) => chosen.has(entry.name))) settleAmong(machine);
  for (const machine of machines) {
    if (machine.owner !== undefined || (!machine.unsettled && machine.contenders.length === 0 && !tagsDisagree(machine))) continue;
    const disputants = disputantsOf(machine);
    const asked = request.nodes.some((id) => disputants.includes(id) || (machine.instanceId !== undefined && id === machine.instanceId));
    // A stake: the request names a disputant, or a node it chose is one (by name or by its managed instance).
    if (!asked && !disputants.some((name) => [...chosen.values()].some((entry) => isNamed(entry, name)))) continue;
    // A node paused for and named by the request, with nothing else left of it, is found (with nothing to take).
    for (const pausedFor of machine.pausedForOthers) {
      if (!request.nodes.includes(pausedFor) || chosen.has(pausedFor)) continue;
      const found = entryNamed(pausedFor);
      if (MANAGED_INSTANCE_ID.test(pausedFor)) found.managedInstanceId ??= pausedFor;
      chosen.set(found.name, found);
    }
    report(machine, disputants);
  }
  // A chosen node with no SSM identity at all (named by hostname, no agent joined to it) that lost a machine it
  // claims to a node not being torn down may be that machine's after all: say so rather than report it removed.
  for (const machine of machines) {
    const { owner, contenders } = machine;
    if (!owner || chosen.has(owner.name) || contenders.length < 2) continue;
    const unknown = contenders.filter((entry) => chosen.has(entry.name) && entry.managedInstanceId === undefined);
    if (unknown.length > 0) report(machine, disputantsOf(machine));
  }
  proveInstances(request.nodes);
  // In the request's order, as named.
  const nodes = new Map<string, NodeTarget>();
  const notFound: string[] = [];
  for (const id of request.nodes) {
    const match = [...chosen.values()].find((entry) => matches(entry, id));
    if (match) nodes.set(match.name, match);
    else notFound.push(id);
  }
  return { nodes: [...nodes.values()], notFound, sharedIps: sortedShared() };
}

/**
 * A managed instance's computer name and a Node name that are the same host: equal (case-insensitive), or one a
 * short name and the other a fully qualified name starting with it. EC2's default names (`ip-10-20-1-11…`) are
 * made of the address, so on a new machine with the same address they say nothing; nor does a shared prefix of
 * names holding a dotted address.
 */
export function sameHost(computerName: string | undefined, nodeName: string): boolean {
  if (!computerName) return false;
  const [a, b] = [computerName.toLowerCase(), nodeName.toLowerCase()];
  const fromAddress = /^ip-\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}(\.|$)/;
  if (fromAddress.test(a) || fromAddress.test(b)) return false;
  if (a === b) return true;
  // A name with a dotted address in it (hybrid-10.20.1.11) is not a host in a domain.
  if (/\d\.\d/.test(a) || /\d\.\d/.test(b)) return false;
  if (!a.includes('.')) return b.split('.')[0] === a;
  if (!b.includes('.')) return a.split('.')[0] === b;
  return false;
}

/** Pods that draining must still remove: not DaemonSet-owned, not a static pod's mirror, not finished. */
export function podsToDrain(pods: PodRecord[]): { evict: PodRecord[]; terminating: PodRecord[]; left: PodRecord[] } {
  const mustGo = pods.filter((pod) => !pod.ownerKinds.includes('DaemonSet') && !pod.mirror && pod.phase !== 'Succeeded' && pod.phase !== 'Failed');
  return {
    evict: mustGo.filter((pod) => !pod.terminating),
    terminating: mustGo.filter((pod) => pod.terminating),
    left: pods.filter((pod) => !mustGo.includes(pod)),
  };
}

/** An agent SSM last saw other than Online (ConnectionLost, Inactive); no status at all is not taken as offline. */
export function agentOffline(managedInstance: ManagedInstanceRecord): boolean {
  return managedInstance.pingStatus !== undefined && managedInstance.pingStatus !== 'Online';
}

export type UninstallOutcome =
  | 'succeeded'
  | 'deregistered'
  | 'agent-offline'
  | 'timed-out'
  | 'not-registered'
  | 'in-progress'
  | 'would-run'
  | 'failed';

/**
 * When `nodeadm uninstall` counts as finished. It deregisters the managed instance and removes the SSM agent
 * running it, so the invocation may never report back: an instance that is no longer registered, or whose
 * agent went offline, means it did its work; past the deadline the teardown goes on and deregisters the
 * instance itself. A command that reports failure (nodeadm refused) stops this node.
 */
export function uninstallProgress(input: {
  invocationStatus?: string;
  managedInstance?: ManagedInstanceRecord;
  deadline: number;
  now: number;
}): { done: boolean; outcome: UninstallOutcome } {
  const status = input.invocationStatus;
  if (status === 'Success') return { done: true, outcome: 'succeeded' };
  // TimedOut: nodeadm outlived its execution timeout (the uninstall budget); like our own deadline, the
  // teardown goes on and deregisters the instance itself. Failed or Cancelled: nodeadm refused, or a person stopped it.
  if (status === 'TimedOut') return { done: true, outcome: 'timed-out' };
  if (status === 'Failed' || status === 'Cancelled') return { done: false, outcome: 'failed' };
  if (!input.managedInstance) return { done: true, outcome: 'deregistered' };
  if (agentOffline(input.managedInstance)) return { done: true, outcome: 'agent-offline' };
  if (input.now >= input.deadline) return { done: true, outcome: 'timed-out' };
  return { done: false, outcome: 'in-progress' };
}

/**
 * Of the planner's deletions, the ones that belong to the removed nodes: a route to one of their ENIs, or to
 * a CIDR one of them claimed. Tearing down everything takes every deletion the planner proposes (the planner
 * has already limited them to managed routes in scope).
 */
export function routesOfRemovedNodes<T extends Pick<RouteAction, 'destination' | 'previousTarget'>>(deletions: T[], removed: NodeTarget[], all: boolean): T[] {
  if (all) return deletions;
  const enis = new Set(removed.flatMap((node) => node.networkInterfaceIds));
  const cidrs = removed.flatMap((node) => node.cidrs.flatMap((text) => {
    const parsed = parseCidr(text);
    return parsed.ok ? [parsed.value] : [];
  }));
  return deletions.filter((deletion) => {
    if (deletion.previousTarget !== undefined && enis.has(deletion.previousTarget)) return true;
    const parsed = parseCidr(deletion.destination);
    return parsed.ok && cidrs.some((cidr) => cidrsOverlap(cidr, parsed.value));
  });
}

/** A node step's result as the Map state returns it. */
export interface NodeResult {
  node: string;
  status: 'done' | 'failed';
  error?: string;
  cause?: string;
  [step: string]: unknown;
}

/** The Map's result, or the error object a Catch put in its place. */
export function nodeResultsOf(value: unknown): NodeResult[] {
  return Array.isArray(value) ? (value as NodeResult[]) : [];
}

/** A Catch's `{Error, Cause}`, when a step slot holds one instead of a result. */
export function stepError(value: unknown): { error: string; cause: string } | undefined {
  if (typeof value !== 'object' || value === null || !('Error' in value)) return undefined;
  const { Error: error, Cause: cause } = value as { Error?: unknown; Cause?: unknown };
  return { error: String(error), cause: typeof cause === 'string' ? cause : '' };
}
