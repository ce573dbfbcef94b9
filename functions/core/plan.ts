/**
 * The planner: desired routes (claims resolved to ENIs) × actual routes (per managed table) →
 * one decision per (table, destination), plus source/dest-check fixes. Pure: the same input always
 * gives the same plan, and applying it to the tables yields the desired state.
 *
 * A route is *managed* only when all of these hold: it was added by API (`Origin=CreateRoute`), its
 * destination is a CIDR inside the remote pod networks, and its target is an ENI or instance (what this
 * controller creates). Everything else in the table is never touched.
 */
import type { ClaimSet, NodeClaim, Refusal } from './claims.js';
import { type Cidr, CidrMap, cidrsOverlap, parseCidr, parseIp } from './cidr.js';
import { type DeletionGuard, judgeDeletions } from './guards.js';
import { type Scope, inPodScope } from './scope.js';
import { PAUSE_TAG_KEY } from './teardown-steps.js';
import type { GuardOptions, NetworkInterfaceRecord, NodeStatusRecord, RouteRecord, RouteTableRecord } from './types.js';

export type RouteActionKind = 'create' | 'replace' | 'delete' | 'keep';

export interface RouteAction {
  routeTableId: string;
  destination: string;
  action: RouteActionKind;
  /** The ENI the route points at after this action (absent for a delete). */
  target?: string;
  /** What the route pointed at before (absent for a create). */
  previousTarget?: string;
  reason: string;
  /** The node that claims the destination, when one does. */
  node?: string;
  /** The existing route was a blackhole. */
  blackhole?: boolean;
}

export interface SourceDestCheckAction {
  networkInterfaceId: string;
  node: string;
  action: 'disable' | 'keep';
}

export interface UnresolvedNode {
  node: string;
  ip: string;
  cidrs: string[];
  reason: string;
  /**
   * Its ENI was attached after its CiliumNode was created and its Node exists but has not shown its kubelet there
   * yet: it may be the node coming up again on a new machine (replaced under the same name), so the reconciler's
   * short follow-up runs after an arrival look again.
   */
  awaitingKubelet?: true;
}

export interface VetoedDeletion {
  routeTableId: string;
  destination: string;
  previousTarget?: string;
  guard: DeletionGuard;
  reason: string;
}

export interface ProtectedRoute {
  routeTableId: string;
  destination: string;
  node: string;
  reason: string;
}

/** A destination a node claims that is occupied by a route this controller does not manage. */
export interface RouteConflict {
  routeTableId: string;
  destination: string;
  node: string;
  existingTarget: string;
  reason: string;
}

/** A node whose IP resolved to exactly one ENI in the remote VPC. */
export interface RoutedNode {
  node: string;
  ip: string;
  networkInterfaceId: string;
  cidrs: string[];
}

/** A node a teardown has paused (its ENI carries PAUSE_TAG_KEY): its routes and ENI are the teardown's to change. */
export interface PausedNode {
  node: string;
  networkInterfaceId: string;
  cidrs: string[];
  /** The tag's value: the node name the teardown wrote. */
  pausedFor: string;
}

export interface RoutePlan {
  vpcId?: string;
  routed: RoutedNode[];
  paused: PausedNode[];
  actions: RouteAction[];
  sourceDestCheck: SourceDestCheckAction[];
  refused: Refusal[];
  unresolved: UnresolvedNode[];
  pending: { node: string; ip: string }[];
  vetoed: VetoedDeletion[];
  protected: ProtectedRoute[];
  conflicts: RouteConflict[];
  counts: PlanCounts;
}

export interface PlanCounts {
  create: number;
  replace: number;
  delete: number;
  keep: number;
  vetoed: number;
  /** Routes that differ from the desired state (create + replace + delete + vetoed). */
  drift: number;
  managedRoutes: number;
  sourceDestCheckFixes: number;
}

export interface PlanInput {
  scope: Scope;
  claims: ClaimSet;
  /** The remote VPC; ENIs elsewhere never receive routes. */
  vpcId?: string;
  networkInterfaces: NetworkInterfaceRecord[];
  routeTables: RouteTableRecord[];
  guards: GuardOptions;
  /**
   * ENIs a teardown has just removed the nodes of: a refused CiliumNode still naming one of their addresses
   * protects no route to them, or the removed nodes' routes would outlive the teardown. The reconciler passes none.
   */
  releasedNetworkInterfaceIds?: string[];
  /**
   * The Kubernetes Node status of each node attachmentChecks names, by node. A node it names without an entry here
   * is unresolved: which machine holds its address is not shown.
   */
  nodeStatuses?: ReadonlyMap<string, NodeStatusRecord>;
  /**
   * This run's clock (ms since the epoch), against which a heartbeat's age is judged. An input, not read here: the
   * same input always gives the same plan.
   */
  now: number;
}

interface DesiredRoute {
  cidr: Cidr;
  networkInterfaceId: string;
  node: string;
}

export function routeTarget(route: RouteRecord): string {
  return route.networkInterfaceId ?? route.instanceId ?? route.gatewayTarget ?? 'unknown';
}

/** The parsed destination when the route is managed, else undefined. */
export function managedDestination(route: RouteRecord, scope: Scope): Cidr | undefined {
  if (route.origin !== 'CreateRoute' || route.destinationType === 'prefix-list' || route.gatewayTarget !== undefined) return undefined;
  if (route.networkInterfaceId === undefined && route.instanceId === undefined) return undefined;
  const parsed = parseCidr(route.destination);
  return parsed.ok && inPodScope(scope, parsed.value) ? parsed.value : undefined;
}

/** The ENIs carrying each address (IPv4 and IPv6, by canonical key). */
function networkInterfacesByIp(interfaces: NetworkInterfaceRecord[]): Map<string, NetworkInterfaceRecord[]> {
  const byIp = new Map<string, NetworkInterfaceRecord[]>();
  for (const eni of interfaces) {
    for (const text of [...eni.privateIpAddresses, ...eni.ipv6Addresses]) {
      const ip = parseIp(text);
      if (!ip.ok) continue;
      const list = byIp.get(ip.value.key) ?? [];
      if (!list.includes(eni)) list.push(eni);
      byIp.set(ip.value.key, list);
    }
  }
  return byIp;
}

/**
 * Resolves each node IP to exactly one ENI in the remote VPC, attached to an EC2 instance. A hybrid node is an
 * instance, so an ENI carrying its IP with no instance behind it (detached, or one that AWS manages for a NAT
 * gateway, an interface endpoint, a load balancer or a Lambda function) is not the node's: the node's address has
 * gone to something else. Routing the node's pod CIDRs there, or turning that ENI's source/dest check off, would
 * act on a machine that is not a node, so the node is unresolved and its CIDRs are protected instead.
 */
function resolveNodes(nodes: NodeClaim[], byIp: Map<string, NetworkInterfaceRecord[]>, vpcId: string | undefined) {
  const resolved: { claim: NodeClaim; eni: NetworkInterfaceRecord }[] = [];
  const unresolved: UnresolvedNode[] = [];
  for (const claim of nodes) {
    const candidates = byIp.get(claim.ip.key) ?? [];
    const inVpc = candidates.filter((eni) => vpcId === undefined || eni.vpcId === vpcId);
    const base = { node: claim.node, ip: claim.ip.text, cidrs: claim.cidrs.map((cidr) => cidr.text) };
    if (inVpc.length === 1 && inVpc[0]!.instanceId !== undefined) {
      resolved.push({ claim, eni: inVpc[0]! });
    } else if (inVpc.length === 1) {
      const eni = inVpc[0]!;
      unresolved.push({ ...base, reason: `the ENI carrying ${claim.ip.text} (${eni.networkInterfaceId}, status ${eni.status ?? 'unknown'}) is not attached to an EC2 instance, so it is not this node's` });
    } else if (inVpc.length > 1) {
      unresolved.push({ ...base, reason: `several ENIs carry ${claim.ip.text}: ${inVpc.map((eni) => eni.networkInterfaceId).join(', ')}` });
    } else if (candidates.length > 0) {
      unresolved.push({ ...base, reason: `the ENI carrying ${claim.ip.text} (${candidates[0]!.networkInterfaceId}) is in ${candidates[0]!.vpcId}, not the remote VPC` });
    } else {
      unresolved.push({ ...base, reason: `no ENI in the remote VPC carries ${claim.ip.text}` });
    }
  }
  return { resolved, unresolved };
}

/**
 * A node whose ENI may not be its machine's. A node joins from a machine that is already running, so its ENI is
 * attached first and its CiliumNode created later. Two things break that and call for a look at the node's
 * Kubernetes Node (attachmentDoubt):
 * - `attached-later`: the ENI was attached after the CiliumNode was created. That is what an address passed on
 *   looks like: the node's machine is gone, its CiliumNode stays (nothing removes a hybrid node's Node, so
 *   neither is its CiliumNode), and EC2 has given the address to another instance, which may not be a node at
 *   all. It is also what a node replaced under the same name looks like (CiliumNode kept, new instance), which
 *   must be routed.
 * - `secondary-address`: the node's IP is not the ENI's primary private IPv4 address (a secondary IPv4 or an
 *   IPv6 address). EC2 does not say when such an address was assigned, so the attach time proves nothing: it may
 *   have come to a long-attached ENI after the node's machine went away.
 * Routing the node's pod CIDRs to a machine nobody said was a node, and turning its source/dest check off, is
 * what this prevents. Only records that carry both times are judged: EC2 reports AttachTime for every attached
 * ENI and the API server sets every creationTimestamp, so a time that is missing or unreadable means data this
 * rule cannot judge, and the node is resolved as before.
 */
export interface AttachmentCheck {
  node: string;
  ip: string;
  networkInterfaceId: string;
  instanceId: string;
  kind: 'attached-later' | 'secondary-address';
  attachTime: string;
  createdAt: string;
}

/** How far a kubelet's heartbeat may lie ahead of this run's clock (the two clocks are not the same). */
export const HEARTBEAT_FUTURE_TOLERANCE_MS = 5 * 60_000;
/**
 * How recent a heartbeat must be to show a kubelet alive now (secondary addresses): a kubelet posts its Node's
 * status at least every 5 minutes (nodeStatusReportFrequency) and at once when it starts.
 */
export const HEARTBEAT_RECENT_MS = 15 * 60_000;

function attachmentCheck(claim: NodeClaim, eni: NetworkInterfaceRecord): AttachmentCheck | undefined {
  if (claim.createdAt === undefined || eni.attachTime === undefined || eni.instanceId === undefined) return undefined;
  const attached = Date.parse(eni.attachTime);
  const created = Date.parse(claim.createdAt);
  if (!Number.isFinite(attached) || !Number.isFinite(created)) return undefined;
  // privateIpAddresses holds the primary address first (NetworkInterfaceRecord).
  const primary = eni.privateIpAddresses[0] === undefined ? undefined : parseIp(eni.privateIpAddresses[0]);
  const onPrimary = primary?.ok === true && primary.value.key === claim.ip.key;
  const kind = !onPrimary ? 'secondary-address' : attached > created ? 'attached-later' : undefined;
  if (kind === undefined) return undefined;
  return { node: claim.node, ip: claim.ip.text, networkInterfaceId: eni.networkInterfaceId, instanceId: eni.instanceId, kind, attachTime: eni.attachTime, createdAt: claim.createdAt };
}

/** The nodes whose ENI may not be their machine's (AttachmentCheck): the ones whose Kubernetes Node must be read. */
export function attachmentChecks(input: Pick<PlanInput, 'claims' | 'networkInterfaces' | 'vpcId'>): AttachmentCheck[] {
  const { resolved } = resolveNodes(input.claims.nodes, networkInterfacesByIp(input.networkInterfaces), input.vpcId);
  return resolved.flatMap(({ claim, eni }) => attachmentCheck(claim, eni) ?? []);
}

/**
 * Why the instance holding a checked node's address is not shown to be that node; undefined when it is. The node's
 * Node must report that address among its InternalIPs, with a Ready heartbeat that is not in the future (beyond
 * HEARTBEAT_FUTURE_TOLERANCE_MS of `now`: a kubelet's clock that runs ahead would otherwise vouch for its machine
 * after it is gone) and that is
 * - for `attached-later`: not older than the attachment: the kubelet reported that address while this ENI had it,
 *   so it runs on this ENI's instance;
 * - for `secondary-address`: recent (HEARTBEAT_RECENT_MS): the kubelet is alive and reports the address now.
 * A kubelet that has been silent since, a Node that reports another address, or one that is gone or could not be
 * read shows nothing.
 */
export function attachmentDoubt(check: AttachmentCheck, status: NodeStatusRecord | undefined, now: number): string | undefined {
  const lead =
    check.kind === 'attached-later'
      ? `${check.networkInterfaceId} (instance ${check.instanceId}), which carries ${check.ip}, was attached at ${check.attachTime}, after CiliumNode ${check.node} was created (${check.createdAt})`
      : `${check.ip} is a secondary or IPv6 address of ${check.networkInterfaceId} (instance ${check.instanceId}), and EC2 does not say since when`;
  const passedOn = 'the address may have passed to a machine that is not this node';
  if (status === undefined) return `${lead}, and Node ${check.node} was not read`;
  if (status.state === 'not-found') return `${lead}, and there is no Node ${check.node}: ${passedOn}`;
  if (status.state === 'unreadable') return `${lead}, and Node ${check.node} could not be read (${status.error})`;
  const ip = parseIp(check.ip);
  const reportsIp = status.internalIps.some((text) => {
    const reported = parseIp(text);
    return reported.ok && ip.ok && reported.value.key === ip.value.key;
  });
  if (!reportsIp) return `${lead}, and Node ${check.node} reports ${status.internalIps.length > 0 ? status.internalIps.join(', ') : 'no InternalIP'}: ${passedOn}`;
  const heartbeat = status.readyHeartbeat === undefined ? NaN : Date.parse(status.readyHeartbeat);
  const last = `last Ready heartbeat ${status.readyHeartbeat ?? 'none'}`;
  if (Number.isFinite(heartbeat) && heartbeat > now + HEARTBEAT_FUTURE_TOLERANCE_MS) {
    return `${lead}, and the kubelet of Node ${check.node} reports from the future (${last}, this run's clock ${new Date(now).toISOString()}): its clock cannot vouch for the machine`;
  }
  const since = check.kind === 'attached-later' ? Date.parse(check.attachTime) : now - HEARTBEAT_RECENT_MS;
  if (!Number.isFinite(heartbeat) || heartbeat < since) {
    const when = check.kind === 'attached-later' ? 'since' : `in the last ${HEARTBEAT_RECENT_MS / 60_000} minutes`;
    return `${lead}, and the kubelet of Node ${check.node} has not reported ${when} (${last}): ${passedOn}`;
  }
  return undefined;
}

export function planRoutes(input: PlanInput): RoutePlan {
  const { scope, claims } = input;
  const byIp = networkInterfacesByIp(input.networkInterfaces);
  const resolution = resolveNodes(claims.nodes, byIp, input.vpcId);
  const { unresolved } = resolution;
  // A node whose address may have passed to another machine is unresolved: its CIDRs are protected and that
  // machine's source/dest check stays as it is.
  const { now } = input;
  resolution.resolved = resolution.resolved.filter(({ claim, eni }) => {
    const check = attachmentCheck(claim, eni);
    if (check === undefined) return true;
    const status = input.nodeStatuses?.get(claim.node);
    const doubt = attachmentDoubt(check, status, now);
    if (doubt === undefined) return true;
    const awaitingKubelet = check.kind === 'attached-later' && status?.state === 'found';
    unresolved.push({ node: claim.node, ip: claim.ip.text, cidrs: claim.cidrs.map((cidr) => cidr.text), reason: doubt, ...(awaitingKubelet ? { awaitingKubelet } : {}) });
    return false;
  });
  // A paused node is being torn down: re-adding its routes or turning its source/dest check off again would
  // undo the teardown, and deleting them is the teardown's job, so its CIDRs are protected like a refused node's.
  // The tag must name this node: a tag left on an ENI whose instance has since joined as another node
  // pauses nothing.
  const isPaused = (eni: NetworkInterfaceRecord, node: string) => eni.tags?.[PAUSE_TAG_KEY] === node;
  const resolved = resolution.resolved.filter(({ claim, eni }) => !isPaused(eni, claim.node));
  const paused: PausedNode[] = resolution.resolved
    .filter(({ claim, eni }) => isPaused(eni, claim.node))
    .map(({ claim, eni }) => ({
      node: claim.node,
      networkInterfaceId: eni.networkInterfaceId,
      cidrs: claim.cidrs.map((cidr) => cidr.text),
      pausedFor: eni.tags![PAUSE_TAG_KEY]!,
    }));

  const desired = new Map<string, DesiredRoute>();
  for (const { claim, eni } of resolved) {
    for (const cidr of claim.cidrs) desired.set(cidr.text, { cidr, networkInterfaceId: eni.networkInterfaceId, node: claim.node });
  }
  const protectedCidrs = new CidrMap<{ node: string; reason: string }>();
  for (const { claim, eni } of resolution.resolved) {
    if (!isPaused(eni, claim.node)) continue;
    for (const cidr of claim.cidrs) protectedCidrs.set(cidr, { node: claim.node, reason: `paused by a teardown (ENI ${eni.networkInterfaceId} tagged ${PAUSE_TAG_KEY})` });
  }
  for (const entry of claims.protected) protectedCidrs.set(entry.cidr, { node: entry.node, reason: entry.reason });
  for (const node of unresolved) {
    for (const text of node.cidrs) {
      const parsed = parseCidr(text);
      if (parsed.ok) protectedCidrs.set(parsed.value, { node: node.node, reason: `claimed by an unresolved node (${node.reason})` });
    }
  }

  // A refused node's data is not trusted whole: a pod CIDR it lists may be unreadable and so name no network to
  // protect. What is known is its ENI, so a route pointing there is not shown to be stale either — even where a
  // trusted node is on the same ENI (a stale CiliumNode beside the live one on a reused address): which of the
  // two is the live one cannot be told from here, and the refused one may be it. Only a teardown, which removed
  // the nodes on those ENIs, releases them (releasedNetworkInterfaceIds).
  const released = new Set(input.releasedNetworkInterfaceIds ?? []);
  const protectedTargets = new Map<string, { node: string; reason: string }>();
  for (const { node, ip } of claims.refusedNodeIps) {
    for (const eni of byIp.get(ip.key) ?? []) {
      if ((input.vpcId !== undefined && eni.vpcId !== input.vpcId) || released.has(eni.networkInterfaceId)) continue;
      protectedTargets.set(eni.networkInterfaceId, { node, reason: `points at ${eni.networkInterfaceId}, the ENI of a refused node whose pod CIDRs cannot all be read` });
    }
  }
  /** Why a route may be neither rewritten nor deleted: its destination is in dispute, or it points at a refused node. */
  const guardOf = (cidr: Cidr, route: RouteRecord) =>
    protectedCidrs.findOverlapping(cidr)?.value ?? (route.networkInterfaceId === undefined ? undefined : protectedTargets.get(route.networkInterfaceId));

  const actions: RouteAction[] = [];
  // Sort keys are made once from the parsed destination, so ordering the output parses nothing again.
  const sortKeys = new Map<RouteAction, string>();
  const push = (action: RouteAction, cidr: Cidr) => {
    sortKeys.set(action, `${action.routeTableId} ${cidr.first} ${String(cidr.prefix).padStart(3, '0')}`);
    actions.push(action);
  };
  const proposedDeletions: RouteAction[] = [];
  const deletionCidrs = new Map<RouteAction, Cidr>();
  const protectedRoutes: ProtectedRoute[] = [];
  const conflicts: RouteConflict[] = [];
  let managedRouteCount = 0;
  let activeManagedRouteCount = 0;

  for (const table of input.routeTables) {
    const routeTableId = table.routeTableId;
    const managed = new Map<string, { route: RouteRecord; cidr: Cidr }>();
    const unmanaged = new Map<string, RouteRecord>();
    for (const route of table.routes) {
      const cidr = managedDestination(route, scope);
      if (cidr) managed.set(cidr.text, { route, cidr });
      else if (route.destinationType !== 'prefix-list') {
        const parsed = parseCidr(route.destination);
        if (parsed.ok) unmanaged.set(parsed.value.text, route);
      }
    }
    managedRouteCount += managed.size;
    for (const { route } of managed.values()) if (route.state !== 'blackhole') activeManagedRouteCount += 1;

    for (const [text, want] of desired) {
      const have = managed.get(text);
      const base = { routeTableId, node: want.node };
      if (!have) {
        const occupant = unmanaged.get(text);
        if (occupant) {
          conflicts.push({
            ...base,
            destination: occupant.destination,
            existingTarget: routeTarget(occupant),
            reason: `${text} is taken by a route this controller does not manage (origin ${occupant.origin || 'unknown'}, target ${routeTarget(occupant)}); left as it is`,
          });
        } else {
          push({ ...base, destination: text, action: 'create', target: want.networkInterfaceId, reason: `missing: ${want.node} claims ${text}` }, want.cidr);
        }
        continue;
      }
      const { route } = have;
      const blackhole = route.state === 'blackhole';
      const sameTarget = route.networkInterfaceId === want.networkInterfaceId;
      const common = { ...base, destination: route.destination, previousTarget: routeTarget(route), ...(blackhole ? { blackhole } : {}) };
      const guard = sameTarget ? undefined : guardOf(want.cidr, route);
      if (guard) {
        // The node's claim is fine, but the existing route also covers a CIDR in dispute: not rewritten.
        const reason = `protected: ${guard.reason} (${guard.node})`;
        protectedRoutes.push({ routeTableId, destination: route.destination, node: guard.node, reason });
        push({ ...common, action: 'keep', node: want.node, reason }, want.cidr);
      } else if (sameTarget) {
        push({
          ...common,
          action: 'keep',
          target: want.networkInterfaceId,
          // Rewriting a route to the same ENI cannot revive it: it turns active when the instance runs.
          reason: blackhole ? `points at ${want.node}'s ENI, which has no running instance (blackhole); kept` : 'in place',
        }, want.cidr);
      } else {
        push({
          ...common,
          action: 'replace',
          target: want.networkInterfaceId,
          reason: blackhole
            ? `blackhole: ${want.node} is on ${want.networkInterfaceId}`
            : `wrong target: ${want.node} is on ${want.networkInterfaceId}`,
        }, want.cidr);
      }
    }

    for (const [text, { route, cidr }] of managed) {
      if (desired.has(text)) continue;
      const blackhole = route.state === 'blackhole';
      const common = { routeTableId, destination: route.destination, previousTarget: routeTarget(route), ...(blackhole ? { blackhole } : {}) };
      const guard = guardOf(cidr, route);
      if (guard) {
        const reason = `protected: ${guard.reason} (${guard.node})`;
        protectedRoutes.push({ routeTableId, destination: route.destination, node: guard.node, reason });
        push({ ...common, action: 'keep', node: guard.node, reason }, cidr);
        continue;
      }
      const deletion: RouteAction = {
        ...common,
        action: 'delete',
        reason: blackhole ? 'stale blackhole: no node claims it' : 'stale: no node claims it',
      };
      deletionCidrs.set(deletion, cidr);
      proposedDeletions.push(deletion);
    }
  }

  // A refused node's pod CIDR that protects no destination is covered when its ENI is known (its routes are
  // protected by target above, or released by a teardown); otherwise it holds the run's deletions of working routes.
  const unprotectableClaims = claims.unprotectableCidrs
    .filter(({ ip }) => !(ip && (byIp.get(ip.key) ?? []).some((eni) => input.vpcId === undefined || eni.vpcId === input.vpcId)))
    .map(({ node, field }) => `${node} ${field}`);
  const verdict = judgeDeletions(
    proposedDeletions,
    { nodeCount: claims.nodeCount, managedRouteCount, activeManagedRouteCount, unprotectableClaims },
    input.guards,
  );
  for (const deletion of verdict.allowed) push(deletion, deletionCidrs.get(deletion)!);
  const vetoed: VetoedDeletion[] = verdict.vetoed.map(({ deletion, guard, reason }) => {
    push({ ...deletion, action: 'keep', reason: `deletion vetoed (${guard}): ${deletion.reason}` }, deletionCidrs.get(deletion)!);
    return {
      routeTableId: deletion.routeTableId,
      destination: deletion.destination,
      ...(deletion.previousTarget ? { previousTarget: deletion.previousTarget } : {}),
      guard,
      reason,
    };
  });

  actions.sort((a, b) => {
    const ka = sortKeys.get(a)!;
    const kb = sortKeys.get(b)!;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });

  const sourceDestCheck: SourceDestCheckAction[] = [];
  const seen = new Set<string>();
  for (const { claim, eni } of resolved) {
    if (seen.has(eni.networkInterfaceId)) continue;
    seen.add(eni.networkInterfaceId);
    sourceDestCheck.push({ networkInterfaceId: eni.networkInterfaceId, node: claim.node, action: eni.sourceDestCheck ? 'disable' : 'keep' });
  }

  const count = (kind: RouteActionKind) => actions.filter((action) => action.action === kind).length;
  const counts: PlanCounts = {
    create: count('create'),
    replace: count('replace'),
    delete: count('delete'),
    keep: count('keep'),
    vetoed: vetoed.length,
    drift: 0,
    managedRoutes: managedRouteCount,
    sourceDestCheckFixes: sourceDestCheck.filter((fix) => fix.action === 'disable').length,
  };
  counts.drift = counts.create + counts.replace + counts.delete + counts.vetoed;

  return {
    ...(input.vpcId ? { vpcId: input.vpcId } : {}),
    routed: resolved.map(({ claim, eni }) => ({
      node: claim.node,
      ip: claim.ip.text,
      networkInterfaceId: eni.networkInterfaceId,
      cidrs: claim.cidrs.map((cidr) => cidr.text),
    })),
    paused,
    actions,
    sourceDestCheck,
    refused: claims.refused,
    unresolved,
    pending: claims.pending,
    vetoed,
    protected: protectedRoutes,
    conflicts,
    counts,
  };
}

/**
 * The order a plan is applied in. New paths go in before old ones come out, so a destination never loses its
 * route on the way — except that a deletion whose destination overlaps no create or replace in its table cannot
 * open such a gap, and goes first: it frees room in a table at its route quota (stale and blackholed routes
 * piling up to the quota is how tables stop healing), so the creates that follow fit.
 */
export function applyOrder(plan: RoutePlan): {
  freeingDeletions: RouteAction[];
  upserts: RouteAction[];
  deletions: RouteAction[];
  /** For each of `deletions`, the creates and replaces in its table whose destinations overlap its own. */
  waitsFor: Map<RouteAction, RouteAction[]>;
} {
  const { upserts, deletions } = mutationsOf(plan);
  const upsertCidrs = new Map<string, { action: RouteAction; cidr: Cidr }[]>();
  for (const action of upserts) {
    const parsed = parseCidr(action.destination);
    if (parsed.ok) upsertCidrs.set(action.routeTableId, [...(upsertCidrs.get(action.routeTableId) ?? []), { action, cidr: parsed.value }]);
  }
  const waitsFor = new Map<RouteAction, RouteAction[]>();
  const freeingDeletions: RouteAction[] = [];
  for (const deletion of deletions) {
    const parsed = parseCidr(deletion.destination);
    const overlapping = parsed.ok ? (upsertCidrs.get(deletion.routeTableId) ?? []).filter(({ cidr }) => cidrsOverlap(cidr, parsed.value)).map(({ action }) => action) : [];
    // A destination that cannot be parsed is not known to open no gap: it waits too.
    if (parsed.ok && overlapping.length === 0) freeingDeletions.push(deletion);
    else waitsFor.set(deletion, overlapping);
  }
  return { freeingDeletions, upserts, deletions: [...waitsFor.keys()], waitsFor };
}

/** The mutations a plan asks for: new or rewritten routes, and removals. */
export function mutationsOf(plan: RoutePlan): { upserts: RouteAction[]; deletions: RouteAction[] } {
  return {
    upserts: plan.actions.filter((action) => action.action === 'create' || action.action === 'replace'),
    deletions: plan.actions.filter((action) => action.action === 'delete'),
  };
}
