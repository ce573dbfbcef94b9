/**
 * Property-based tests of the teardown's route decisions: which planner deletions belong to the removed
 * nodes (routesOfRemovedNodes), that the planner leaves a paused node's routes to the teardown, and that a
 * pause tag naming some other node pauses nothing. The run count defaults to 200; PROPERTY_RUNS raises it.
 */
import fc from 'fast-check';
import { propertyEniId, routeTablesFrom } from '../../support/arbitraries.js';
import { collectClaims } from '../../../functions/core/claims.js';
import { type Cidr, cidrsOverlap, parseCidr, parseIp } from '../../../functions/core/cidr.js';
import { type RouteAction, planRoutes } from '../../../functions/core/plan.js';
import { buildScope, inPodScope } from '../../../functions/core/scope.js';
import { PAUSE_TAG_KEY } from '../../../functions/core/teardown-steps.js';
import { type NodeTarget, routesOfRemovedNodes } from '../../../functions/core/teardown.js';
import type { CiliumNodeRecord, NetworkInterfaceRecord, RouteRecord, RouteTableRecord } from '../../../functions/core/types.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200);
const VPC = 'vpc-0remote0000000001';
const scope = buildScope({ remoteNodeNetworks: ['10.20.0.0/16', 'fd00:20::/56'], remotePodNetworks: ['10.30.0.0/16', 'fd00:30::/56'] });

const eniId = propertyEniId;
const nodeName = (i: number) => `mi-${i.toString(16).padStart(17, '0')}`;

/** Destinations from a small pool, so that removed CIDRs, deletions and claims collide often. */
const destination = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 11 }).map((i) => `10.30.${i}.0/24`) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 5 }).map((i) => `10.30.${i * 2}.0/23`) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 11 }).map((i) => `10.30.${i}.128/25`) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((i) => `fd00:30:0:${i}::/64`) },
  { weight: 1, arbitrary: fc.constantFrom('10.30.0.0/16', 'pl-0123abcd', 'not-a-cidr') },
);

// ---------------------------------------------------------------------------------------------------------
// routesOfRemovedNodes
// ---------------------------------------------------------------------------------------------------------

const deletion = fc
  .record({
    table: fc.constantFrom('rtb-00000000000000001', 'rtb-00000000000000002'),
    destination,
    target: fc.option(fc.oneof(fc.integer({ min: 1, max: 10 }).map(eniId), fc.constantFrom('i-0abc1234def567890', 'tgw-0123456789abcdef0')), {
      nil: undefined,
      freq: 6,
    }),
    blackhole: fc.boolean(),
  })
  .map(
    (entry): RouteAction => ({
      routeTableId: entry.table,
      destination: entry.destination,
      action: 'delete',
      ...(entry.target ? { previousTarget: entry.target } : {}),
      reason: 'stale: no node claims it',
      ...(entry.blackhole ? { blackhole: true } : {}),
    }),
  );

const removedNode = fc
  .record({
    index: fc.integer({ min: 1, max: 12 }),
    enis: fc.uniqueArray(fc.integer({ min: 1, max: 10 }), { maxLength: 2 }),
    cidrs: fc.uniqueArray(fc.oneof({ weight: 6, arbitrary: destination }, { weight: 1, arbitrary: fc.constant('10.30.1.7/24') }), { maxLength: 3 }),
  })
  .map((entry): NodeTarget => ({ name: nodeName(entry.index), networkInterfaceIds: entry.enis.map(eniId), cidrs: entry.cidrs }));

const removedNodes = fc.uniqueArray(removedNode, { selector: (node) => node.name, maxLength: 5 });

/** The oracle: a deletion belongs to the removed nodes when it targets one of their ENIs or overlaps one of their CIDRs. */
function related(action: RouteAction, removed: NodeTarget[]): boolean {
  if (action.previousTarget !== undefined && removed.some((node) => node.networkInterfaceIds.includes(action.previousTarget!))) return true;
  const parsed = parseCidr(action.destination);
  if (!parsed.ok) return false;
  return removed.some((node) =>
    node.cidrs.some((text) => {
      const cidr = parseCidr(text);
      return cidr.ok && cidrsOverlap(cidr.value, parsed.value);
    }),
  );
}

describe('routesOfRemovedNodes properties', () => {
  test('partial: never a deletion unrelated to the removed nodes, and every related one', () => {
    fc.assert(
      fc.property(fc.array(deletion, { maxLength: 20 }), removedNodes, (deletions, removed) => {
        const result = routesOfRemovedNodes(deletions, removed, false);
        for (const action of result) expect(related(action, removed)).toBe(true);
        expect(result).toEqual(deletions.filter((action) => related(action, removed)));
      }),
      { numRuns: RUNS },
    );
  });

  test('partial: the result is a subsequence of the input (same objects, same order)', () => {
    fc.assert(
      fc.property(fc.array(deletion, { maxLength: 20 }), removedNodes, (deletions, removed) => {
        const result = routesOfRemovedNodes(deletions, removed, false);
        let cursor = 0;
        for (const action of result) {
          const at = deletions.indexOf(action, cursor);
          expect(at).toBeGreaterThanOrEqual(cursor);
          cursor = at + 1;
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('partial: removing more nodes never keeps fewer deletions', () => {
    fc.assert(
      fc.property(fc.array(deletion, { maxLength: 20 }), removedNodes, removedNodes, (deletions, some, more) => {
        const small = routesOfRemovedNodes(deletions, some, false);
        const large = routesOfRemovedNodes(deletions, [...some, ...more], false);
        for (const action of small) expect(large).toContain(action);
      }),
      { numRuns: RUNS },
    );
  });

  test('partial with no removed node: nothing', () => {
    fc.assert(
      fc.property(fc.array(deletion, { maxLength: 20 }), (deletions) => {
        expect(routesOfRemovedNodes(deletions, [], false)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  test('all: exactly the input', () => {
    fc.assert(
      fc.property(fc.array(deletion, { maxLength: 20 }), removedNodes, (deletions, removed) => {
        expect(routesOfRemovedNodes(deletions, removed, true)).toEqual(deletions);
      }),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// planRoutes and paused nodes
// ---------------------------------------------------------------------------------------------------------

const podCidr = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 11 }).map((i) => `10.30.${i}.0/24`) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 5 }).map((i) => `10.30.${i * 2}.0/23`) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((i) => `fd00:30:0:${i}::/64`) },
  { weight: 1, arbitrary: fc.constantFrom('10.40.0.0/24', '10.30.1.7/24', 'not-a-cidr') },
);

const ciliumNodes = fc
  .uniqueArray(
    fc.record({
      index: fc.integer({ min: 0, max: 30 }),
      ip: fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: 12 }).map((i) => `10.20.1.${i}`) }, { weight: 1, arbitrary: fc.constant('fd00:20::7') }),
      podCIDRs: fc.array(podCidr, { maxLength: 2 }),
      poolCidrs: fc.array(podCidr, { maxLength: 1 }),
    }),
    { selector: (node) => node.index, maxLength: 8 },
  )
  .map((nodes) =>
    nodes.map(
      (node): CiliumNodeRecord => ({
        name: nodeName(node.index),
        addresses: [{ type: 'InternalIP', ip: node.ip }, { type: 'CiliumInternalIP', ip: '10.30.250.1' }],
        podCIDRs: node.podCIDRs,
        poolCIDRs: node.poolCidrs.length ? [{ pool: 'default', cidrs: node.poolCidrs }] : [],
      }),
    ),
  );

/**
 * ENIs for IPs 1..12, a few in another VPC, a few duplicated; some tagged by a teardown. The tag value is what
 * decides: the name of the node that claims the ENI's IP (that node is paused), or a name that is not (another
 * generated node's, one of no node at all): a leftover that must pause nothing. Generated with the nodes, so
 * that the tag can name the node claiming the ENI.
 */
const nodesAndInterfaces = fc
  .tuple(
    ciliumNodes,
    fc.uniqueArray(
      fc.record({
        index: fc.integer({ min: 1, max: 14 }),
        ip: fc.integer({ min: 1, max: 12 }),
        inVpc: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        tag: fc.oneof(
          { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
          { weight: 2, arbitrary: fc.constant({ kind: 'claimer' as const }) },
          { weight: 1, arbitrary: fc.integer({ min: 0, max: 31 }).map((pick) => ({ kind: 'other' as const, pick })) },
        ),
        sourceDestCheck: fc.boolean(),
        // Now and then an ENI with no instance behind it (detached or AWS-managed): it is nobody's.
        attached: fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      }),
      { selector: (entry) => entry.index, maxLength: 14 },
    ),
  )
  .map(([nodes, list]) => {
    const claims = collectClaims(nodes, scope).nodes;
    const enis = list.map((entry): NetworkInterfaceRecord => {
      const addresses = [`10.20.1.${entry.ip}`, ...(entry.ip === 7 ? ['fd00:20::7'] : [])];
      const claimer = claims.find((claim) => addresses.some((text) => sameIp(text, claim.ip.key)))?.node;
      const others = [...nodes.map((node) => node.name).filter((name) => name !== claimer), `node-of-${entry.ip}`];
      const value = entry.tag.kind === 'none' ? undefined : entry.tag.kind === 'claimer' ? (claimer ?? `node-of-${entry.ip}`) : others[entry.tag.pick % others.length]!;
      return {
        networkInterfaceId: eniId(entry.index),
        vpcId: entry.inVpc ? VPC : 'vpc-0other000000000001',
        privateIpAddresses: [addresses[0]!],
        ipv6Addresses: addresses.slice(1),
        sourceDestCheck: entry.sourceDestCheck,
        ...(entry.attached ? { instanceId: `i-${String(entry.index).padStart(17, '0')}` } : {}),
        tags: value === undefined ? { Name: 'hybrid' } : { [PAUSE_TAG_KEY]: value, Name: 'hybrid' },
      };
    });
    return { nodes, enis };
  });

function sameIp(text: string, key: string): boolean {
  const ip = parseIp(text);
  return ip.ok && ip.value.key === key;
}

const FOREIGN_ROUTES: RouteRecord[] = [
  { destination: '10.20.0.0/16', destinationType: 'ipv4', origin: 'CreateRouteTable', state: 'active', gatewayTarget: 'local' },
  { destination: '10.10.0.0/16', destinationType: 'ipv4', origin: 'CreateRoute', state: 'active', gatewayTarget: 'tgw-0123456789abcdef0' },
  { destination: 'pl-0123abcd', destinationType: 'prefix-list', origin: 'CreateRoute', state: 'active', gatewayTarget: 'vpce-0123456789abcdef0' },
];

const routeTables = fc
  .array(
    fc.uniqueArray(
      fc.record({
        destination: fc.oneof(fc.integer({ min: 0, max: 11 }).map((i) => `10.30.${i}.0/24`), fc.constantFrom('10.30.2.0/23', 'fd00:30:0:1::/64')),
        eni: fc.integer({ min: 1, max: 16 }),
        blackhole: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      }),
      { selector: (route) => route.destination, maxLength: 10 },
    ),
    { minLength: 1, maxLength: 2 },
  )
  .map((tables) => routeTablesFrom(tables, FOREIGN_ROUTES, VPC));

const guards = fc.record({
  allowEmpty: fc.boolean(),
  force: fc.boolean(),
  maxDeleteFraction: fc.constantFrom(0, 0.5, 1),
  minDeleteBudget: fc.integer({ min: 0, max: 4 }),
});

/**
 * The paused nodes, worked out from the input alone: a node whose claim is accepted and whose IP is carried
 * by exactly one ENI in the remote VPC, attached to an instance, that ENI carrying the pause tag with this node's name as its value.
 * Its CIDRs: every valid in-scope CIDR the CiliumNode lists.
 */
function pausedNodes(nodes: CiliumNodeRecord[], enis: NetworkInterfaceRecord[]): { node: string; eni: string; cidrs: Cidr[] }[] {
  const claims = collectClaims(nodes, scope);
  return claims.nodes.flatMap((claim) => {
    const carrying = enis.filter(
      (candidate) =>
        candidate.vpcId === VPC &&
        [...candidate.privateIpAddresses, ...candidate.ipv6Addresses].some((text) => sameIp(text, claim.ip.key)),
    );
    if (carrying.length !== 1 || carrying[0]!.instanceId === undefined || carrying[0]!.tags?.[PAUSE_TAG_KEY] !== claim.node) return [];
    const record = nodes.find((candidate) => candidate.name === claim.node)!;
    const cidrs = [...record.podCIDRs, ...record.poolCIDRs.flatMap((pool) => pool.cidrs)].flatMap((text) => {
      const parsed = parseCidr(text);
      return parsed.ok && inPodScope(scope, parsed.value) ? [parsed.value] : [];
    });
    return [{ node: claim.node, eni: carrying[0]!.networkInterfaceId, cidrs }];
  });
}

describe('planRoutes with paused nodes', () => {
  test('never creates, replaces or deletes a route overlapping a paused node’s CIDRs', () => {
    let sawPausedWithRoutes = 0;
    fc.assert(
      fc.property(nodesAndInterfaces, routeTables, guards, ({ nodes, enis }, tables, guardOptions) => {
        const plan = planRoutes({ scope, claims: collectClaims(nodes, scope), vpcId: VPC, networkInterfaces: enis, routeTables: tables, guards: guardOptions, now: Date.parse('2026-12-01T00:00:00.000Z') });
        const paused = pausedNodes(nodes, enis);
        const mutations = plan.actions.filter((action) => action.action === 'create' || action.action === 'replace' || action.action === 'delete');
        for (const node of paused) {
          for (const action of mutations) {
            const parsed = parseCidr(action.destination);
            expect(parsed.ok).toBe(true);
            if (!parsed.ok) continue;
            const overlapping = node.cidrs.filter((cidr) => cidrsOverlap(cidr, parsed.value));
            expect({ node: node.node, action, overlapping: overlapping.map((cidr) => cidr.text) }).toEqual({ node: node.node, action, overlapping: [] });
          }
          if (tables.some((table) => table.routes.some((route) => { const parsed = parseCidr(route.destination); return parsed.ok && node.cidrs.some((cidr) => cidrsOverlap(cidr, parsed.value)); }))) {
            sawPausedWithRoutes += 1;
          }
        }
      }),
      { numRuns: RUNS },
    );
    // The generators do produce paused nodes whose routes exist (otherwise the property says nothing).
    expect(sawPausedWithRoutes).toBeGreaterThan(0);
  });

  test('a paused node is reported as paused, is not routed, and its ENI’s source/dest check is left alone', () => {
    let sawPaused = 0;
    fc.assert(
      fc.property(nodesAndInterfaces, routeTables, guards, ({ nodes, enis }, tables, guardOptions) => {
        const plan = planRoutes({ scope, claims: collectClaims(nodes, scope), vpcId: VPC, networkInterfaces: enis, routeTables: tables, guards: guardOptions, now: Date.parse('2026-12-01T00:00:00.000Z') });
        const paused = pausedNodes(nodes, enis);
        if (paused.length > 0) sawPaused += 1;
        expect(plan.paused.map((entry) => entry.node).sort()).toEqual(paused.map((entry) => entry.node).sort());
        for (const entry of plan.paused) expect(entry.pausedFor).toBe(entry.node);
        for (const node of paused) {
          expect(plan.routed.map((entry) => entry.node)).not.toContain(node.node);
          // Another node claiming the same IP (a CiliumNode left from before the instance rejoined) is not paused
          // by a tag that names someone else: that node's ENI is planned for it.
          if (plan.routed.some((entry) => entry.networkInterfaceId === node.eni)) continue;
          expect(plan.sourceDestCheck.map((entry) => entry.networkInterfaceId)).not.toContain(node.eni);
          expect(plan.actions.filter((action) => action.target === node.eni && action.action !== 'keep')).toEqual([]);
        }
      }),
      { numRuns: RUNS },
    );
    expect(sawPaused).toBeGreaterThan(0);
  });

  test('a pause tag that does not name the node claiming the ENI changes nothing: the plan is the one without it', () => {
    let sawMismatchOnClaimedEni = 0;
    fc.assert(
      fc.property(nodesAndInterfaces, routeTables, guards, ({ nodes, enis }, tables, guardOptions) => {
        const claims = collectClaims(nodes, scope);
        const claimersOf = (eni: NetworkInterfaceRecord) =>
          claims.nodes.filter((claim) => [...eni.privateIpAddresses, ...eni.ipv6Addresses].some((text) => sameIp(text, claim.ip.key))).map((claim) => claim.node);
        const mismatched = (eni: NetworkInterfaceRecord) => {
          const value = eni.tags?.[PAUSE_TAG_KEY];
          return value !== undefined && !claimersOf(eni).includes(value);
        };
        if (enis.some((eni) => eni.vpcId === VPC && mismatched(eni) && claimersOf(eni).length > 0)) sawMismatchOnClaimedEni += 1;
        const stripped = enis.map((eni) => {
          if (!mismatched(eni)) return eni;
          const { [PAUSE_TAG_KEY]: _dropped, ...rest } = eni.tags!;
          return { ...eni, tags: rest };
        });
        const input = (networkInterfaces: NetworkInterfaceRecord[]) => ({ scope, claims, vpcId: VPC, networkInterfaces, routeTables: tables, guards: guardOptions, now: Date.parse('2026-12-01T00:00:00.000Z') });
        expect(planRoutes(input(enis))).toEqual(planRoutes(input(stripped)));
      }),
      { numRuns: RUNS },
    );
    // The generators do put mismatched tags on ENIs that a node claims (otherwise the property says nothing).
    expect(sawMismatchOnClaimedEni).toBeGreaterThan(0);
  });
});
