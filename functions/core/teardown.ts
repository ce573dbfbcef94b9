/**
 * The pure half of the ordered teardown: what an operator may ask for, which nodes that names, what
 * draining must still do, when `nodeadm uninstall` counts as finished, which routes belong to the removed
 * nodes, and the summary. No I/O here: the task steps (functions/service/teardown.ts) read and act, these
 * functions decide. The order of the steps is the state machine's (infra/constructs/teardown.ts).
 */
import * as z from 'zod';
import { type ClaimSet, collectClaims } from './claims.js';
import { cidrsOverlap, parseCidr, parseIp } from './cidr.js';
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
    concurrency: z.number().int().min(1).max(40).default(TEARDOWN_DEFAULTS.concurrency),
    timeouts: z
      .object({
        drainSeconds: seconds('drainSeconds', 1, 3600).default(TEARDOWN_DEFAULTS.drainSeconds),
        uninstallSeconds: seconds('uninstallSeconds', 1, 3600).default(TEARDOWN_DEFAULTS.uninstallSeconds),
        pollSeconds: seconds('pollSeconds', 1, 300).default(TEARDOWN_DEFAULTS.pollSeconds),
      })
      .strict()
      .default({ drainSeconds: TEARDOWN_DEFAULTS.drainSeconds, uninstallSeconds: TEARDOWN_DEFAULTS.uninstallSeconds, pollSeconds: TEARDOWN_DEFAULTS.pollSeconds }),
    nodeadmPath: z
      .string()
      .regex(/^(\/[A-Za-z0-9._-]+)+$|^nodeadm$/, 'must be an absolute path such as /usr/local/bin/nodeadm')
      .default(TEARDOWN_DEFAULTS.nodeadmPath),
  })
  .strict()
  .superRefine((value, context) => {
    if (value.nodes === 'all') return;
    if (value.nodes.length === 0) context.addIssue({ code: 'custom', path: ['nodes'], message: 'name at least one node, or "all"' });
    if (value.nodes.length > MAX_NODES_PER_TEARDOWN) context.addIssue({ code: 'custom', path: ['nodes'], message: `at most ${MAX_NODES_PER_TEARDOWN} nodes per teardown` });
    value.nodes.forEach((id, index) => {
      if (id.length > 253 || !NODE_ID.test(id)) {
        context.addIssue({ code: 'custom', path: ['nodes', index], message: 'must be a node name, a managed-instance id (mi-…) or an EC2 instance id (i-…)' });
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

const MANAGED_INSTANCE_ID = /^mi-[0-9a-f]{17}$/;
const INSTANCE_ID = /^i-[0-9a-f]{8}([0-9a-f]{9})?$/;

function internalIp(node: CiliumNodeRecord): string | undefined {
  return node.addresses.find((address) => address.type === 'InternalIP' && address.ip !== '')?.ip;
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
 * An ENI (and its instance) joins the node whose machine it provably is. Two nodes claim one IP when a Node and
 * its CiliumNode outlive their machine and the IP comes back under a new name (an instance re-activated, or a
 * new instance given a freed address); tearing down the stale one must not touch the live one's machine (its
 * routes, its source/dest check, its instance). The owner is the sole claimant of the ENI's IPs, unless a pause
 * tag names another node; else the one claimant whose agent is online, when it reports one of the ENI's IPs.
 * With no provable owner the ENI joins nobody in a named teardown (`sharedIps` says so) unless every claimant is
 * named; when everything is torn down it goes with the first claimant by name.
 */
export function resolveTargets(
  request: Pick<TeardownRequest, 'all' | 'nodes'>,
  inventory: Inventory,
): { nodes: NodeTarget[]; notFound: string[]; sharedIps: SharedNodeIp[] } {
  const claims: ClaimSet = collectClaims(inventory.ciliumNodes, inventory.scope);
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

  // Everything known, keyed by node name; IPs link the EC2 side to the Kubernetes side.
  for (const node of inventory.kubeNodes) {
    const ip = node.internalIPs[0];
    if (node.labels[HYBRID_NODE_LABEL] !== 'hybrid' && !inNodeNetworks(inventory.scope, ip)) continue;
    const entry = target(node.name);
    entry.ip ??= ip;
  }
  for (const node of inventory.ciliumNodes) {
    const ip = internalIp(node);
    if (!inNodeNetworks(inventory.scope, ip)) continue;
    target(node.name).ip ??= ip;
  }
  // Every node claiming each IP, in the order they were first seen.
  const claimants = new Map<string, NodeTarget[]>();
  const claim = (ip: string, entry: NodeTarget) => {
    const list = claimants.get(ip) ?? [];
    if (!list.includes(entry)) list.push(entry);
    claimants.set(ip, list);
  };
  const soleClaimant = (ip: string | undefined) => {
    const list = ip === undefined ? undefined : claimants.get(ip);
    return list?.length === 1 ? list[0] : undefined;
  };
  for (const entry of byName.values()) if (entry.ip) claim(entry.ip, entry);
  const online = (mi: ManagedInstanceRecord) => mi.pingStatus === 'Online';
  // Online instances first, so which one joins a node by IP does not depend on the order SSM listed them in.
  const managedInstances = [...inventory.managedInstances].sort(
    (a, b) => Number(online(b)) - Number(online(a)) || a.instanceId.localeCompare(b.instanceId),
  );
  for (const mi of managedInstances) {
    // A managed instance named after no node joins the node of its IP when that is a Node named by hostname
    // (a node named `mi-…` is that managed instance), the IP is that node's alone, and the node has no managed
    // instance yet; otherwise it is a node of its own.
    const sole = soleClaimant(mi.ipAddress);
    const joinsByIp = sole !== undefined && sole.managedInstanceId === undefined && !MANAGED_INSTANCE_ID.test(sole.name);
    const entry = byName.get(mi.instanceId) ?? (joinsByIp ? sole : undefined) ?? target(mi.instanceId);
    entry.managedInstanceId = mi.instanceId;
    if (mi.ipAddress) {
      entry.ip ??= mi.ipAddress;
      claim(mi.ipAddress, entry);
    }
  }
  const agentOf = (entry: NodeTarget) => managedInstances.find((mi) => mi.instanceId === entry.managedInstanceId);
  const link = (entry: NodeTarget, eni: NetworkInterfaceRecord) => {
    if (!entry.networkInterfaceIds.includes(eni.networkInterfaceId)) entry.networkInterfaceIds.push(eni.networkInterfaceId);
    if (eni.instanceId) entry.instanceId ??= eni.instanceId;
    entry.ip ??= eni.privateIpAddresses[0];
  };
  /**
   * Whose machine an ENI is, among the nodes claiming its IPs. A sole claimant, unless a pause tag names another
   * node (an earlier teardown of that one paused it). Otherwise the one claimant whose agent is online, and only
   * when it reports one of the ENI's IPs (an agent online elsewhere says nothing about this machine).
   */
  const ownerAmong = (contenders: NodeTarget[], eni: NetworkInterfaceRecord, pausedForOther: boolean): NodeTarget | undefined => {
    if (contenders.length === 1 && !pausedForOther) return contenders[0];
    const live = contenders.filter((entry) => agentOf(entry)?.pingStatus === 'Online');
    const reported = live.length === 1 ? agentOf(live[0]!)?.ipAddress : undefined;
    return reported !== undefined && eni.privateIpAddresses.includes(reported) ? live[0] : undefined;
  };
  /** ENIs whose IPs are claimed but whose owner could not be shown: settled once the request's nodes are known. */
  const contested: { eni: NetworkInterfaceRecord; claimants: NodeTarget[]; pausedFor?: string }[] = [];
  /** ENIs no node claims, paused for a node: an earlier teardown's record of whose they were. */
  const pausedOnly: { eni: NetworkInterfaceRecord; pausedFor: string }[] = [];
  // In id order, so which instance a node ends up with does not depend on the order EC2 listed them in.
  const interfaces = [...inventory.networkInterfaces].sort((a, b) => a.networkInterfaceId.localeCompare(b.networkInterfaceId));
  for (const eni of interfaces) {
    const tag = eni.tags?.[inventory.pauseTagKey];
    // A tag alone makes a target only when it names a hybrid node (`mi-…`): its value is data anyone with
    // CreateTags could write, and must not lead the teardown to some other node.
    const pausedFor = tag !== undefined && MANAGED_INSTANCE_ID.test(tag) ? tag : undefined;
    const contenders = [...new Set(eni.privateIpAddresses.flatMap((ip) => claimants.get(ip) ?? []))];
    if (contenders.length === 0) {
      if (pausedFor !== undefined) pausedOnly.push({ eni, pausedFor });
      continue;
    }
    const pausedForOther = pausedFor !== undefined && !contenders.some((entry) => entry.name === pausedFor);
    const owner = ownerAmong(contenders, eni, pausedForOther);
    if (owner) link(owner, eni);
    else contested.push({ eni, claimants: contenders, ...(pausedForOther ? { pausedFor } : {}) });
  }
  for (const { eni, pausedFor } of pausedOnly) {
    // One node, one machine: a tag naming a node that is on another instance says nothing about this one.
    const entry = target(pausedFor);
    if (entry.instanceId === undefined || eni.instanceId === undefined || eni.instanceId === entry.instanceId) link(entry, eni);
  }
  for (const entry of byName.values()) if (MANAGED_INSTANCE_ID.test(entry.name)) entry.managedInstanceId ??= entry.name;
  const firstByName = (entries: NodeTarget[]) => [...entries].sort((a, b) => a.name.localeCompare(b.name))[0]!;

  if (request.all) {
    // Every claimant goes, so the machine goes with one of them.
    for (const { eni, claimants: names } of contested) link(firstByName(names), eni);
    return { nodes: [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)), notFound: [], sharedIps: [] };
  }

  const matches = (entry: NodeTarget, id: string) => entry.name === id || entry.managedInstanceId === id || (INSTANCE_ID.test(id) && entry.instanceId === id);
  const chosen = new Map<string, NodeTarget>();
  for (const id of request.nodes) {
    const match = [...byName.values()].find((entry) => matches(entry, id));
    if (match) chosen.set(match.name, match);
  }
  const sharedIps: SharedNodeIp[] = [];
  for (const { eni, claimants: names, pausedFor } of contested) {
    if (names.every((entry) => chosen.has(entry.name))) {
      // Every node claiming the machine is being torn down: it goes with one of them.
      link(firstByName(names), eni);
      continue;
    }
    const disputants = [...names.map((entry) => entry.name), ...(pausedFor ? [pausedFor] : [])].sort();
    const asked = request.nodes.some((id) => disputants.includes(id) || (eni.instanceId !== undefined && id === eni.instanceId));
    if (!asked && !names.some((entry) => chosen.has(entry.name))) continue;
    // A node paused for and named by the request, with nothing else left of it, is found (with nothing to take).
    if (pausedFor && request.nodes.includes(pausedFor) && !chosen.has(pausedFor)) {
      const found = target(pausedFor);
      found.managedInstanceId ??= pausedFor;
      chosen.set(pausedFor, found);
    }
    for (const ip of eni.privateIpAddresses.filter((address) => claimants.has(address))) {
      if (!sharedIps.some((entry) => entry.ip === ip)) sharedIps.push({ ip, nodes: disputants });
    }
  }
  // In the request's order, as named.
  const nodes = new Map<string, NodeTarget>();
  const notFound: string[] = [];
  for (const id of request.nodes) {
    const match = [...chosen.values()].find((entry) => matches(entry, id));
    if (match) nodes.set(match.name, match);
    else notFound.push(id);
  }
  return { nodes: [...nodes.values()], notFound, sharedIps: sharedIps.sort((a, b) => a.ip.localeCompare(b.ip)) };
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
export function routesOfRemovedNodes(deletions: RouteAction[], removed: NodeTarget[], all: boolean): RouteAction[] {
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
