/**
 * The benchmark's worlds: N hybrid nodes × R managed route tables, in three starting states (steady, 10 %
 * drift, empty), as local-cloud scenarios; the drift injected into a running cloud; and an oracle that says,
 * from the cloud's own state and independently of the product, how far the tables are from the desired state.
 */
import { type ScenarioInput, defaultScenario } from '../localcloud/scenario.js';
import type { CloudState, LocalRoute } from '../localcloud/state.js';

export type Variant = 'steady' | 'drift' | 'initial';
export const VARIANTS: Variant[] = ['steady', 'drift', 'initial'];
export const FULL_NODE_COUNTS = [3, 50, 256, 1000];
export const QUICK_NODE_COUNTS = [3, 50, 256];
export const TABLE_COUNTS = [1, 3];
/** AWS's routes-per-route-table quota (L-93826ACB): 50 by default, adjustable up to 1,000 (FACTS.md). */
export const DEFAULT_ROUTE_QUOTA = 50;
export const MAX_ROUTE_QUOTA = 1000;
/** Share of the managed routes a drift scenario disturbs. */
export const DRIFT_SHARE = 0.1;
export const MANAGED_TAG = 'eks-hybrid-routes/managed';
export const TGW_ID = 'tgw-0a1b2c3d4e5f60718';
/** Routes every table holds besides the pod routes: `local` and the TGW route to the EKS VPC. */
export const OTHER_ROUTES_PER_TABLE = 2;

export interface ScenarioSpec {
  id: string;
  nodes: number;
  tables: number;
  variant: Variant;
}

export const scenarioId = (nodes: number, tables: number, variant: Variant) => `n${nodes}-r${tables}-${variant}`;

export function scenarioMatrix(options: { quick?: boolean } = {}): ScenarioSpec[] {
  const counts = options.quick ? QUICK_NODE_COUNTS : FULL_NODE_COUNTS;
  return counts.flatMap((nodes) =>
    TABLE_COUNTS.flatMap((tables) => VARIANTS.map((variant) => ({ id: scenarioId(nodes, tables, variant), nodes, tables, variant }))),
  );
}

/** `--only`: a case-insensitive regular expression matched against the id. */
export function matchesOnly(id: string, only: string | undefined): boolean {
  return only === undefined || new RegExp(only, 'i').test(id);
}

// ---------------------------------------------------------------------------------------------------------
// Worlds
// ---------------------------------------------------------------------------------------------------------

export interface BenchNode {
  index: number;
  /** Node / CiliumNode name = managed-instance id, as hybrid nodes are named. */
  name: string;
  instanceId: string;
  eni: string;
  ip: string;
  subnetId: string;
  cidr: string;
}

export interface World {
  nodes: BenchNode[];
  /** Node definitions kept out of the scenario, for nodes that join during a measurement. */
  spare: BenchNode[];
  tableIds: string[];
  podPool: string;
  /** The routes-per-table quota set in the scenario (raised as far as needed, at most AWS's maximum). */
  quota: number;
  /** Routes a table needs: one per node (spare ones included) pod CIDR plus `local` and the TGW route. */
  routesNeeded: number;
  /** Pod routes per table that cannot exist under AWS's maximum quota. */
  overQuotaPerTable: number;
  /** /24s of the pool no node claims (where stale routes can sit). */
  freeCidrs: string[];
}

/** `<prefix>-` and 17 hex digits, distinct per tag and index. */
function hexId(prefix: string, tag: string, index: number): string {
  return `${prefix}-${tag}${index.toString(16).padStart(17 - tag.length, '0')}`;
}

const NODE_SUBNETS = [
  { id: 'subnet-0bec0000000000001', cidrBase: [10, 20, 16], az: 'us-west-2a' },
  { id: 'subnet-0bec0000000000002', cidrBase: [10, 20, 20], az: 'us-west-2b' },
  { id: 'subnet-0bec0000000000003', cidrBase: [10, 20, 24], az: 'us-west-2c' },
] as const;

/**
 * The pod pool and the i-th /24: the seed's `10.30.0.0/16` (one /24 per node, 256 nodes) when it is big
 * enough, else `10.28.0.0/14` (1,024 /24s).
 */
export function podLayout(capacityNeeded: number): { pool: string; capacity: number; cidr: (i: number) => string } {
  if (capacityNeeded <= 256) return { pool: '10.30.0.0/16', capacity: 256, cidr: (i) => `10.30.${i}.0/24` };
  if (capacityNeeded <= 1024) return { pool: '10.28.0.0/14', capacity: 1024, cidr: (i) => `10.${28 + (i >> 8)}.${i & 255}.0/24` };
  throw new RangeError(`at most 1024 nodes, asked for ${capacityNeeded}`);
}

export function benchNode(index: number, cidr: string): BenchNode {
  const subnet = NODE_SUBNETS[index % 3]!;
  const host = 10 + Math.floor(index / 3); // a /22 each: room for 1,000 nodes
  const [a, b, c] = subnet.cidrBase;
  return {
    index,
    name: hexId('mi', '0be', index),
    instanceId: hexId('i', '0be', index),
    eni: hexId('eni', '0be', index),
    ip: `${a}.${b}.${c + Math.floor(host / 256)}.${host % 256}`,
    subnetId: subnet.id,
    cidr,
  };
}

export function benchWorld(nodeCount: number, tableCount: number, options: { spare?: number } = {}): World {
  const spareCount = options.spare ?? 0;
  const layout = podLayout(nodeCount + spareCount);
  const all = Array.from({ length: nodeCount + spareCount }, (_, i) => benchNode(i, layout.cidr(i)));
  // Nodes that join later need their routes too: the quota is raised for them as well.
  const routesNeeded = nodeCount + spareCount + OTHER_ROUTES_PER_TABLE;
  const freeCidrs = Array.from({ length: layout.capacity - nodeCount - spareCount }, (_, i) => layout.cidr(nodeCount + spareCount + i));
  return {
    nodes: all.slice(0, nodeCount),
    spare: all.slice(nodeCount),
    tableIds: Array.from({ length: tableCount }, (_, t) => hexId('rtb', '0be', t + 1)),
    podPool: layout.pool,
    quota: Math.min(MAX_ROUTE_QUOTA, Math.max(DEFAULT_ROUTE_QUOTA, routesNeeded)),
    routesNeeded,
    overQuotaPerTable: Math.max(0, routesNeeded - MAX_ROUTE_QUOTA),
    freeCidrs,
  };
}

/** Pod routes a table can hold: the quota minus `local` and the TGW route. */
export const podRouteCapacity = (world: World) => world.quota - OTHER_ROUTES_PER_TABLE;

/**
 * The world as a local-cloud scenario. `routes: 'converged'` fills every table with the nodes' routes (as many as
 * the quota allows) and turns source/dest check off; `'empty'` leaves the tables with `local` and the TGW route
 * only and the check on, as EC2 launches instances.
 */
export function worldScenario(world: World, start: 'converged' | 'empty'): ScenarioInput {
  const base = defaultScenario();
  const converged = start === 'converged';
  const podRoutes = converged
    ? world.nodes.slice(0, podRouteCapacity(world)).map((node) => ({ destination: node.cidr, networkInterfaceId: node.eni }))
    : [];
  return {
    ...base,
    quotas: { routesPerRouteTable: world.quota },
    cluster: { ...base.cluster, remoteNodeNetworks: ['10.20.0.0/16'], remotePodNetworks: [world.podPool] },
    subnets: [
      ...base.subnets,
      ...NODE_SUBNETS.map((subnet) => ({ id: subnet.id, vpcId: 'vpc-0a1b2c3d4e5f60718', cidr: `${subnet.cidrBase.join('.')}.0/22`, az: subnet.az })),
    ],
    routeTables: world.tableIds.map((id, t) => ({
      id,
      vpcId: 'vpc-0a1b2c3d4e5f60718',
      tags: { Name: `idc-tgw-bench-${t + 1}`, [MANAGED_TAG]: 'true' },
      routes: [{ destination: '10.10.0.0/16', transitGatewayId: TGW_ID }, ...podRoutes],
    })),
    instances: world.nodes.map((node) => ({
      id: node.instanceId,
      subnetId: node.subnetId,
      privateIp: node.ip,
      networkInterfaceId: node.eni,
      state: 'running' as const,
      sourceDestCheck: !converged,
      instanceType: 'm5.large',
      tags: { Name: `hybrid-node-${node.index}` },
    })),
    managedInstances: world.nodes.map((node) => ({ id: node.name, ipAddress: node.ip, activationId: base.activations[0]!.id })),
    ciliumNodes: world.nodes.map((node) => ciliumNode(node, [node.cidr])),
    pods: [],
  };
}

/** A CiliumNode as the Cilium agent and operator write it (cluster-pool IPAM). */
export function ciliumNode(node: BenchNode, podCIDRs: string[]) {
  return {
    apiVersion: 'cilium.io/v2' as const,
    kind: 'CiliumNode' as const,
    metadata: { name: node.name, labels: { 'eks.amazonaws.com/compute-type': 'hybrid', 'kubernetes.io/hostname': node.name } },
    spec: { addresses: [{ ip: node.ip, type: 'InternalIP' }], ipam: { podCIDRs } },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Drift
// ---------------------------------------------------------------------------------------------------------

export interface DriftComposition {
  missing: number;
  wrongTarget: number;
  stale: number;
}

/** 10 % of the managed routes, at least one. */
export function driftCount(nodes: number, tables: number): number {
  return Math.max(1, Math.round(DRIFT_SHARE * nodes * tables));
}

/** mulberry32: a small seeded generator, so every run disturbs the same routes. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Disturbs `count` distinct (table, node) routes of a converged world, directly in the cloud's state (a person
 * with the console, a half-finished script): in turn a route removed, a route pointed at another node's ENI, a
 * stale route added for a /24 no node claims (pointing at the node's ENI). When the pool has no free /24 left or
 * the table is at its quota, a stale route becomes a wrong target instead. Each disturbance is exactly one route
 * that differs from the desired state.
 */
export function injectDrift(state: CloudState, world: World, count: number, seed: number): DriftComposition {
  const random = seededRandom(seed);
  const placed = world.nodes.slice(0, podRouteCapacity(world));
  const pairs = world.tableIds.flatMap((tableId) => placed.map((node) => ({ tableId, node })));
  for (let i = pairs.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [pairs[i], pairs[j]] = [pairs[j]!, pairs[i]!];
  }
  if (count > pairs.length) throw new RangeError(`cannot disturb ${count} routes of ${pairs.length}`);
  const composition: DriftComposition = { missing: 0, wrongTarget: 0, stale: 0 };
  const freeByTable = new Map(world.tableIds.map((id) => [id, [...world.freeCidrs]]));
  const byName = new Map(world.nodes.map((node, i) => [node.name, i]));
  pairs.slice(0, count).forEach(({ tableId, node }, k) => {
    const table = state.routeTables.get(tableId);
    if (!table) throw new Error(`no route table ${tableId}`);
    const index = table.routes.findIndex((route) => route.destination === node.cidr);
    if (index < 0) throw new Error(`${tableId} has no route for ${node.cidr}`);
    const counted = table.routes.filter((route) => route.family === 'ipv4').length;
    const free = freeByTable.get(tableId)!;
    const kind = k % 3 === 0 ? 'missing' : k % 3 === 1 || free.length === 0 || counted >= world.quota ? 'wrongTarget' : 'stale';
    if (kind === 'missing') {
      table.routes.splice(index, 1);
    } else if (kind === 'wrongTarget') {
      const other = world.nodes[(byName.get(node.name)! + 1) % world.nodes.length]!;
      table.routes[index] = { ...table.routes[index]!, target: { kind: 'networkInterface', id: other.eni } };
    } else {
      const route: LocalRoute = { destination: free.shift()!, family: 'ipv4', origin: 'CreateRoute', target: { kind: 'networkInterface', id: node.eni } };
      table.routes.push(route);
    }
    composition[kind] += 1;
  });
  return composition;
}

// ---------------------------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------------------------

export interface WorldDiff {
  /** Desired pod routes absent from a table. */
  missing: number;
  /** Pod routes present with another target. */
  wrongTarget: number;
  /** Managed-looking routes (CreateRoute, inside the pod pool, to an ENI or instance) no node claims. */
  stale: number;
  /** Node ENIs whose source/dest check is still on. */
  sourceDestCheckOn: number;
  /** The mutations that fix all of it: missing + wrongTarget + stale + sourceDestCheckOn. */
  total: number;
}

function ipv4ToInt(text: string): number {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${text}`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** Whether IPv4 CIDR `inner` lies inside `outer` (false for anything that is not an IPv4 CIDR). */
export function cidrInside(inner: string, outer: string): boolean {
  const [innerIp, innerBits] = inner.split('/');
  const [outerIp, outerBits] = outer.split('/');
  if (!innerIp || !outerIp || innerIp.includes(':') || outerIp.includes(':')) return false;
  const a = Number(innerBits);
  const b = Number(outerBits);
  if (!(a >= b)) return false;
  const mask = b === 0 ? 0 : (~0 << (32 - b)) >>> 0;
  return ((ipv4ToInt(innerIp) & mask) >>> 0) === ((ipv4ToInt(outerIp) & mask) >>> 0);
}

/** How far the cloud's state is from what the world wants (nodes → routes in every table, checks off). */
export function worldDiff(state: CloudState, world: World, nodes: readonly BenchNode[] = world.nodes): WorldDiff {
  const diff: WorldDiff = { missing: 0, wrongTarget: 0, stale: 0, sourceDestCheckOn: 0, total: 0 };
  const desired = new Map(nodes.map((node) => [node.cidr, node.eni]));
  for (const tableId of world.tableIds) {
    const table = state.routeTables.get(tableId);
    if (!table) throw new Error(`no route table ${tableId}`);
    const present = new Map(table.routes.map((route) => [route.destination, route]));
    for (const [cidr, eni] of desired) {
      const route = present.get(cidr);
      if (!route) diff.missing += 1;
      else if (route.target.id !== eni) diff.wrongTarget += 1;
    }
    for (const route of table.routes) {
      const managedLooking = route.origin === 'CreateRoute' && (route.target.kind === 'networkInterface' || route.target.kind === 'instance');
      if (managedLooking && !desired.has(route.destination) && cidrInside(route.destination, world.podPool)) diff.stale += 1;
    }
  }
  for (const node of nodes) if (state.networkInterfaces.get(node.eni)?.sourceDestCheck !== false) diff.sourceDestCheckOn += 1;
  diff.total = diff.missing + diff.wrongTarget + diff.stale + diff.sourceDestCheckOn;
  return diff;
}

/** The EC2 calls that fixing `diff` takes, by action (what the token-bucket bound is computed from). */
export function requiredMutations(diff: WorldDiff, unplaceable = 0): Record<string, number> {
  return {
    CreateRoute: Math.max(0, diff.missing - unplaceable),
    ReplaceRoute: diff.wrongTarget,
    DeleteRoute: diff.stale,
    ModifyNetworkInterfaceAttribute: diff.sourceDestCheckOn,
  };
}
