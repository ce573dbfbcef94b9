/**
 * Random clusters and route tables × random fault schedules, through the real reconcile service
 * (observe → plan → apply) on in-memory ports (test/support/fault-ports.ts). Each case runs
 * `reconcile(…, 'apply')` once with the faults, then once without, then plans a third time, and checks
 * the safety rules after every run against an oracle written here, not the planner's own answers:
 *
 * - a failed read changes nothing: the run rejects with IncompleteReadError and makes no mutation;
 * - only managed routes are ever replaced or deleted (origin CreateRoute, destination inside the managed pod
 *   networks, ENI or instance target), creates never overwrite any route, unselected tables are never touched;
 * - a route a healthy, resolved node alone claims is never deleted nor pointed elsewhere; a route is only ever
 *   created or pointed at the ENI of a resolved node that claims it undisputed; a route covering a CIDR of a
 *   refused, unresolved or paused node, or one two nodes dispute, is never rewritten nor deleted;
 * - source/dest check is only turned off on remote-VPC ENIs of (unpaused) nodes;
 * - deletions stay within the guard budget unless forced, and none happen on an empty CiliumNode list
 *   unless allowed;
 * - every failed mutation is reported;
 * - the fault-free run converges: its plan, applied to the tables, gives exactly what EC2 holds afterwards,
 *   each claimed CIDR points at its node's ENI, and the next plan changes nothing — or the guard's veto is
 *   reported for the stale routes it kept.
 *
 * Runs default to 200; PROPERTY_RUNS raises them. The nightly-sized run of this file and the fuzz tests:
 *   PROPERTY_RUNS=10000 npm run -s test:unit -- test/unit/core/reconcile-faults.property.test.ts test/unit/fuzz
 */
import fc from 'fast-check';
import { type Cidr, cidrContains, cidrContainsIp, cidrsOverlap, parseCidr as parseCidrOnce, parseIp as parseIpOnce } from '../../../functions/core/cidr.js';
import type { ControllerConfig } from '../../../functions/core/config.js';
import { IncompleteReadError } from '../../../functions/core/errors.js';
import { mutationsOf } from '../../../functions/core/plan.js';
import { PAUSE_TAG_KEY } from '../../../functions/core/teardown-steps.js';
import type { CiliumNodeRecord, GuardOptions, NetworkInterfaceRecord, RouteRecord, RouteTableRecord } from '../../../functions/core/types.js';
import { type RunReport, reconcile } from '../../../functions/service/reconcile.js';
import { DUAL_STACK_NETWORKS, OTHER_VPC, REMOTE_VPC, eniId, nodeName } from '../../support/builders.js';
import { FakeEc2, type FakeRouteTable, LAB_CLUSTER, labClusterInfo } from '../../support/fakes.js';
import {
  FAULT_KINDS,
  type Fault,
  type FaultKind,
  type FaultMethod,
  type LoggedCall,
  MUTATION_METHODS,
  READ_METHODS,
  faultyWorld,
  isMutation,
  isRead,
} from '../../support/fault-ports.js';
import { applyPlanToTables } from '../../support/simulate.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200);
const TIMEOUT_MS = Math.max(60_000, RUNS * 30);

const VPC = REMOTE_VPC;
const TAG = { key: 'eks-hybrid-routes/managed', value: 'true' };
const UNSELECTED_TABLE = `rtb-${'9'.repeat(17)}`;
const tableId = (index: number) => `rtb-${String(index).padStart(17, '0')}`;
/** A narrowing of the cluster's pod networks (configuration may narrow, never widen). */
const NARROWED_POD_NETWORKS = ['10.30.0.0/17', 'fd00:30::/56'];

/** The oracle parses the same few texts over and over: once is enough. */
function memo<R>(parse: (text: string) => R): (text: string) => R {
  const cache = new Map<string, R>();
  return (text) => {
    let result = cache.get(text);
    if (result === undefined) cache.set(text, (result = parse(text)));
    return result;
  };
}
const parseCidr = memo(parseCidrOnce);
const parseIp = memo(parseIpOnce);

const cidrs = (texts: readonly string[]): Cidr[] =>
  texts.map((text) => {
    const parsed = parseCidr(text);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.value;
  });
const CLUSTER_NODE_NETWORKS = cidrs(DUAL_STACK_NETWORKS.remoteNodeNetworks);

// ---------------------------------------------------------------------------------------------------------
// Arbitraries: the world
// ---------------------------------------------------------------------------------------------------------

/** Pod CIDRs nodes claim: mostly in scope (v4 and v6), some outside the (narrowed) scope, some malformed. */
const podCidr = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 0, max: 15 }).map((i) => `10.30.${i}.0/24`) },
  { weight: 1, arbitrary: fc.constantFrom('10.30.0.0/23', '10.30.2.0/23', '10.30.4.0/23') },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 3 }).map((i) => `fd00:30:0:${i}::/64`) },
  { weight: 1, arbitrary: fc.constantFrom('10.30.200.0/24', '10.40.0.0/24', '100.64.1.0/24', 'fd00:40::/64') },
  { weight: 1, arbitrary: fc.constantFrom('10.30.1.7/24', 'garbage', ' 10.30.3.0/24', '10.30.5.0') },
);

const nodeIpOf = (i: number) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constant(`10.20.1.${i}`) },
    { weight: 3, arbitrary: fc.constant(`fd00:20::${i.toString(16)}`) },
    { weight: 1, arbitrary: fc.constantFrom('10.10.5.5', 'not-an-ip', undefined) },
  );

const ciliumNodes: fc.Arbitrary<CiliumNodeRecord[]> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<CiliumNodeRecord[]>([]) },
  {
    weight: 12,
    arbitrary: fc
      .uniqueArray(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 7 })
      .chain((indexes) =>
        fc.tuple(
          ...indexes.map((i) =>
            fc.record({
              ip: nodeIpOf(i),
              podCIDRs: fc.array(podCidr, { maxLength: 2 }),
              poolCidrs: fc.array(podCidr, { maxLength: 1 }),
            }).map(
              ({ ip, podCIDRs, poolCidrs }): CiliumNodeRecord => ({
                name: nodeName(i),
                addresses: [...(ip === undefined ? [] : [{ type: 'InternalIP', ip }]), { type: 'CiliumInternalIP', ip: '10.30.250.1' }],
                podCIDRs,
                poolCIDRs: poolCidrs.length > 0 ? [{ pool: 'default', cidrs: poolCidrs }] : [],
              }),
            ),
          ),
        ),
      ),
  },
);

/** ENIs: node j's IP on ENI j, mostly in the remote VPC; some elsewhere, some twice, some detached, some paused by a teardown. */
const networkInterfaces: fc.Arbitrary<NetworkInterfaceRecord[]> = fc
  .tuple(
    ...Array.from({ length: 12 }, (_, i) =>
      fc.record({
        index: fc.constant(i + 1),
        present: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        inVpc: fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        sourceDestCheck: fc.boolean(),
        attached: fc.oneof({ weight: 10, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        duplicate: fc.oneof({ weight: 20, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        paused: fc.oneof(
          { weight: 12, arbitrary: fc.constant<'no' | 'self' | 'other'>('no') },
          { weight: 1, arbitrary: fc.constantFrom<'self' | 'other'>('self', 'other') },
        ),
      }),
    ),
  )
  .map((list) =>
    list.filter((item) => item.present).flatMap((item): NetworkInterfaceRecord[] => {
      const base: NetworkInterfaceRecord = {
        networkInterfaceId: eniId(item.index),
        vpcId: item.inVpc ? VPC : OTHER_VPC,
        privateIpAddresses: [`10.20.1.${item.index}`],
        ipv6Addresses: [`fd00:20::${item.index.toString(16)}`],
        sourceDestCheck: item.sourceDestCheck,
        ...(item.attached ? { instanceId: `i-${String(item.index).padStart(17, '0')}` } : {}),
        status: item.attached ? 'in-use' : 'available',
        ...(item.paused === 'no' ? {} : { tags: { [PAUSE_TAG_KEY]: item.paused === 'self' ? nodeName(item.index) : nodeName(item.index + 50) } }),
      };
      if (!item.duplicate) return [base];
      return [base, { ...base, networkInterfaceId: eniId(0x100 + item.index), vpcId: VPC, tags: {} }];
    }),
  );

/** Routes of every kind a TGW-subnet table holds: most look managed, the rest must never be touched. */
const routeArb: fc.Arbitrary<RouteRecord> = fc
  .record({
    destination: fc.oneof(
      { weight: 10, arbitrary: fc.integer({ min: 0, max: 15 }).map((i) => `10.30.${i}.0/24`) },
      { weight: 2, arbitrary: fc.constantFrom('10.30.2.0/23', 'fd00:30:0:1::/64', 'fd00:30:0:2::/64', '10.30.200.0/24') },
      { weight: 2, arbitrary: fc.constantFrom('10.40.0.0/24', '10.10.0.0/16', '0.0.0.0/0', '10.30.0.0/16', '100.64.0.0/10', 'fd00:40::/64') },
    ),
    origin: fc.oneof(
      { weight: 10, arbitrary: fc.constant('CreateRoute') },
      { weight: 1, arbitrary: fc.constantFrom('CreateRouteTable', 'EnableVgwRoutePropagation') },
    ),
    target: fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 1, max: 14 }).map((i) => ({ networkInterfaceId: eniId(i) })) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 14 }).map((i) => ({ instanceId: `i-${String(i).padStart(17, '0')}` })) },
      {
        weight: 1,
        arbitrary: fc.integer({ min: 1, max: 14 }).map((i) => ({ instanceId: `i-${String(i).padStart(17, '0')}`, networkInterfaceId: eniId(i) })),
      },
      { weight: 2, arbitrary: fc.constantFrom('tgw-0123456789abcdef0', 'nat-0123456789abcdef0', 'pcx-0123456789abcdef0', 'vgw-0123456789abcdef0').map((id) => ({ gatewayTarget: id })) },
    ),
    blackhole: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  })
  .map(
    ({ destination, origin, target, blackhole }): RouteRecord => ({
      destination,
      destinationType: destination.includes(':') ? 'ipv6' : 'ipv4',
      origin,
      state: blackhole ? 'blackhole' : 'active',
      ...target,
    }),
  );

const FIXED_ROUTES: RouteRecord[] = [
  { destination: '10.20.0.0/16', destinationType: 'ipv4', origin: 'CreateRouteTable', state: 'active', gatewayTarget: 'local' },
  { destination: 'pl-0123abcd', destinationType: 'prefix-list', origin: 'CreateRoute', state: 'active', gatewayTarget: 'vpce-0123456789abcdef0' },
];

const tableRoutes = fc.uniqueArray(routeArb, { selector: (route) => route.destination, maxLength: 10 }).map((routes) => [...FIXED_ROUTES, ...routes]);

const guardOptions: fc.Arbitrary<GuardOptions> = fc.record({
  allowEmpty: fc.boolean(),
  force: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  maxDeleteFraction: fc.constantFrom(0, 0.25, 0.5, 1),
  minDeleteBudget: fc.integer({ min: 0, max: 4 }),
});

const fault: fc.Arbitrary<Fault> = fc.record({
  // Mutations are called many times a run, reads once: mutation faults are drawn more often, so that
  // plenty of runs get past their reads.
  method: fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom<FaultMethod>(...READ_METHODS) },
    { weight: 3, arbitrary: fc.constantFrom<FaultMethod>(...MUTATION_METHODS) },
  ),
  attempt: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.integer({ min: 2, max: 4 }) }),
  kind: fc.constantFrom(...(Object.keys(FAULT_KINDS) as FaultKind[])),
  effect: fc.constantFrom<'none' | 'applied'>('none', 'applied'),
});

const worldArb = fc.record({
  nodes: ciliumNodes,
  enis: networkInterfaces,
  tables: fc.array(tableRoutes, { minLength: 1, maxLength: 3 }),
  unselected: tableRoutes,
  selector: fc.constantFrom<'ids' | 'tag'>('ids', 'tag'),
  configuredVpc: fc.boolean(),
  narrowed: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  guards: guardOptions,
  concurrency: fc.integer({ min: 1, max: 4 }),
  faults: fc.array(fault, { maxLength: 4 }),
});
type World = typeof worldArb extends fc.Arbitrary<infer T> ? T : never;

// ---------------------------------------------------------------------------------------------------------
// The oracle: what the rules say, computed from the raw records
// ---------------------------------------------------------------------------------------------------------

interface Oracle {
  podScope: Cidr[];
  selected: Set<string>;
  /** Canonical destination → the ENI it must point at (claimed by exactly one healthy, resolved, unpaused node). */
  desired: Map<string, string>;
  /** Destination → the ENIs a create or replace may point it at: those of resolved, unpaused nodes claiming it undisputed. */
  routable: Map<string, Set<string>>;
  /**
   * Networks whose routes are never rewritten nor deleted: claimed by a refused node (bad IP or malformed CIDR),
   * by an unresolved or paused node, or by two trusted nodes at once.
   */
  protectedNetworks: Cidr[];
  /** ENIs of the remote VPC carrying a refused node's IP: routes pointing there are never rewritten nor deleted. */
  protectedTargets: Set<string>;
  /** Networks any CiliumNode names in its pod CIDR fields (malformed ones by their network when it can be read). */
  claimedNetworks: Cidr[];
  /** CiliumNodes that belong to the scope (the empty-list guard's count). */
  nodeCount: number;
  /** Node IP key → names of the nodes with that IP; for the source/dest check rule. */
  nodeIps: Map<string, string[]>;
}

const ipKey = (text: string): string | undefined => {
  const parsed = parseIp(text);
  return parsed.ok ? parsed.value.key : undefined;
};

const canonical = (text: string): string | undefined => {
  const parsed = parseCidr(text);
  return parsed.ok ? parsed.value.text : undefined;
};

/** The network a pod CIDR field names, however badly written (the planner protects it too). */
function networkOf(text: string): Cidr | undefined {
  const parsed = parseCidr(text);
  if (parsed.ok) return parsed.value;
  if (parsed.network) return parsed.network;
  const trimmed = parseCidr(text.trim());
  return trimmed.ok ? trimmed.value : trimmed.network;
}

const entriesOf = (node: CiliumNodeRecord) => [...node.podCIDRs, ...node.poolCIDRs.flatMap((pool) => pool.cidrs)];
const inside = (scope: Cidr[], cidr: Cidr) => scope.some((network) => cidrContains(network, cidr));

function isManaged(route: RouteRecord, podScope: Cidr[]): boolean {
  if (route.origin !== 'CreateRoute' || route.destinationType === 'prefix-list' || route.gatewayTarget !== undefined) return false;
  if (route.networkInterfaceId === undefined && route.instanceId === undefined) return false;
  const parsed = parseCidr(route.destination);
  return parsed.ok && inside(podScope, parsed.value);
}

function oracleOf(world: World, config: ControllerConfig): Oracle {
  const podScope = cidrs(config.scope.podNetworks ?? DUAL_STACK_NETWORKS.remotePodNetworks);
  const selected = new Set(world.tables.map((_, index) => tableId(index)));
  const claimedNetworks = world.nodes.flatMap((node) => entriesOf(node).flatMap((text) => networkOf(text) ?? []));
  const nodeIps = new Map<string, string[]>();
  let nodeCount = 0;

  const facts = world.nodes.map((node) => {
    const internal = node.addresses.filter((address) => address.type === 'InternalIP').map((address) => parseIp(address.ip));
    const inScopeIp = internal.find((ip) => ip.ok && CLUSTER_NODE_NETWORKS.some((network) => cidrContainsIp(network, ip.value)));
    const ip = inScopeIp?.ok ? inScopeIp.value : undefined;
    const networks = entriesOf(node).flatMap((text) => networkOf(text) ?? []).filter((cidr) => inside(podScope, cidr));
    if (ip || networks.length > 0) nodeCount += 1;
    if (ip) nodeIps.set(ip.key, [...(nodeIps.get(ip.key) ?? []), node.name]);
    const parsed = entriesOf(node).map(parseCidr);
    // Refused: no InternalIP in the node networks, or a malformed CIDR: its data is not trusted.
    const refused = ip === undefined || parsed.some((result) => !result.ok);
    const own = parsed.flatMap((result) => (result.ok && inside(podScope, result.value) ? [result.value] : []));
    // Resolved: exactly one ENI in the remote VPC carries the IP; paused: a teardown tagged it for this node.
    const carriers = ip
      ? world.enis.filter((eni) => eni.vpcId === VPC && [...eni.privateIpAddresses, ...eni.ipv6Addresses].some((text) => ipKey(text) === ip.key))
      : [];
    // …and it is attached to an instance: an ENI with none behind it is not a node's.
    const eni = carriers.length === 1 && carriers[0]!.instanceId !== undefined ? carriers[0]! : undefined;
    const paused = eni?.tags?.[PAUSE_TAG_KEY] === node.name;
    return { node, ip, refused, own, networks, carriers, eni: eni && !paused ? eni.networkInterfaceId : undefined };
  });

  // Two trusted nodes claiming overlapping CIDRs: both CIDRs are disputed.
  const disputed = new Set<Cidr>();
  const trusted = facts.filter((fact) => !fact.refused);
  for (const a of trusted) {
    for (const b of trusted) {
      if (a === b) continue;
      for (const cidr of a.own) if (b.own.some((other) => cidrsOverlap(cidr, other))) disputed.add(cidr);
    }
  }
  const protectedNetworks = [
    ...facts.filter((fact) => fact.refused).flatMap((fact) => fact.networks),
    ...facts.filter((fact) => !fact.refused && fact.eni === undefined).flatMap((fact) => fact.own),
    ...disputed,
  ];
  // A refused node's CIDRs may not all be readable; its ENI is known, so routes to it are kept, even where a
  // trusted node is on that ENI too (either of the two may be the live one).
  const protectedTargets = new Set(
    facts.filter((fact) => fact.refused && fact.ip).flatMap((fact) => fact.carriers.map((eni) => eni.networkInterfaceId)),
  );
  const routable = new Map<string, Set<string>>();
  const desired = new Map<string, string>();
  for (const fact of facts) {
    if (fact.refused || fact.eni === undefined) continue;
    for (const cidr of fact.own) {
      if (disputed.has(cidr)) continue;
      routable.set(cidr.text, new Set([...(routable.get(cidr.text) ?? []), fact.eni]));
    }
    // Alone: no CIDR of any other node, trusted or not, overlaps any of this node's in-scope CIDRs.
    const others = facts.filter((other) => other !== fact).flatMap((other) => entriesOf(other.node).flatMap((text) => networkOf(text) ?? []));
    if (fact.own.some((cidr) => others.some((other) => cidrsOverlap(cidr, other)))) continue;
    for (const cidr of fact.own) desired.set(cidr.text, fact.eni);
  }
  return { podScope, selected, desired, routable, protectedNetworks, protectedTargets, claimedNetworks, nodeCount, nodeIps };
}

// ---------------------------------------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------------------------------------

function configOf(world: World): ControllerConfig {
  return {
    clusterName: LAB_CLUSTER,
    routeTables:
      world.selector === 'ids' ? { kind: 'ids', routeTableIds: world.tables.map((_, index) => tableId(index)) } : { kind: 'tag', ...TAG },
    ...(world.configuredVpc ? { vpcId: VPC } : {}),
    scope: world.narrowed ? { podNetworks: NARROWED_POD_NETWORKS } : {},
    guards: world.guards,
    applyConcurrency: world.concurrency,
  };
}

function fakeTables(world: World): FakeRouteTable[] {
  return [
    ...world.tables.map((routes, index) => ({ routeTableId: tableId(index), vpcId: VPC, tags: { [TAG.key]: TAG.value }, routes: structuredClone(routes) })),
    // Same VPC, not selected (no tag, not among the ids), full of routes that would be managed if it were.
    { routeTableId: UNSELECTED_TABLE, vpcId: VPC, tags: { [TAG.key]: 'false' }, routes: structuredClone(world.unselected) },
  ];
}

type Outcome = { ok: true; report: RunReport } | { ok: false; error: unknown };

async function run(deps: Parameters<typeof reconcile>[0], config: ControllerConfig, mode: 'plan' | 'apply'): Promise<Outcome> {
  try {
    return { ok: true, report: await reconcile(deps, config, mode) };
  } catch (error) {
    return { ok: false, error };
  }
}

const routeKey = (route: RouteRecord) => JSON.stringify([route.destination, route.origin, route.networkInterfaceId ?? null, route.instanceId ?? null, route.gatewayTarget ?? null, route.state]);
const sortedRoutes = (routes: RouteRecord[]) => routes.map(routeKey).sort();
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** A broken rule fails the case with what broke it (cheaper than expect() in a loop of thousands of runs). */
function rule(holds: boolean, what: string, detail?: unknown): void {
  if (!holds) throw new Error(`rule broken: ${what}${detail === undefined ? '' : `\n${JSON.stringify(detail, null, 1)}`}`);
}

/** The rules every run keeps, faults or not. `before` is EC2's state when the run started. */
function checkRun(
  name: string,
  world: World,
  oracle: Oracle,
  state: { before: FakeRouteTable[]; beforeEnis: NetworkInterfaceRecord[]; after: FakeRouteTable[]; afterEnis: NetworkInterfaceRecord[] },
  calls: LoggedCall[],
  outcome: Outcome,
): void {
  const { before, beforeEnis, after, afterEnis } = state;
  const mutations = calls.filter(isMutation);
  const failedReads = calls.filter((call) => isRead(call) && call.fault);
  const callText = (call: LoggedCall) => `${call.method}(${call.args.map((arg) => JSON.stringify(arg)).join(', ')})`;

  // A failed read aborts the run before any mutation, and the run says so.
  if (failedReads.length > 0 || !outcome.ok) {
    rule(!outcome.ok, `${name}: a read failed (${failedReads.map((call) => call.method).join(', ')}) but the run went on`);
    rule(failedReads.length > 0, `${name}: the run failed without a failed read`, outcome.ok ? undefined : String(outcome.error));
    rule(!outcome.ok && outcome.error instanceof IncompleteReadError, `${name}: a failed read is reported as IncompleteReadError`, outcome.ok ? undefined : String(outcome.error));
    rule(mutations.length === 0, `${name}: mutations after a failed read`, mutations.map(callText));
    rule(same(after, before) && same(afterEnis, beforeEnis), `${name}: EC2 state changed after a failed read`);
    return;
  }

  const table = (id: string) => before.find((candidate) => candidate.routeTableId === id);
  const routeAt = (id: string, destination: string) => table(id)?.routes.find((route) => route.destination === destination);
  const vpcEnis = new Set(beforeEnis.filter((eni) => eni.vpcId === VPC).map((eni) => eni.networkInterfaceId));

  for (const call of mutations) {
    const what = `${name}: ${callText(call)}`;
    if (call.method === 'disableSourceDestCheck') {
      const eni = beforeEnis.find((candidate) => candidate.networkInterfaceId === call.args[0]);
      rule(eni?.vpcId === VPC, `${what}: source/dest check changed on an ENI outside the remote VPC`, eni);
      // The ENI carries the IP of a CiliumNode, and no teardown paused it for that node.
      const owners = [...eni!.privateIpAddresses, ...eni!.ipv6Addresses].flatMap((text) => oracle.nodeIps.get(ipKey(text) ?? '') ?? []);
      rule(owners.some((owner) => eni!.tags?.[PAUSE_TAG_KEY] !== owner), `${what}: the ENI serves no (unpaused) node`, { eni, owners });
      continue;
    }
    const [routeTableId, destination, target] = call.args as [string, string, string | undefined];
    rule(oracle.selected.has(routeTableId), `${what}: a table that is not managed`);
    const parsed = parseCidr(destination);
    rule(parsed.ok && inside(oracle.podScope, parsed.value), `${what}: a destination outside the managed pod networks`);
    const key = parsed.ok ? parsed.value.text : undefined;
    if (call.method === 'createRoute') {
      // A create never lands on an existing route (EC2 would refuse it, and the adapter would then replace it).
      const occupant = table(routeTableId)!.routes.find((route) => canonical(route.destination) === key);
      rule(occupant === undefined, `${what}: a create over an existing route`, occupant);
    } else {
      const existing = routeAt(routeTableId, destination);
      rule(existing !== undefined && isManaged(existing, oracle.podScope), `${what}: not a managed route`, existing ?? 'no such route');
    }
    if (call.method !== 'deleteRoute') {
      rule(vpcEnis.has(target!), `${what}: the target is no ENI of the remote VPC`);
      rule(key !== undefined && (oracle.routable.get(key)?.has(target!) ?? false), `${what}: no resolved node on that ENI claims ${key} undisputed`);
    }
    if (call.method !== 'createRoute' && parsed.ok) {
      const guard = oracle.protectedNetworks.find((network) => cidrsOverlap(network, parsed.value));
      rule(guard === undefined, `${what}: the route covers ${guard?.text}, which is protected (refused, unresolved, paused or disputed)`);
      const current = routeAt(routeTableId, destination)?.networkInterfaceId;
      rule(current === undefined || !oracle.protectedTargets.has(current), `${what}: the route points at ${current}, a refused node's ENI`);
    }
    const wanted = key === undefined ? undefined : oracle.desired.get(key);
    // A route a healthy node alone claims is never deleted, and only ever pointed at that node's ENI.
    if (wanted !== undefined) rule(call.method !== 'deleteRoute' && target === wanted, `${what}: ${key} is claimed by the node on ${wanted}`);
  }

  // The guards: the deletion budget (unless forced) and the empty-list guard (unless allowed).
  const selectedBefore = before.filter((candidate) => oracle.selected.has(candidate.routeTableId));
  const managed = selectedBefore.flatMap((candidate) => candidate.routes.filter((route) => isManaged(route, oracle.podScope)));
  const activeManaged = managed.filter((route) => route.state !== 'blackhole').length;
  const deletions = mutations.filter((call) => call.method === 'deleteRoute');
  const activeDeletions = deletions.filter((call) => routeAt(call.args[0] as string, call.args[1] as string)?.state !== 'blackhole').length;
  const guards = world.guards;
  const counts = { managed: managed.length, activeManaged, deletions: deletions.length, activeDeletions, nodeCount: oracle.nodeCount, guards };
  if (oracle.nodeCount === 0 && managed.length > 0 && !guards.allowEmpty) {
    rule(deletions.length === 0, `${name}: deletions on an empty CiliumNode list`, counts);
  }
  if (!guards.force) {
    // The README's rule, written out: the share of the working (not blackholed) managed routes, rounded down,
    // at least the minimum budget.
    const share = Math.floor(Number((guards.maxDeleteFraction * activeManaged).toFixed(6)));
    rule(activeDeletions <= Math.max(guards.minDeleteBudget, share), `${name}: more deletions than the budget`, counts);
    const approvedEmpty = oracle.nodeCount === 0 && guards.allowEmpty;
    // Emptying the tables of working routes takes the configured share (or force), never the minimum budget.
    if (!approvedEmpty && activeDeletions > 0 && activeDeletions >= activeManaged) {
      rule(activeDeletions <= share, `${name}: every active managed route deleted on the minimum budget`, counts);
    }
  }

  // Every failed mutation is reported, and only those.
  const report = outcome.report;
  const faulted = mutations.filter((call) => call.fault).length;
  rule((report.outcome?.failed.length ?? 0) === faulted, `${name}: ${faulted} mutations failed, ${report.outcome?.failed.length ?? 0} reported`, report.outcome?.failed);
  rule(faulted === 0 || report.status === 'failed', `${name}: failed mutations but status ${report.status}`);

  // Nothing outside the managed scope changed: unselected tables, and every unmanaged route of the selected ones.
  for (const original of before) {
    const now = after.find((candidate) => candidate.routeTableId === original.routeTableId)!;
    if (!oracle.selected.has(original.routeTableId)) {
      rule(same(now, original), `${name}: unselected table ${original.routeTableId} changed`, { before: original, after: now });
      continue;
    }
    const present = new Set(now.routes.map(routeKey));
    for (const route of original.routes.filter((candidate) => !isManaged(candidate, oracle.podScope))) {
      rule(present.has(routeKey(route)), `${name}: unmanaged route changed in ${original.routeTableId}`, route);
    }
  }
}

async function checkCase(world: World): Promise<void> {
  const config = configOf(world);
  const ec2 = new FakeEc2(fakeTables(world), structuredClone(world.enis));
  const env = faultyWorld({ cluster: labClusterInfo(DUAL_STACK_NETWORKS), nodes: world.nodes, ec2 });
  const oracle = oracleOf(world, config);
  const snapshot = () => ({ tables: structuredClone(ec2.tables), enis: structuredClone(ec2.interfaces), from: env.schedule.log.length });
  const check = (name: string, start: ReturnType<typeof snapshot>, outcome: Outcome) =>
    checkRun(name, world, oracle, { before: start.tables, beforeEnis: start.enis, after: ec2.tables, afterEnis: ec2.interfaces }, env.schedule.since(start.from), outcome);

  // Run 1: with the faults.
  env.schedule.arm(world.faults);
  const start1 = snapshot();
  check('faulty run', start1, await run(env.deps, config, 'apply'));

  // Run 2: no fault.
  env.schedule.disarm();
  const start2 = snapshot();
  const second = await run(env.deps, config, 'apply');
  check('fault-free run', start2, second);
  if (!second.ok) throw second.error;
  const report = second.report;
  rule(report.status !== 'failed', 'the fault-free run failed', report.outcome?.failed);
  const after2 = ec2.tables;

  // Its plan, applied to the tables it read, is exactly what EC2 holds afterwards.
  const selectedBefore: RouteTableRecord[] = start2.tables
    .filter((candidate) => oracle.selected.has(candidate.routeTableId))
    .map(({ tags: _tags, ...record }) => record);
  for (const expected of applyPlanToTables(selectedBefore, report.plan)) {
    const actual = after2.find((candidate) => candidate.routeTableId === expected.routeTableId)!;
    rule(same(sortedRoutes(actual.routes), sortedRoutes(expected.routes)), `fault-free run: ${expected.routeTableId} is not what its plan says`, {
      plan: sortedRoutes(expected.routes),
      ec2: sortedRoutes(actual.routes),
    });
  }

  // Each claimed CIDR now points at its node's ENI in every selected table, unless a route this controller
  // does not manage holds the destination (reported as a conflict).
  const third = await run(env.deps, config, 'plan');
  if (!third.ok) throw third.error;
  const plan3 = third.report.plan;
  for (const tableAfter of after2.filter((candidate) => oracle.selected.has(candidate.routeTableId))) {
    const id = tableAfter.routeTableId;
    for (const [destination, eni] of oracle.desired) {
      const route = tableAfter.routes.find((candidate) => canonical(candidate.destination) === destination);
      // Left where it was: it points at a refused node's ENI.
      if (route?.networkInterfaceId !== undefined && oracle.protectedTargets.has(route.networkInterfaceId)) continue;
      if (route && !isManaged(route, oracle.podScope)) {
        rule(
          plan3.conflicts.some((conflict) => conflict.routeTableId === id && canonical(conflict.destination) === destination),
          `after convergence: ${destination} in ${id} is held by an unmanaged route but no conflict is reported`,
          route,
        );
      } else {
        rule(route?.networkInterfaceId === eni, `after convergence: ${destination} in ${id} should point at ${eni}`, route ?? 'missing');
      }
    }
    // A managed route no node claims in any way is gone, unless a guard kept it, and then the veto says so.
    for (const route of tableAfter.routes.filter((candidate) => isManaged(candidate, oracle.podScope))) {
      const destination = parseCidr(route.destination);
      if (!destination.ok || oracle.claimedNetworks.some((claimed) => cidrsOverlap(claimed, destination.value))) continue;
      if (route.networkInterfaceId !== undefined && oracle.protectedTargets.has(route.networkInterfaceId)) continue;
      const vetoed = report.plan.vetoed.some((veto) => veto.routeTableId === id && veto.destination === route.destination);
      rule(report.status === 'vetoed' && vetoed, `after convergence: stale route ${route.destination} in ${id} kept without a reported veto`, { status: report.status, route });
    }
  }
  for (const eni of ec2.interfaces.filter((candidate) => [...oracle.desired.values()].includes(candidate.networkInterfaceId))) {
    rule(!eni.sourceDestCheck, `after convergence: source/dest check still on for ${eni.networkInterfaceId}`);
  }

  // The next plan changes nothing; only deletions the guards vetoed (and reported) may still be pending.
  const { upserts, deletions } = mutationsOf(plan3);
  rule(upserts.length === 0, 'the plan after convergence still creates or replaces routes', upserts);
  rule(plan3.sourceDestCheck.every((fix) => fix.action === 'keep'), 'the plan after convergence still fixes source/dest check', plan3.sourceDestCheck);
  if (report.status === 'ok') {
    rule(deletions.length === 0, 'the plan after convergence still deletes routes', deletions);
  } else {
    rule(report.plan.vetoed.length > 0, 'status vetoed without a veto');
    const vetoed = new Set(report.plan.vetoed.map((veto) => `${veto.routeTableId} ${veto.destination}`));
    const unexplained = deletions.filter((deletion) => !vetoed.has(`${deletion.routeTableId} ${deletion.destination}`));
    rule(unexplained.length === 0, 'the plan after convergence deletes routes no guard held back', unexplained);
  }
}

describe('reconcile under random faults (property)', () => {
  test(
    'random states × random fault schedules: the safety rules hold in every run, and the fault-free run converges',
    async () => {
      await fc.assert(fc.asyncProperty(worldArb, checkCase), { numRuns: RUNS });
    },
    TIMEOUT_MS,
  );

  test(
    'a read that fails on its first call, alone or with mutation faults, aborts the run before any change',
    async () => {
      const readFault = fc.record({
        method: fc.constantFrom(...READ_METHODS),
        attempt: fc.constant(1),
        kind: fc.constantFrom(...(Object.keys(FAULT_KINDS) as FaultKind[])),
        effect: fc.constant<'none'>('none'),
      });
      const arb = fc.tuple(worldArb, readFault, fc.array(fault, { maxLength: 3 })).map(([world, read, others]) => ({ ...world, faults: [read, ...others] }));
      await fc.assert(
        fc.asyncProperty(arb, async (world) => {
          const config = configOf(world);
          const ec2 = new FakeEc2(fakeTables(world), structuredClone(world.enis));
          const env = faultyWorld({ cluster: labClusterInfo(DUAL_STACK_NETWORKS), nodes: world.nodes, ec2 });
          env.schedule.arm(world.faults);
          const before = structuredClone(ec2.tables);
          const enisBefore = structuredClone(ec2.interfaces);
          const outcome = await run(env.deps, config, 'apply');
          rule(!outcome.ok && outcome.error instanceof IncompleteReadError, 'the run is refused with IncompleteReadError', outcome.ok ? outcome.report.status : String(outcome.error));
          rule(env.schedule.log.filter(isMutation).length === 0, 'no mutation is attempted', env.schedule.log.filter(isMutation));
          rule(same(ec2.tables, before) && same(ec2.interfaces, enisBefore), 'EC2 is unchanged');
          // A Kubernetes read failure makes the service forget the cached cluster (endpoint, CA may have changed).
          const kubernetesFailed = env.schedule.log.some((call) => call.fault && (call.method === 'connectKubernetes' || call.method === 'listCiliumNodes'));
          rule(!kubernetesFailed || env.forgotten > 0, 'the cluster cache is forgotten after a Kubernetes read failure');
        }),
        { numRuns: Math.max(50, Math.round(RUNS / 2)) },
      );
    },
    TIMEOUT_MS,
  );
});
