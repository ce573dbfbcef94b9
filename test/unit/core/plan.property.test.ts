/**
 * Property-based tests of the planner over random clusters and route tables. The run count defaults
 * to a size that keeps `npm test` quick; PROPERTY_RUNS raises it (e.g. 10000 for a nightly run).
 */
import fc from 'fast-check';
import { propertyEniId, routeTablesFrom } from '../../support/arbitraries.js';
import { collectClaims } from '../../../functions/core/claims.js';
import { cidrsOverlap, mustParseCidr, parseCidr, parseIp } from '../../../functions/core/cidr.js';
import { deletionBudget } from '../../../functions/core/guards.js';
import { type RoutePlan, managedDestination, planRoutes } from '../../../functions/core/plan.js';
import { buildScope } from '../../../functions/core/scope.js';
import type { CiliumNodeRecord, GuardOptions, NetworkInterfaceRecord, NodeStatusRecord, RouteRecord, RouteTableRecord } from '../../../functions/core/types.js';
import { applyPlanToTables } from '../../support/simulate.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
const VPC = 'vpc-0remote0000000001';
const scope = buildScope({ remoteNodeNetworks: ['10.20.0.0/16', 'fd00:20::/56'], remotePodNetworks: ['10.30.0.0/16', 'fd00:30::/56'] });

/** Destinations drawn from a small pool so that claims, routes and conflicts collide often. */
const podCidr = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 11 }).map((i) => `10.30.${i}.0/24`) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 5 }).map((i) => `10.30.${i * 2}.0/23`) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((i) => `fd00:30:0:${i}::/64`) },
  { weight: 1, arbitrary: fc.constantFrom('10.40.0.0/24', '10.30.1.7/24', 'not-a-cidr', '100.64.1.0/24') },
);
const nodeIp = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 1, max: 14 }).map((i) => `10.20.1.${i}`) },
  { weight: 1, arbitrary: fc.constantFrom('10.10.5.5', 'fd00:20::7', 'garbage') },
);
const eniId = propertyEniId;

const ciliumNodes = fc.uniqueArray(
  fc.record({
    name: fc.integer({ min: 0, max: 40 }).map((i) => `mi-${i.toString(16).padStart(17, '0')}`),
    ip: fc.option(nodeIp, { nil: undefined, freq: 10 }),
    podCIDRs: fc.array(podCidr, { maxLength: 2 }),
    poolCidrs: fc.array(podCidr, { maxLength: 1 }),
  }),
  { selector: (node) => node.name, maxLength: 10 },
).map((nodes) =>
  nodes.map(
    (node): CiliumNodeRecord => ({
      name: node.name,
      addresses: node.ip ? [{ type: 'InternalIP', ip: node.ip }, { type: 'CiliumInternalIP', ip: '10.30.250.1' }] : [],
      podCIDRs: node.podCIDRs,
      poolCIDRs: node.poolCidrs.length ? [{ pool: 'default', cidrs: node.poolCidrs }] : [],
    }),
  ),
);

/** ENIs: most node IPs have one in the remote VPC; some are missing, some elsewhere, some with no instance. */
const networkInterfaces = fc
  .array(
    fc.record({
      index: fc.integer({ min: 1, max: 14 }),
      inVpc: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      sourceDestCheck: fc.boolean(),
      attached: fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    }),
    { maxLength: 14 },
  )
  .map((list) => {
    const seen = new Set<number>();
    return list
      .filter((item) => (seen.has(item.index) ? false : (seen.add(item.index), true)))
      .map(
        (item): NetworkInterfaceRecord => ({
          networkInterfaceId: eniId(item.index),
          vpcId: item.inVpc ? VPC : 'vpc-0other000000000001',
          privateIpAddresses: [`10.20.1.${item.index}`],
          ipv6Addresses: item.index === 7 ? ['fd00:20::7'] : [],
          sourceDestCheck: item.sourceDestCheck,
          ...(item.attached ? { instanceId: `i-${String(item.index).padStart(17, '0')}` } : {}),
        }),
      );
  });

/** Routes this controller must never touch, whatever else happens. */
const FOREIGN_ROUTES: RouteRecord[] = [
  { destination: '10.20.0.0/16', destinationType: 'ipv4', origin: 'CreateRouteTable', state: 'active', gatewayTarget: 'local' },
  { destination: '10.10.0.0/16', destinationType: 'ipv4', origin: 'CreateRoute', state: 'active', gatewayTarget: 'tgw-0123456789abcdef0' },
  { destination: '100.64.0.0/10', destinationType: 'ipv4', origin: 'CreateRoute', state: 'active', gatewayTarget: 'tgw-0123456789abcdef0' },
  { destination: 'pl-0123abcd', destinationType: 'prefix-list', origin: 'CreateRoute', state: 'active', gatewayTarget: 'vpce-0123456789abcdef0' },
  { destination: '10.30.9.0/24', destinationType: 'ipv4', origin: 'CreateRoute', state: 'active', gatewayTarget: 'tgw-0123456789abcdef0' },
  { destination: '10.30.10.0/24', destinationType: 'ipv4', origin: 'EnableVgwRoutePropagation', state: 'active', gatewayTarget: 'vgw-0123456789abcdef0' },
  { destination: '10.40.0.0/24', destinationType: 'ipv4', origin: 'CreateRoute', state: 'active', networkInterfaceId: eniId(3) },
];

const managedRoute = fc.record({
  destination: fc.oneof(
    fc.integer({ min: 0, max: 8 }).map((i) => `10.30.${i}.0/24`),
    fc.constantFrom('10.30.2.0/23', 'fd00:30:0:1::/64'),
  ),
  eni: fc.integer({ min: 1, max: 16 }),
  blackhole: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

const routeTables = fc
  .array(fc.uniqueArray(managedRoute, { selector: (route) => route.destination, maxLength: 8 }), { minLength: 1, maxLength: 3 })
  .map((tables) => routeTablesFrom(tables, FOREIGN_ROUTES, VPC));

const guardOptions = fc.record({
  allowEmpty: fc.boolean(),
  force: fc.boolean(),
  maxDeleteFraction: fc.constantFrom(0, 0.25, 0.5, 1),
  minDeleteBudget: fc.integer({ min: 0, max: 4 }),
});

const world = fc.record({ nodes: ciliumNodes, enis: networkInterfaces, tables: routeTables, guards: guardOptions });

function plan(nodes: CiliumNodeRecord[], enis: NetworkInterfaceRecord[], tables: RouteTableRecord[], guards: GuardOptions): RoutePlan {
  return planRoutes({ scope, claims: collectClaims(nodes, scope), vpcId: VPC, networkInterfaces: enis, routeTables: tables, guards, now: PLAN_NOW });
}

/** These worlds carry no timestamps, so no node is checked and the clock does not matter. */
const PLAN_NOW = Date.parse('2026-12-01T00:00:00.000Z');
const MUTATIONS = new Set(['create', 'replace', 'delete']);
const OPEN: GuardOptions = { allowEmpty: true, force: true, maxDeleteFraction: 1, minDeleteBudget: 0 };

describe('planRoutes properties', () => {
  test('applying a plan (guards open) reaches the desired state, and the next plan changes nothing', () => {
    fc.assert(
      fc.property(world, ({ nodes, enis, tables }) => {
        const first = plan(nodes, enis, tables, OPEN);
        const after = applyPlanToTables(tables, first);
        const second = plan(nodes, enis, after, OPEN);
        expect(second.actions.filter((action) => MUTATIONS.has(action.action))).toEqual([]);
        expect(second.conflicts).toEqual(first.conflicts);

        // Every resolved claim is routed to its ENI in every table, unless an unmanaged route holds it.
        const claims = collectClaims(nodes, scope);
        for (const node of claims.nodes) {
          const eni = enis.filter((e) => e.vpcId === VPC && [...e.privateIpAddresses, ...e.ipv6Addresses].includes(node.ip.text));
          if (eni.length !== 1 || eni[0]!.instanceId === undefined) continue;
          for (const table of after) {
            for (const cidr of node.cidrs) {
              const route = table.routes.find((r) => parseCidr(r.destination).ok && mustParseCidr(r.destination).text === cidr.text);
              const conflict = first.conflicts.some((c) => c.routeTableId === table.routeTableId && mustParseCidr(c.destination).text === cidr.text);
              // A route that also covers a disputed CIDR is left as it is (protected), by design.
              const guarded = first.protected.some((p) => p.routeTableId === table.routeTableId && cidrsOverlap(mustParseCidr(p.destination), cidr));
              if (!conflict && !guarded) expect(route?.networkInterfaceId).toBe(eni[0]!.networkInterfaceId);
            }
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('no action ever touches a route that is not managed, and foreign routes survive unchanged', () => {
    fc.assert(
      fc.property(world, ({ nodes, enis, tables, guards }) => {
        const result = plan(nodes, enis, tables, guards);
        for (const action of result.actions.filter((a) => a.action === 'replace' || a.action === 'delete')) {
          const table = tables.find((t) => t.routeTableId === action.routeTableId)!;
          const route = table.routes.find((r) => r.destination === action.destination)!;
          expect(route).toBeDefined();
          expect(managedDestination(route, scope)).toBeDefined();
        }
        for (const action of result.actions.filter((a) => a.action === 'create')) {
          const parsed = mustParseCidr(action.destination);
          expect(scope.podNetworks.some((network) => cidrsOverlap(network, parsed))).toBe(true);
          const table = tables.find((t) => t.routeTableId === action.routeTableId)!;
          expect(table.routes.some((r) => parseCidr(r.destination).ok && mustParseCidr(r.destination).text === parsed.text)).toBe(false);
        }
        const after = applyPlanToTables(tables, result);
        for (const table of after) {
          for (const foreign of FOREIGN_ROUTES) expect(table.routes).toContainEqual(foreign);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('a veto never lets a deletion through, and the budget holds unless forced', () => {
    fc.assert(
      fc.property(world, ({ nodes, enis, tables, guards }) => {
        const result = plan(nodes, enis, tables, guards);
        const deletions = result.actions.filter((a) => a.action === 'delete');
        for (const vetoed of result.vetoed) {
          expect(deletions.some((d) => d.routeTableId === vetoed.routeTableId && d.destination === vetoed.destination)).toBe(false);
          const kept = result.actions.find((a) => a.routeTableId === vetoed.routeTableId && a.destination === vetoed.destination);
          expect(kept?.action).toBe('keep');
        }
        if (nodes.length === 0 && result.counts.managedRoutes > 0 && !guards.allowEmpty) expect(deletions).toEqual([]);
        if (!guards.force) {
          const active = deletions.filter((d) => !d.blackhole);
          const working = tables.flatMap((table) => table.routes).filter((route) => managedDestination(route, scope) && route.state !== 'blackhole').length;
          expect(active.length).toBeLessThanOrEqual(deletionBudget(working, guards));
          // Only the configured share (all of them) or an approved empty list can take every working route.
          const approvedEmpty = collectClaims(nodes, scope).nodeCount === 0 && guards.allowEmpty;
          if (working > 0 && guards.maxDeleteFraction < 1 && !approvedEmpty) expect(active.length).toBeLessThan(working);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('routes claimed by refused, conflicting or unresolved nodes are left exactly as they are', () => {
    fc.assert(
      fc.property(world, ({ nodes, enis, tables, guards }) => {
        const claims = collectClaims(nodes, scope);
        const result = plan(nodes, enis, tables, guards);
        const guarded = [
          ...claims.protected.map((p) => p.cidr),
          ...result.unresolved.flatMap((u) => u.cidrs.map((text) => mustParseCidr(text))),
        ];
        const after = applyPlanToTables(tables, result);
        for (const [index, table] of tables.entries()) {
          for (const route of table.routes) {
            const destination = managedDestination(route, scope);
            if (destination && guarded.some((cidr) => cidrsOverlap(cidr, destination))) {
              expect(after[index]!.routes).toContainEqual(route);
            }
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('counts agree with the actions, and drift is exactly the mutations plus vetoes', () => {
    fc.assert(
      fc.property(world, ({ nodes, enis, tables, guards }) => {
        const result = plan(nodes, enis, tables, guards);
        const count = (kind: string) => result.actions.filter((a) => a.action === kind).length;
        expect(result.counts).toMatchObject({ create: count('create'), replace: count('replace'), delete: count('delete'), keep: count('keep') });
        expect(result.counts.drift).toBe(count('create') + count('replace') + count('delete') + result.vetoed.length);
        const keys = result.actions.map((a) => `${a.routeTableId} ${a.destination}`);
        expect(new Set(keys).size).toBe(keys.length);
      }),
      { numRuns: RUNS },
    );
  });
});

/** Times from a small pool, so that a CiliumNode, an attachment and a heartbeat are often in either order or equal. */
const NOW = '2026-12-01T00:05:00.000Z';
const TIMES = [
  '2026-11-01T00:00:00.000Z',
  '2026-11-15T00:00:00.000Z',
  '2026-12-01T00:00:00.000Z', // 5 minutes before NOW: recent
  '2026-12-01T00:07:00.000Z', // 2 minutes ahead of NOW: within the tolerance
  '2026-12-01T01:00:00.000Z', // 55 minutes ahead: beyond it
  'not a time',
];
const maybeTime = fc.option(fc.constantFrom(...TIMES), { nil: undefined, freq: 12 });
const nodeStatus: fc.Arbitrary<NodeStatusRecord | undefined> = fc.option(
  fc.oneof(
    { weight: 1, arbitrary: fc.constant<NodeStatusRecord>({ state: 'not-found' }) },
    { weight: 1, arbitrary: fc.constant<NodeStatusRecord>({ state: 'unreadable', error: 'HTTP 403 Forbidden' }) },
    {
      weight: 6,
      arbitrary: fc.record({
        state: fc.constant('found' as const),
        internalIps: fc.array(fc.oneof(fc.integer({ min: 1, max: 14 }).map((i) => `10.20.1.${i}`), fc.constant('fd00:20:0::7')), { maxLength: 2 }),
        readyHeartbeat: fc.constantFrom(...TIMES),
      }),
    },
  ),
  { nil: undefined, freq: 4 },
);
const timedWorld = world.chain((base) =>
  fc.record({
    base: fc.constant(base),
    createdAt: fc.array(maybeTime, { minLength: base.nodes.length, maxLength: base.nodes.length }),
    attachTime: fc.array(maybeTime, { minLength: base.enis.length, maxLength: base.enis.length }),
    statuses: fc.array(nodeStatus, { minLength: base.nodes.length, maxLength: base.nodes.length }),
  }),
);

/**
 * The rule, restated from the data alone (not from the planner's own helpers): may this node be routed to this ENI?
 * No when both times are known and the IP is a secondary/IPv6 address or the ENI was attached after the CiliumNode,
 * unless the Node reports the IP with a heartbeat not beyond NOW + 5 min and not older than the attachment (primary)
 * or than NOW − 15 min (secondary).
 */
function mayRoute(node: CiliumNodeRecord, ip: string, eni: NetworkInterfaceRecord, status: NodeStatusRecord | undefined): boolean {
  const created = Date.parse(node.createdAt ?? '');
  const attached = Date.parse(eni.attachTime ?? '');
  if (!Number.isFinite(created) || !Number.isFinite(attached)) return true;
  const canonical = (text: string) => (parseIp(text).ok ? (parseIp(text) as { value: { key: string } }).value.key : text);
  const primary = eni.privateIpAddresses[0] !== undefined && canonical(eni.privateIpAddresses[0]) === canonical(ip);
  if (primary && attached <= created) return true;
  if (status?.state !== 'found' || !status.internalIps.some((reported) => canonical(reported) === canonical(ip))) return false;
  const heartbeat = Date.parse(status.readyHeartbeat ?? '');
  const now = Date.parse(NOW);
  return Number.isFinite(heartbeat) && heartbeat <= now + 5 * 60_000 && heartbeat >= (primary ? attached : now - 15 * 60_000);
}

describe('planRoutes properties: addresses that may have passed to another machine', () => {
  test('a node is routed to an ENI only when the rule allows it; otherwise that ENI gets no route or check for it, and its routes stay as they are', () => {
    fc.assert(
      fc.property(timedWorld, ({ base, createdAt, attachTime, statuses }) => {
        const nodes = base.nodes.map((node, i) => (createdAt[i] ? { ...node, createdAt: createdAt[i] } : node));
        const enis = base.enis.map((eni, i) => (attachTime[i] ? { ...eni, attachTime: attachTime[i] } : eni));
        const nodeStatuses = new Map(nodes.flatMap((node, i) => (statuses[i] ? [[node.name, statuses[i]] as const] : [])));
        const claims = collectClaims(nodes, scope);
        const result = planRoutes({ scope, claims, vpcId: VPC, networkInterfaces: enis, routeTables: base.tables, guards: base.guards, nodeStatuses, now: Date.parse(NOW) });
        const after = applyPlanToTables(base.tables, result);
        for (const claim of claims.nodes) {
          const carriers = enis.filter((e) => e.vpcId === VPC && [...e.privateIpAddresses, ...e.ipv6Addresses].some((text) => parseIp(text).ok && (parseIp(text) as { value: { key: string } }).value.key === claim.ip.key));
          if (carriers.length !== 1 || carriers[0]!.instanceId === undefined) continue; // unresolved for other reasons
          const eni = carriers[0]!;
          const record = nodes.find((node) => node.name === claim.node)!;
          const routed = result.routed.some((r) => r.node === claim.node);
          if (mayRoute(record, claim.ip.text, eni, nodeStatuses.get(claim.node))) {
            // Not held by this rule (a teardown pause tag is the only other reason a resolved node is not routed).
            expect(routed || result.paused.some((p) => p.node === claim.node)).toBe(true);
            continue;
          }
          expect(routed).toBe(false);
          expect(result.unresolved.some((u) => u.node === claim.node)).toBe(true);
          expect(result.sourceDestCheck.filter((fix) => fix.node === claim.node)).toEqual([]);
          for (const action of result.actions) {
            if (action.action === 'create' || action.action === 'replace') expect(action.node === claim.node).toBe(false);
          }
          for (const [index, table] of base.tables.entries()) {
            for (const route of table.routes) {
              const destination = managedDestination(route, scope);
              if (destination && claim.cidrs.some((cidr) => cidrsOverlap(cidr, destination))) expect(after[index]!.routes).toContainEqual(route);
            }
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});
