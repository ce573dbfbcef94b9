import {
  type RouteAction,
  type RoutePlan,
  managedDestination,
  applyOrder,
  mutationsOf,
  planRoutes,
  routeTarget,
} from '../../../functions/core/plan.js';
import { PAUSE_TAG_KEY } from '../../../functions/core/teardown-steps.js';
import type { RouteRecord } from '../../../functions/core/types.js';
import {
  OTHER_VPC,
  REMOTE_VPC,
  type Scenario,
  TGW,
  actionLine,
  actionLines,
  ciliumNode,
  dualStackScope,
  eni,
  eniId,
  foreignRoutes,
  labScope,
  nodeName,
  plan,
  planInput,
  route,
  table,
} from '../../support/builders.js';

const T1 = 'rtb-0000000000000000a';
const T2 = 'rtb-0000000000000000b';
const n = nodeName;
const E = eniId;
const E9 = eniId(0x99); // an ENI no current node has: the previous target of stale and wrong routes
const ipOf = (i: number) => `10.20.1.${i}`;
const pod = (i: number) => `10.30.${i}.0/24`;
/** Node i at 10.20.1.i claiming 10.30.i.0/24 (or the given CIDRs). */
const node = (i: number, cidrs: string[] = [pod(i)]) => ciliumNode(n(i), ipOf(i), cidrs);
/** Node i's ENI in the remote VPC. */
const nic = (i: number, options: Parameters<typeof eni>[2] = {}) => eni(E(i), ipOf(i), options);
/** A table with the foreign routes every lab table carries, plus the given ones. */
const tbl = (id: string, routes: RouteRecord[]) => table(id, [...foreignRoutes(), ...routes]);
const refusedNode = ciliumNode('mi-0000000000000refd', '10.10.5.5', [pod(9)]);

interface PlanCase extends Scenario {
  name: string;
  actions: string[];
  /** action line → reason pattern */
  reasons?: Record<string, RegExp>;
  /** `table destination node existingTarget` */
  conflicts?: string[];
  /** `table destination node` */
  protectedRoutes?: string[];
  /** `node ip` → reason pattern */
  unresolved?: Record<string, RegExp>;
  /** `table destination guard` */
  vetoed?: string[];
}

const stale = (from: number, count: number, state: 'active' | 'blackhole' = 'active') =>
  Array.from({ length: count }, (_, k) => route.managed(pod(from + k), E9, state));

const cases: PlanCase[] = [
  {
    name: 'create a missing route',
    nodes: [node(1)],
    enis: [nic(1)],
    tables: [tbl(T1, [])],
    actions: [`create ${T1} 10.30.1.0/24 -> ${E(1)}`],
    reasons: { [`create ${T1} 10.30.1.0/24 -> ${E(1)}`]: new RegExp(`missing: ${n(1)} claims 10.30.1.0/24`) },
  },
  {
    name: 'keep a route in place',
    nodes: [node(1)],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(1), E(1))])],
    actions: [`keep ${T1} 10.30.1.0/24 -> ${E(1)}`],
    reasons: { [`keep ${T1} 10.30.1.0/24 -> ${E(1)}`]: /^in place$/ },
  },
  {
    name: 'replace a route with the wrong target',
    nodes: [node(1)],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(1), E9)])],
    actions: [`replace ${T1} 10.30.1.0/24 -> ${E(1)}`],
    reasons: { [`replace ${T1} 10.30.1.0/24 -> ${E(1)}`]: new RegExp(`wrong target: ${n(1)} is on ${E(1)}`) },
  },
  {
    name: 'replace a blackholed route',
    nodes: [node(1)],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(1), E9, 'blackhole')])],
    actions: [`replace ${T1} 10.30.1.0/24 -> ${E(1)} [blackhole]`],
    reasons: { [`replace ${T1} 10.30.1.0/24 -> ${E(1)} [blackhole]`]: /^blackhole: / },
  },
  {
    name: "keep a blackholed route that already points at the node's ENI",
    nodes: [node(1)],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(1), E(1), 'blackhole')])],
    actions: [`keep ${T1} 10.30.1.0/24 -> ${E(1)} [blackhole]`],
    reasons: { [`keep ${T1} 10.30.1.0/24 -> ${E(1)} [blackhole]`]: /blackhole.*kept/ },
  },
  {
    name: 'replace an instance-target route that reports no ENI',
    nodes: [node(1)],
    enis: [nic(1, { instanceId: 'i-0123456789abcdef1' })],
    tables: [tbl(T1, [route.instance(pod(1), 'i-0123456789abcdef1')])],
    actions: [`replace ${T1} 10.30.1.0/24 -> ${E(1)}`],
  },
  {
    name: "keep an instance-target route whose ENI is the node's",
    nodes: [node(1)],
    enis: [nic(1, { instanceId: 'i-0123456789abcdef1' })],
    tables: [tbl(T1, [route.instance(pod(1), 'i-0123456789abcdef1', E(1))])],
    actions: [`keep ${T1} 10.30.1.0/24 -> ${E(1)}`],
  },
  {
    name: 'delete a stale route',
    nodes: [node(1)],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(1), E(1)), route.managed(pod(7), E9)])],
    actions: [`keep ${T1} 10.30.1.0/24 -> ${E(1)}`, `delete ${T1} 10.30.7.0/24`],
    reasons: { [`delete ${T1} 10.30.7.0/24`]: /^stale: no node claims it$/ },
  },
  {
    name: 'delete a stale blackholed route',
    nodes: [node(1)],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(1), E(1)), route.managed(pod(7), E9, 'blackhole')])],
    actions: [`keep ${T1} 10.30.1.0/24 -> ${E(1)}`, `delete ${T1} 10.30.7.0/24 [blackhole]`],
    reasons: { [`delete ${T1} 10.30.7.0/24 [blackhole]`]: /^stale blackhole/ },
  },
  {
    name: 'a stale route wider than the claimed CIDRs is deleted and the claims created',
    nodes: [node(1, ['10.30.0.0/24', '10.30.1.0/24']), node(2)],
    enis: [nic(1), nic(2)],
    tables: [tbl(T1, [route.managed('10.30.0.0/23', E9), route.managed(pod(2), E(2))])],
    actions: [`delete ${T1} 10.30.0.0/23`, `create ${T1} 10.30.0.0/24 -> ${E(1)}`, `create ${T1} 10.30.1.0/24 -> ${E(1)}`, `keep ${T1} 10.30.2.0/24 -> ${E(2)}`],
  },
  {
    name: 'the only active route, stale: its deletion is vetoed (the minimum budget never empties the tables); the claims are created',
    nodes: [node(1, ['10.30.0.0/24', '10.30.1.0/24'])],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed('10.30.0.0/23', E9)])],
    actions: [`keep ${T1} 10.30.0.0/23`, `create ${T1} 10.30.0.0/24 -> ${E(1)}`, `create ${T1} 10.30.1.0/24 -> ${E(1)}`],
    vetoed: [`${T1} 10.30.0.0/23 deletion-budget`],
  },
  {
    name: 'routes this controller does not manage are never touched, in scope or not, stale or not',
    nodes: [node(1)],
    enis: [nic(1)],
    tables: [
      tbl(T1, [
        route.withOrigin(pod(5), 'CreateRouteTable', E9),
        route.withOrigin(pod(6), '', E9),
        route.withOrigin(pod(7), 'EnableVgwRoutePropagation', E9),
        route.gateway(pod(8), TGW, 'blackhole'),
        route.gateway(pod(10), 'nat-0123456789abcdef0'),
        route.propagated(pod(11)),
        route.managed('10.40.0.0/24', E9),
        route.managed('10.30.0.0/15', E9, 'blackhole'),
        route.prefixList('pl-0fedcba9'),
      ]),
    ],
    actions: [`create ${T1} 10.30.1.0/24 -> ${E(1)}`],
  },
  {
    name: 'a claimed destination held by a transit-gateway route is a conflict, not a create',
    nodes: [node(1)],
    enis: [nic(1)],
    tables: [tbl(T1, [route.gateway(pod(1), TGW)])],
    actions: [],
    conflicts: [`${T1} 10.30.1.0/24 ${n(1)} ${TGW}`],
  },
  {
    name: 'a claimed destination held by a propagated route is a conflict',
    nodes: [node(1)],
    enis: [nic(1)],
    tables: [tbl(T1, [route.propagated(pod(1), 'vgw-0123456789abcdef0')])],
    actions: [],
    conflicts: [`${T1} 10.30.1.0/24 ${n(1)} vgw-0123456789abcdef0`],
  },
  {
    name: 'a claimed destination held by an ENI route of another origin is a conflict',
    nodes: [node(1)],
    enis: [nic(1)],
    tables: [tbl(T1, [route.withOrigin(pod(1), 'CreateRouteTable', E9)])],
    actions: [],
    conflicts: [`${T1} 10.30.1.0/24 ${n(1)} ${E9}`],
  },
  {
    name: 'protected: the route of a refused node is kept, not deleted',
    nodes: [node(1), refusedNode],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(1), E(1)), route.managed(pod(9), E9)])],
    actions: [`keep ${T1} 10.30.1.0/24 -> ${E(1)}`, `keep ${T1} 10.30.9.0/24`],
    reasons: { [`keep ${T1} 10.30.9.0/24`]: /^protected: claimed by a refused node \(mi-0000000000000refd\)$/ },
    protectedRoutes: [`${T1} 10.30.9.0/24 mi-0000000000000refd`],
  },
  {
    // Node 2 lists a pod CIDR no network can be read from: it is refused, and what it claims is unknown. Its
    // ENI is known, so a route pointing there is not shown to be stale: neither deleted nor rewritten, even for
    // a CIDR another node claims. A route to an ENI no node is on still goes.
    name: 'protected: routes pointing at the ENI of a node refused for an unreadable CIDR are kept',
    nodes: [node(1, [pod(1), pod(4)]), ciliumNode(n(2), ipOf(2), ['10.30.2.0/24x'])],
    enis: [nic(1), nic(2)],
    tables: [tbl(T1, [route.managed(pod(2), E(2)), route.managed(pod(4), E(2)), route.managed(pod(5), E9)])],
    actions: [`create ${T1} 10.30.1.0/24 -> ${E(1)}`, `keep ${T1} 10.30.2.0/24`, `keep ${T1} 10.30.4.0/24`, `delete ${T1} 10.30.5.0/24`],
    reasons: {
      [`keep ${T1} 10.30.2.0/24`]: new RegExp(`^protected: points at ${E(2)}, the ENI of a refused node whose pod CIDRs cannot all be read \\(${n(2)}\\)$`),
      [`keep ${T1} 10.30.4.0/24`]: new RegExp(`^protected: points at ${E(2)}, the ENI of a refused node`),
    },
    protectedRoutes: [`${T1} 10.30.2.0/24 ${n(2)}`, `${T1} 10.30.4.0/24 ${n(2)}`],
  },
  {
    // A stale CiliumNode beside the live one on a reused address. Which of the two is live cannot be told: if
    // the refused one is, the route to its unreadable CIDR is its traffic. So a route on that ENI no trusted
    // node claims is kept, not deleted.
    name: 'protected: a refused node on a trusted node’s ENI still protects the routes to it',
    nodes: [node(1), ciliumNode(n(7), ipOf(1), ['10.30.7.0/24x'])],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(1), E(1)), route.managed(pod(5), E(1)), route.managed(pod(6), E9)])],
    actions: [`keep ${T1} 10.30.1.0/24 -> ${E(1)}`, `keep ${T1} 10.30.5.0/24`, `delete ${T1} 10.30.6.0/24`],
    reasons: { [`keep ${T1} 10.30.5.0/24`]: new RegExp(`^protected: points at ${E(1)}, the ENI of a refused node whose pod CIDRs cannot all be read \\(${n(7)}\\)$`) },
    protectedRoutes: [`${T1} 10.30.5.0/24 ${n(7)}`],
  },
  {
    // A route another trusted node claims, pointing at that ENI: not rewritten to that node's ENI either (the
    // refused node's unreadable CIDR may be the same one); it is listed as protected, with the refused node.
    name: 'protected: a route another node claims is not rewritten away from the ENI of a refused node beside a trusted one',
    nodes: [node(1), ciliumNode(n(7), ipOf(1), ['10.30.7.0/24x']), node(2)],
    enis: [nic(1), nic(2)],
    tables: [tbl(T1, [route.managed(pod(1), E(1)), route.managed(pod(2), E(1))])],
    actions: [`keep ${T1} 10.30.1.0/24 -> ${E(1)}`, `keep ${T1} 10.30.2.0/24`],
    protectedRoutes: [`${T1} 10.30.2.0/24 ${n(7)}`],
  },
  {
    // The same pair the other way round: the trusted CiliumNode is the stale one, the refused one is the live
    // node with a pod CIDR that cannot be read. Its route must survive.
    name: 'protected: the live node refused beside a stale trusted one on its address keeps its route',
    nodes: [ciliumNode(n(1), ipOf(1), [pod(1)]), ciliumNode(n(7), ipOf(1), ['10.30.5.0/24x'])],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(5), E(1))])],
    actions: [`create ${T1} 10.30.1.0/24 -> ${E(1)}`, `keep ${T1} 10.30.5.0/24`],
    protectedRoutes: [`${T1} 10.30.5.0/24 ${n(7)}`],
  },
  {
    // A teardown removed the nodes on E(1): it releases that ENI, and the refused node protects nothing there.
    // Protection on other ENIs stays.
    name: 'a released ENI is not protected by a refused node on its address; others still are',
    nodes: [node(1), ciliumNode(n(7), ipOf(1), ['10.30.7.0/24x']), ciliumNode(n(2), ipOf(2), ['10.30.2.0/24x'])],
    enis: [nic(1), nic(2)],
    tables: [tbl(T1, [route.managed(pod(1), E(1)), route.managed(pod(5), E(1)), route.managed(pod(2), E(2))])],
    released: [E(1)],
    actions: [`keep ${T1} 10.30.1.0/24 -> ${E(1)}`, `keep ${T1} 10.30.2.0/24`, `delete ${T1} 10.30.5.0/24`],
    protectedRoutes: [`${T1} 10.30.2.0/24 ${n(2)}`],
  },
  {
    // The refused node's pod CIDR names no network and its address lies outside the node networks, so neither its
    // destinations nor its ENI are known: any working route may be its own. None is deleted; a blackhole still goes.
    name: 'unprotectable-claim: a refused node with an unreadable CIDR and no known ENI holds the deletions of working routes',
    nodes: [node(1), ciliumNode(n(7), '10.10.5.5', ['10.30.7.0/24x'])],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(1), E(1)), route.managed(pod(5), E9), route.managed(pod(6), E9, 'blackhole')])],
    actions: [`keep ${T1} 10.30.1.0/24 -> ${E(1)}`, `keep ${T1} 10.30.5.0/24`, `delete ${T1} 10.30.6.0/24 [blackhole]`],
    reasons: { [`keep ${T1} 10.30.5.0/24`]: new RegExp(`^deletion vetoed \\(unprotectable-claim\\): stale: no node claims it$`) },
    vetoed: [`${T1} 10.30.5.0/24 unprotectable-claim`],
  },
  {
    name: 'unprotectable-claim: force lifts it',
    nodes: [node(1), ciliumNode(n(7), '10.10.5.5', ['10.30.7.0/24x'])],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(1), E(1)), route.managed(pod(5), E9)])],
    guards: { force: true },
    actions: [`keep ${T1} 10.30.1.0/24 -> ${E(1)}`, `delete ${T1} 10.30.5.0/24`],
  },
  {
    // The same node with a known ENI: its routes are protected by their target, and the rest of the table heals.
    name: 'an unreadable CIDR of a refused node whose ENI is known holds nothing but the routes to that ENI',
    nodes: [node(1), ciliumNode(n(7), ' 10.20.1.7 ', ['10.30.7.0/24x'])],
    enis: [nic(1), nic(7)],
    tables: [tbl(T1, [route.managed(pod(1), E(1)), route.managed(pod(4), E(7)), route.managed(pod(5), E9)])],
    actions: [`keep ${T1} 10.30.1.0/24 -> ${E(1)}`, `keep ${T1} 10.30.4.0/24`, `delete ${T1} 10.30.5.0/24`],
    protectedRoutes: [`${T1} 10.30.4.0/24 ${n(7)}`],
  },
  {
    // A pod CIDR wider than the pod network claims every address in it: the node is refused, and what points at
    // its ENI inside the range is kept, where before it was deleted as claimed by no one. Other nodes are routed.
    name: 'a node claiming a CIDR wider than the pod network is refused and its routes kept; its neighbours are routed',
    nodes: [node(1), ciliumNode(n(7), ipOf(7), ['10.30.0.0/15'])],
    enis: [nic(1), nic(7)],
    tables: [tbl(T1, [route.managed(pod(6), E(7)), route.managed(pod(5), E9)])],
    actions: [`create ${T1} 10.30.1.0/24 -> ${E(1)}`, `delete ${T1} 10.30.5.0/24`, `keep ${T1} 10.30.6.0/24`],
    protectedRoutes: [`${T1} 10.30.6.0/24 ${n(7)}`],
  },
  {
    name: 'protected: a blackholed route of a refused node is kept too',
    nodes: [node(1), refusedNode],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(9), E9, 'blackhole')])],
    actions: [`create ${T1} 10.30.1.0/24 -> ${E(1)}`, `keep ${T1} 10.30.9.0/24 [blackhole]`],
    protectedRoutes: [`${T1} 10.30.9.0/24 mi-0000000000000refd`],
  },
  {
    name: "protected: routes overlapping a refused node's CIDR (wider and narrower) are kept; a neighbour is deleted",
    nodes: [node(1), ciliumNode('mi-0000000000000refd', '10.10.5.5', ['10.30.8.0/24'])],
    enis: [nic(1)],
    tables: [
      tbl(T1, [route.managed(pod(1), E(1)), route.managed('10.30.8.0/23', E9), route.managed('10.30.8.128/25', E9), route.managed('10.30.10.0/24', E9)]),
    ],
    actions: [`keep ${T1} 10.30.1.0/24 -> ${E(1)}`, `keep ${T1} 10.30.8.0/23`, `keep ${T1} 10.30.8.128/25`, `delete ${T1} 10.30.10.0/24`],
    protectedRoutes: [`${T1} 10.30.8.0/23 mi-0000000000000refd`, `${T1} 10.30.8.128/25 mi-0000000000000refd`],
  },
  {
    name: 'protected: a CIDR two nodes claim is neither rewritten, deleted nor created',
    nodes: [node(1), node(2, [pod(1)])],
    enis: [nic(1), nic(2)],
    tables: [tbl(T1, [route.managed(pod(1), E(2))]), tbl(T2, [])],
    actions: [`keep ${T1} 10.30.1.0/24`],
    reasons: { [`keep ${T1} 10.30.1.0/24`]: /^protected: claimed by more than one node/ },
    protectedRoutes: [`${T1} 10.30.1.0/24 ${n(1)}`],
  },
  {
    name: 'protected: an unresolved node (no ENI) keeps its exact and overlapping routes',
    nodes: [node(1), node(2)],
    enis: [nic(2)],
    tables: [tbl(T1, [route.managed(pod(1), E9), route.managed('10.30.0.0/23', E9, 'blackhole'), route.managed(pod(2), E(2))])],
    actions: [`keep ${T1} 10.30.0.0/23 [blackhole]`, `keep ${T1} 10.30.1.0/24`, `keep ${T1} 10.30.2.0/24 -> ${E(2)}`],
    reasons: { [`keep ${T1} 10.30.1.0/24`]: /^protected: claimed by an unresolved node \(no ENI in the remote VPC carries 10\.20\.1\.1\)/ },
    protectedRoutes: [`${T1} 10.30.0.0/23 ${n(1)}`, `${T1} 10.30.1.0/24 ${n(1)}`],
    unresolved: { [`${n(1)} 10.20.1.1`]: /^no ENI in the remote VPC carries 10\.20\.1\.1$/ },
  },
  {
    name: 'unresolved: the ENI carrying the node IP is in another VPC',
    nodes: [node(1)],
    enis: [nic(1, { vpcId: OTHER_VPC })],
    tables: [tbl(T1, [route.managed(pod(1), E9)])],
    actions: [`keep ${T1} 10.30.1.0/24`],
    protectedRoutes: [`${T1} 10.30.1.0/24 ${n(1)}`],
    unresolved: { [`${n(1)} 10.20.1.1`]: new RegExp(`${E(1)}\\) is in ${OTHER_VPC}, not the remote VPC`) },
  },
  {
    // The node's machine is gone and its address went to an ENI that no instance owns (detached, or one AWS
    // manages for an endpoint or a NAT gateway): it is not the node's, so its route is neither rewritten nor
    // deleted, and the missing route is not created.
    name: 'unresolved: the ENI carrying the node IP is attached to no instance',
    nodes: [node(1), node(2)],
    enis: [nic(1, { instanceId: null, sourceDestCheck: true }), nic(2, { instanceId: null })],
    tables: [tbl(T1, [route.managed(pod(1), E9)])],
    actions: [`keep ${T1} 10.30.1.0/24`],
    protectedRoutes: [`${T1} 10.30.1.0/24 ${n(1)}`],
    unresolved: {
      [`${n(1)} 10.20.1.1`]: new RegExp(`^the ENI carrying 10\\.20\\.1\\.1 \\(${E(1)}, status available\\) is not attached to an EC2 instance, so it is not this node's$`),
      [`${n(2)} 10.20.1.2`]: new RegExp(`\\(${E(2)}, status available\\) is not attached to an EC2 instance`),
    },
  },
  {
    // A Node and CiliumNode that outlived their machine, which rejoined under a new name: both claim the IP.
    // Routing the stale node's CIDR to the ENI costs nothing (no pod answers there, and Cilium keeps the CIDR
    // allocated to the stale CiliumNode, so no other node can get it); the route goes when the stale
    // CiliumNode does. Holding the live node's routes back instead would cut it off.
    name: 'two CiliumNodes on one IP: both route to the ENI carrying it',
    nodes: [node(1), ciliumNode(n(7), ipOf(1), [pod(7)])],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(1), E(1))])],
    actions: [`keep ${T1} 10.30.1.0/24 -> ${E(1)}`, `create ${T1} 10.30.7.0/24 -> ${E(1)}`],
  },
  {
    name: 'unresolved: two ENIs in the remote VPC carry the node IP',
    nodes: [node(1)],
    enis: [nic(1), eni(E(0x11), ipOf(1))],
    tables: [tbl(T1, [])],
    actions: [],
    unresolved: { [`${n(1)} 10.20.1.1`]: new RegExp(`several ENIs carry 10\\.20\\.1\\.1: ${E(1)}, ${E(0x11)}`) },
  },
  {
    name: 'one ENI in the remote VPC and a copy elsewhere: the remote one wins',
    nodes: [node(1)],
    enis: [nic(1, { vpcId: OTHER_VPC }), eni(E(0x11), ipOf(1))],
    tables: [tbl(T1, [])],
    actions: [`create ${T1} 10.30.1.0/24 -> ${E(0x11)}`],
  },
  {
    name: 'no remote VPC known: the ENI resolves wherever it is',
    nodes: [node(1)],
    enis: [nic(1, { vpcId: OTHER_VPC })],
    tables: [tbl(T1, [])],
    vpcId: null,
    actions: [`create ${T1} 10.30.1.0/24 -> ${E(1)}`],
  },
  {
    name: 'a node resolved through a secondary private IP of its ENI',
    nodes: [node(1)],
    enis: [eni(E(1), '10.20.9.9', { secondaryIps: [ipOf(1)] })],
    tables: [tbl(T1, [])],
    actions: [`create ${T1} 10.30.1.0/24 -> ${E(1)}`],
  },
  {
    name: 'several route tables are planned independently',
    nodes: [node(1), node(2)],
    enis: [nic(1), nic(2)],
    tables: [tbl(T2, [route.managed(pod(1), E9), route.managed(pod(7), E9)]), tbl(T1, [route.managed(pod(1), E(1))])],
    actions: [
      `keep ${T1} 10.30.1.0/24 -> ${E(1)}`,
      `create ${T1} 10.30.2.0/24 -> ${E(2)}`,
      `replace ${T2} 10.30.1.0/24 -> ${E(1)}`,
      `create ${T2} 10.30.2.0/24 -> ${E(2)}`,
      `delete ${T2} 10.30.7.0/24`,
    ],
  },
  {
    name: 'a conflict in one table does not stop the create in another',
    nodes: [node(1)],
    enis: [nic(1)],
    tables: [tbl(T1, [route.gateway(pod(1), TGW)]), tbl(T2, [])],
    actions: [`create ${T2} 10.30.1.0/24 -> ${E(1)}`],
    conflicts: [`${T1} 10.30.1.0/24 ${n(1)} ${TGW}`],
  },
  {
    name: 'guard: an empty CiliumNode list vetoes every deletion, blackholes included',
    nodes: [],
    enis: [],
    tables: [tbl(T1, [route.managed(pod(1), E(1)), route.managed(pod(2), E(2), 'blackhole')])],
    actions: [`keep ${T1} 10.30.1.0/24`, `keep ${T1} 10.30.2.0/24 [blackhole]`],
    reasons: {
      [`keep ${T1} 10.30.1.0/24`]: /^deletion vetoed \(empty-node-list\): stale: no node claims it$/,
      [`keep ${T1} 10.30.2.0/24 [blackhole]`]: /^deletion vetoed \(empty-node-list\): stale blackhole/,
    },
    vetoed: [`${T1} 10.30.1.0/24 empty-node-list`, `${T1} 10.30.2.0/24 empty-node-list`],
  },
  {
    name: 'guard: allowEmpty lets an empty list delete (within the budget)',
    nodes: [],
    enis: [],
    tables: [tbl(T1, [route.managed(pod(1), E(1)), route.managed(pod(2), E(2), 'blackhole')])],
    guards: { allowEmpty: true },
    actions: [`delete ${T1} 10.30.1.0/24`, `delete ${T1} 10.30.2.0/24 [blackhole]`],
  },
  {
    name: 'guard: an empty list with no managed routes has nothing to veto',
    nodes: [],
    enis: [],
    tables: [tbl(T1, [])],
    actions: [],
  },
  {
    name: 'guard: over the budget, active deletions are vetoed and stale blackholes still deleted',
    nodes: [node(1)],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(1), E(1)), ...stale(100, 10), ...stale(200, 2, 'blackhole')])],
    actions: [
      `keep ${T1} 10.30.1.0/24 -> ${E(1)}`,
      ...Array.from({ length: 10 }, (_, k) => `keep ${T1} ${pod(100 + k)}`),
      `delete ${T1} 10.30.200.0/24 [blackhole]`,
      `delete ${T1} 10.30.201.0/24 [blackhole]`,
    ],
    reasons: { [`keep ${T1} 10.30.100.0/24`]: /^deletion vetoed \(deletion-budget\): stale/ },
    vetoed: Array.from({ length: 10 }, (_, k) => `${T1} ${pod(100 + k)} deletion-budget`),
  },
  {
    name: 'guard: force lifts the budget',
    nodes: [node(1)],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(1), E(1)), ...stale(100, 10), ...stale(200, 2, 'blackhole')])],
    guards: { force: true },
    actions: [
      `keep ${T1} 10.30.1.0/24 -> ${E(1)}`,
      ...Array.from({ length: 10 }, (_, k) => `delete ${T1} ${pod(100 + k)}`),
      `delete ${T1} 10.30.200.0/24 [blackhole]`,
      `delete ${T1} 10.30.201.0/24 [blackhole]`,
    ],
  },
  {
    name: 'guard: the budget counts managed routes and deletions across all tables',
    nodes: [node(1)],
    enis: [nic(1)],
    // 10 managed routes in all, 8 stale: over the budget of 5 although each table alone would be at 4 of 5.
    tables: [tbl(T1, [route.managed(pod(1), E(1)), ...stale(100, 4)]), tbl(T2, [route.managed(pod(1), E(1)), ...stale(100, 4)])],
    actions: [
      `keep ${T1} 10.30.1.0/24 -> ${E(1)}`,
      ...Array.from({ length: 4 }, (_, k) => `keep ${T1} ${pod(100 + k)}`),
      `keep ${T2} 10.30.1.0/24 -> ${E(1)}`,
      ...Array.from({ length: 4 }, (_, k) => `keep ${T2} ${pod(100 + k)}`),
    ],
    vetoed: [
      ...Array.from({ length: 4 }, (_, k) => `${T1} ${pod(100 + k)} deletion-budget`),
      ...Array.from({ length: 4 }, (_, k) => `${T2} ${pod(100 + k)} deletion-budget`),
    ],
  },
  {
    name: 'guard: exactly at the budget (4 of 8 managed routes), stale routes are deleted',
    nodes: [node(1), node(2), node(3), node(4)],
    enis: [nic(1), nic(2), nic(3), nic(4)],
    tables: [tbl(T1, [1, 2, 3, 4].map((i) => route.managed(pod(i), E(i))).concat(stale(100, 4)))],
    actions: [
      ...[1, 2, 3, 4].map((i) => `keep ${T1} ${pod(i)} -> ${E(i)}`),
      ...Array.from({ length: 4 }, (_, k) => `delete ${T1} ${pod(100 + k)}`),
    ],
  },
  {
    name: 'guard: one over the budget (5 of 9 managed routes), all active deletions vetoed',
    nodes: [node(1), node(2), node(3), node(4)],
    enis: [nic(1), nic(2), nic(3), nic(4)],
    tables: [tbl(T1, [1, 2, 3, 4].map((i) => route.managed(pod(i), E(i))).concat(stale(100, 5)))],
    actions: [
      ...[1, 2, 3, 4].map((i) => `keep ${T1} ${pod(i)} -> ${E(i)}`),
      ...Array.from({ length: 5 }, (_, k) => `keep ${T1} ${pod(100 + k)}`),
    ],
    vetoed: Array.from({ length: 5 }, (_, k) => `${T1} ${pod(100 + k)} deletion-budget`),
  },
  {
    name: 'protected routes are not proposed for deletion, so they do not spend the budget',
    nodes: [node(1), ciliumNode('mi-0000000000000refd', '10.10.5.5', ['10.30.96.0/20'])],
    enis: [nic(1)],
    tables: [tbl(T1, [route.managed(pod(1), E(1)), ...stale(100, 10), route.managed(pod(7), E9)])],
    actions: [
      `keep ${T1} 10.30.1.0/24 -> ${E(1)}`,
      `delete ${T1} 10.30.7.0/24`,
      ...Array.from({ length: 10 }, (_, k) => `keep ${T1} ${pod(100 + k)}`),
    ],
    vetoed: [],
  },
  {
    name: 'IPv6: create, keep and delete IPv6 routes beside IPv4 ones',
    scope: dualStackScope(),
    nodes: [node(1, [pod(1), 'fd00:30:0:1::/64', 'fd00:30:0:2::/64'])],
    enis: [nic(1)],
    tables: [
      tbl(T1, [
        route.local('fd00:20::/56'),
        route.managed('fd00:30:0:2::/64', E(1)),
        route.managed('fd00:30:0:7::/64', E9),
        route.managed('fd00:30:0:8::/64', E9, 'blackhole'),
      ]),
    ],
    actions: [
      `create ${T1} 10.30.1.0/24 -> ${E(1)}`,
      `create ${T1} fd00:30:0:1::/64 -> ${E(1)}`,
      `keep ${T1} fd00:30:0:2::/64 -> ${E(1)}`,
      `delete ${T1} fd00:30:0:7::/64`,
      `delete ${T1} fd00:30:0:8::/64 [blackhole]`,
    ],
  },
  {
    name: "IPv6: a node whose InternalIP is IPv6 resolves through the ENI's IPv6 addresses",
    scope: dualStackScope(),
    nodes: [ciliumNode(n(1), 'fd00:20::1', ['fd00:30:0:1::/64'])],
    enis: [eni(E(1), ipOf(1), { ipv6: ['FD00:20:0:0::1'] })],
    tables: [tbl(T1, [route.managed('fd00:30:0:1::/64', E9, 'blackhole')])],
    actions: [`replace ${T1} fd00:30:0:1::/64 -> ${E(1)} [blackhole]`],
  },
];

function findAction(result: RoutePlan, line: string): RouteAction {
  const found = result.actions.find((action) => actionLine(action) === line);
  if (!found) throw new Error(`no action ${line} in\n${actionLines(result).join('\n')}`);
  return found;
}

describe('planRoutes scenarios', () => {
  test.each(cases)('$name', (scenario) => {
    const result = plan(scenario);
    expect(actionLines(result)).toEqual(scenario.actions);
    for (const [line, reason] of Object.entries(scenario.reasons ?? {})) expect(findAction(result, line).reason).toMatch(reason);
    expect(result.conflicts.map((c) => `${c.routeTableId} ${c.destination} ${c.node} ${c.existingTarget}`)).toEqual(scenario.conflicts ?? []);
    if (scenario.protectedRoutes) {
      expect(result.protected.map((p) => `${p.routeTableId} ${p.destination} ${p.node}`).sort()).toEqual([...scenario.protectedRoutes].sort());
    }
    const unresolved = Object.fromEntries(result.unresolved.map((u) => [`${u.node} ${u.ip}`, u.reason]));
    expect(Object.keys(unresolved).sort()).toEqual(Object.keys(scenario.unresolved ?? {}).sort());
    for (const [key, reason] of Object.entries(scenario.unresolved ?? {})) expect(unresolved[key]).toMatch(reason);
    expect(result.vetoed.map((v) => `${v.routeTableId} ${v.destination} ${v.guard}`).sort()).toEqual([...(scenario.vetoed ?? [])].sort());
  });

  test.each(cases)('counts agree with the actions: $name', (scenario) => {
    const result = plan(scenario);
    const count = (kind: string) => result.actions.filter((action) => action.action === kind).length;
    expect(result.counts).toEqual({
      create: count('create'),
      replace: count('replace'),
      delete: count('delete'),
      keep: count('keep'),
      vetoed: result.vetoed.length,
      drift: count('create') + count('replace') + count('delete') + result.vetoed.length,
      managedRoutes: scenario.tables.flatMap((t) => t.routes).filter((r) => managedDestination(r, scenario.scope ?? labScope())).length,
      sourceDestCheckFixes: result.sourceDestCheck.filter((fix) => fix.action === 'disable').length,
    });
  });

  test.each(cases)('routes the controller does not manage never appear in actions: $name', (scenario) => {
    const result = plan(scenario);
    const scope = scenario.scope ?? labScope();
    for (const t of scenario.tables) {
      const touched = new Set(result.actions.filter((a) => a.routeTableId === t.routeTableId).map((a) => a.destination));
      for (const r of t.routes) if (!managedDestination(r, scope)) expect(touched.has(r.destination)).toBe(false);
    }
  });

  test.each(cases)('one action per (table, destination), every managed route accounted for: $name', (scenario) => {
    const result = plan(scenario);
    const keys = result.actions.map((a) => `${a.routeTableId} ${a.destination}`);
    expect(new Set(keys).size).toBe(keys.length);
    const scope = scenario.scope ?? labScope();
    for (const t of scenario.tables) {
      for (const r of t.routes) if (managedDestination(r, scope)) expect(keys).toContain(`${t.routeTableId} ${r.destination}`);
    }
  });

  test.each(cases)('the plan is a pure function of its input: $name', (scenario) => {
    const input = planInput(scenario);
    const snapshot = JSON.stringify(input);
    const first = planRoutes(input);
    expect(JSON.stringify(input)).toBe(snapshot);
    expect(planRoutes(input)).toEqual(first);
  });
});

describe('planRoutes details', () => {
  test('a replace records what the route pointed at, a create does not', () => {
    const result = plan({ nodes: [node(1), node(2)], enis: [nic(1), nic(2)], tables: [tbl(T1, [route.managed(pod(1), E9, 'blackhole')])] });
    expect(findAction(result, `replace ${T1} 10.30.1.0/24 -> ${E(1)} [blackhole]`)).toMatchObject({ previousTarget: E9, node: n(1), blackhole: true });
    const create = findAction(result, `create ${T1} 10.30.2.0/24 -> ${E(2)}`);
    expect(create.previousTarget).toBeUndefined();
    expect(create.node).toBe(n(2));
  });

  test('a delete names no target and records the previous one', () => {
    const result = plan({ nodes: [node(1)], enis: [nic(1)], tables: [tbl(T1, [route.managed(pod(1), E(1)), route.managed(pod(7), E9)])] });
    const deletion = findAction(result, `delete ${T1} 10.30.7.0/24`);
    expect(deletion.target).toBeUndefined();
    expect(deletion.previousTarget).toBe(E9);
  });

  test('a vetoed deletion records its previous target and the guard reason', () => {
    const result = plan({ nodes: [], enis: [], tables: [tbl(T1, [route.managed(pod(7), E9)])] });
    expect(result.vetoed).toEqual([
      { routeTableId: T1, destination: pod(7), previousTarget: E9, guard: 'empty-node-list', reason: expect.stringMatching(/CiliumNode list is empty/) },
    ]);
  });

  test('a mixed plan counts each kind once and drift = create + replace + delete + vetoed', () => {
    const result = plan({
      nodes: [node(1), node(2), node(3), node(4)],
      enis: [nic(1), nic(2), nic(3, { sourceDestCheck: true }), nic(4)],
      tables: [
        tbl(T1, [
          route.managed(pod(1), E(1)), // keep
          route.managed(pod(2), E9), // replace
          route.managed(pod(3), E9, 'blackhole'), // replace
          route.managed(pod(7), E9), // delete
          route.managed(pod(8), E9, 'blackhole'), // delete
        ]),
      ],
    });
    expect(result.counts).toEqual({ create: 1, replace: 2, delete: 2, keep: 1, vetoed: 0, drift: 5, managedRoutes: 5, sourceDestCheckFixes: 1 });
  });

  test('vetoed deletions are counted both as keeps and in drift', () => {
    const result = plan({ nodes: [], enis: [], tables: [tbl(T1, [route.managed(pod(1), E9), route.managed(pod(2), E9)])] });
    expect(result.counts).toMatchObject({ keep: 2, delete: 0, vetoed: 2, drift: 2, managedRoutes: 2 });
  });

  test('refusals and pending nodes are passed through; the VPC is reported', () => {
    const scenario: Scenario = { nodes: [node(1, []), refusedNode], enis: [nic(1)], tables: [tbl(T1, [])] };
    const input = planInput(scenario);
    const result = planRoutes(input);
    expect(result.refused).toEqual(input.claims.refused);
    expect(result.refused.map((r) => r.kind)).toEqual(['node-ip-out-of-scope']);
    expect(result.pending).toEqual([{ node: n(1), ip: ipOf(1) }]);
    expect(result.vpcId).toBe(REMOTE_VPC);
    expect(plan({ ...scenario, vpcId: null }).vpcId).toBeUndefined();
  });

  test('an unresolved node lists the CIDRs it claims', () => {
    const result = plan({ nodes: [node(1, [pod(1), pod(2)])], enis: [], tables: [tbl(T1, [])] });
    expect(result.unresolved).toEqual([{ node: n(1), ip: ipOf(1), cidrs: [pod(1), pod(2)], reason: expect.any(String) }]);
    expect(result.actions).toEqual([]);
  });

  test('an ENI with no instance behind it keeps its source/dest check: it is not a node’s', () => {
    const result = plan({ nodes: [node(1), node(2)], enis: [nic(1, { instanceId: null, sourceDestCheck: true }), nic(2, { sourceDestCheck: true })], tables: [] });
    expect(result.sourceDestCheck).toEqual([{ networkInterfaceId: E(2), node: n(2), action: 'disable' }]);
    expect(result.unresolved.map((entry) => entry.node)).toEqual([n(1)]);
  });

  test('no route tables: nothing to do, but source/dest check is still planned', () => {
    const result = plan({ nodes: [node(1)], enis: [nic(1, { sourceDestCheck: true })], tables: [] });
    expect(result.actions).toEqual([]);
    expect(result.sourceDestCheck).toEqual([{ networkInterfaceId: E(1), node: n(1), action: 'disable' }]);
  });
});

describe('nodes paused by a teardown', () => {
  const pausedNic = (i: number, options: Parameters<typeof eni>[2] = {}) => nic(i, { ...options, tags: { [PAUSE_TAG_KEY]: n(i), Name: 'x' } });

  test('a paused node gets no new route, no rewrite and no source/dest fix; the others are planned as usual', () => {
    const result = plan({
      nodes: [node(1), node(2), node(3)],
      enis: [pausedNic(1, { sourceDestCheck: true }), nic(2, { sourceDestCheck: true }), pausedNic(3)],
      tables: [tbl(T1, [route.managed(pod(3), E9)])],
    });
    expect(actionLines(result)).toEqual([`create ${T1} 10.30.2.0/24 -> ${E(2)}`, `keep ${T1} 10.30.3.0/24`]);
    expect(result.sourceDestCheck).toEqual([{ networkInterfaceId: E(2), node: n(2), action: 'disable' }]);
    expect(result.paused).toEqual([
      { node: n(1), networkInterfaceId: E(1), cidrs: [pod(1)], pausedFor: n(1) },
      { node: n(3), networkInterfaceId: E(3), cidrs: [pod(3)], pausedFor: n(3) },
    ]);
    expect(result.routed.map((r) => r.node)).toEqual([n(2)]);
    expect(result.protected).toEqual([{ routeTableId: T1, destination: pod(3), node: n(3), reason: expect.stringMatching(/paused by a teardown/) }]);
  });

  test("a paused node's routes are neither deleted nor counted as drift, whatever their state", () => {
    const result = plan({
      nodes: [node(1), node(2)],
      enis: [pausedNic(1), nic(2)],
      tables: [tbl(T1, [route.managed(pod(1), E(1)), route.managed(pod(2), E(2)), route.managed('10.30.1.0/25', E(1), 'blackhole')])],
    });
    expect(result.actions.filter((a) => a.action !== 'keep')).toEqual([]);
    expect(result.counts.drift).toBe(0);
  });

  test('an ENI without the tag (or with other tags only) is not paused', () => {
    const result = plan({ nodes: [node(1)], enis: [nic(1, { tags: { Name: 'node-1' } })], tables: [tbl(T1, [])] });
    expect(result.paused).toEqual([]);
    expect(actionLines(result)).toEqual([`create ${T1} 10.30.1.0/24 -> ${E(1)}`]);
  });

  /** Node i's ENI, tagged by a teardown for `value` (a node that is not the one claiming it). */
  const taggedFor = (i: number, value: string, options: Parameters<typeof eni>[2] = {}) => nic(i, { ...options, tags: { [PAUSE_TAG_KEY]: value, Name: 'x' } });

  test('a tag naming another node pauses nothing: the node is routed, its source/dest check fixed, its drifted route rewritten', () => {
    // Left over from a teardown of n(9), whose instance has since joined as n(1).
    const result = plan({
      nodes: [node(1), node(2)],
      enis: [taggedFor(1, n(9), { sourceDestCheck: true }), nic(2)],
      tables: [tbl(T1, [route.managed(pod(1), E9), route.managed(pod(2), E(2))])],
    });
    expect(result.paused).toEqual([]);
    expect(result.protected).toEqual([]);
    expect(result.routed.map((r) => r.node)).toEqual([n(1), n(2)]);
    expect(actionLines(result)).toEqual([`replace ${T1} 10.30.1.0/24 -> ${E(1)}`, `keep ${T1} 10.30.2.0/24 -> ${E(2)}`]);
    expect(result.sourceDestCheck).toEqual([
      { networkInterfaceId: E(1), node: n(1), action: 'disable' },
      { networkInterfaceId: E(2), node: n(2), action: 'keep' },
    ]);
  });

  test('the same plan as without the tag when it names another node', () => {
    const scenario = (enis: ReturnType<typeof nic>[]) => ({ nodes: [node(1), node(2)], enis, tables: [tbl(T1, [route.managed(pod(2), E9)])] });
    expect(plan(scenario([taggedFor(1, n(2), { sourceDestCheck: true }), taggedFor(2, n(1))]))).toEqual(plan(scenario([nic(1, { sourceDestCheck: true }), nic(2)])));
  });

  test.each([
    ['another node’s name', n(9)],
    ['the swapped node’s name', n(2)],
    ['the name in upper case', n(1).toUpperCase()],
    ['the name with a trailing space', `${n(1)} `],
    ['an empty value', ''],
  ])('a tag whose value is %s is not this node’s pause', (_label, value) => {
    const result = plan({ nodes: [node(1)], enis: [taggedFor(1, value)], tables: [tbl(T1, [])] });
    expect(result.paused).toEqual([]);
    expect(actionLines(result)).toEqual([`create ${T1} 10.30.1.0/24 -> ${E(1)}`]);
  });

  test('only the node the tag names is paused when two nodes’ ENIs carry tags', () => {
    const result = plan({
      nodes: [node(1), node(2)],
      enis: [pausedNic(1), taggedFor(2, n(1))],
      tables: [tbl(T1, [])],
    });
    expect(result.paused).toEqual([{ node: n(1), networkInterfaceId: E(1), cidrs: [pod(1)], pausedFor: n(1) }]);
    expect(actionLines(result)).toEqual([`create ${T1} 10.30.2.0/24 -> ${E(2)}`]);
  });
});

describe('source/dest check', () => {
  test.each<[string, Scenario, string[]]>([
    [
      'disable where it is on, keep where it is off',
      { nodes: [node(1), node(2)], enis: [nic(1, { sourceDestCheck: true }), nic(2, { sourceDestCheck: false })], tables: [tbl(T1, [])] },
      [`${E(1)} ${n(1)} disable`, `${E(2)} ${n(2)} keep`],
    ],
    [
      'one entry per ENI when two nodes share it',
      {
        nodes: [node(1), node(2)],
        enis: [eni(E(1), ipOf(1), { secondaryIps: [ipOf(2)], sourceDestCheck: true })],
        tables: [tbl(T1, [])],
      },
      [`${E(1)} ${n(1)} disable`],
    ],
    [
      'a pending node with a resolved ENI still gets it',
      { nodes: [node(1, [])], enis: [nic(1, { sourceDestCheck: true })], tables: [tbl(T1, [])] },
      [`${E(1)} ${n(1)} disable`],
    ],
    [
      'a node whose CIDRs all conflict still gets it',
      { nodes: [node(1), node(2, [pod(1)])], enis: [nic(1, { sourceDestCheck: true }), nic(2, { sourceDestCheck: true })], tables: [tbl(T1, [])] },
      [`${E(1)} ${n(1)} disable`, `${E(2)} ${n(2)} disable`],
    ],
    [
      'refused and unresolved nodes get nothing',
      {
        nodes: [ciliumNode(n(1), '10.10.5.5', [pod(1)]), node(2), node(3)],
        enis: [eni(E(1), '10.10.5.5', { sourceDestCheck: true }), nic(2, { vpcId: OTHER_VPC, sourceDestCheck: true })],
        tables: [tbl(T1, [])],
      },
      [],
    ],
  ])('%s', (_name, scenario, expected) => {
    const result = plan(scenario);
    expect(result.sourceDestCheck.map((fix) => `${fix.networkInterfaceId} ${fix.node} ${fix.action}`)).toEqual(expected);
    expect(result.counts.sourceDestCheckFixes).toBe(expected.filter((line) => line.endsWith('disable')).length);
  });
});

describe('ordering', () => {
  const scenario: Scenario = {
    scope: dualStackScope(),
    nodes: [node(3), node(1, [pod(1), 'fd00:30:0:1::/64']), node(2), node(12)],
    enis: [nic(12), nic(2), nic(1), nic(3)],
    tables: [
      tbl(T2, [route.managed(pod(12), E9), route.managed('fd00:30:0:9::/64', E9), route.managed(pod(3), E(3)), route.managed('10.30.0.0/23', E9)]),
      tbl(T1, [route.managed(pod(2), E9, 'blackhole'), route.managed(pod(40), E9), route.managed('10.30.4.0/22', E9, 'blackhole')]),
    ],
  };

  test('actions are sorted by table, then address (IPv4 before IPv6), then widest first', () => {
    expect(actionLines(plan(scenario))).toEqual([
      `create ${T1} 10.30.1.0/24 -> ${E(1)}`,
      `replace ${T1} 10.30.2.0/24 -> ${E(2)} [blackhole]`,
      `create ${T1} 10.30.3.0/24 -> ${E(3)}`,
      `delete ${T1} 10.30.4.0/22 [blackhole]`,
      `create ${T1} 10.30.12.0/24 -> ${E(12)}`,
      `delete ${T1} 10.30.40.0/24`,
      `create ${T1} fd00:30:0:1::/64 -> ${E(1)}`,
      `delete ${T2} 10.30.0.0/23`,
      `create ${T2} 10.30.1.0/24 -> ${E(1)}`,
      `create ${T2} 10.30.2.0/24 -> ${E(2)}`,
      `keep ${T2} 10.30.3.0/24 -> ${E(3)}`,
      `replace ${T2} 10.30.12.0/24 -> ${E(12)}`,
      `create ${T2} fd00:30:0:1::/64 -> ${E(1)}`,
      `delete ${T2} fd00:30:0:9::/64`,
    ]);
  });

  const reversed = (s: Scenario): Scenario => ({
    ...s,
    nodes: [...s.nodes].reverse(),
    enis: [...s.enis].reverse(),
    tables: [...s.tables].reverse().map((t) => ({ ...t, routes: [...t.routes].reverse() })),
  });
  const rotated = (s: Scenario): Scenario => ({
    ...s,
    nodes: [...s.nodes.slice(1), ...s.nodes.slice(0, 1)],
    tables: s.tables.map((t) => ({ ...t, routes: [...t.routes.slice(3), ...t.routes.slice(0, 3)] })),
  });

  test.each([
    ['reversed', reversed],
    ['rotated', rotated],
  ])('the same actions whatever the order of the input (%s)', (_name, reorder) => {
    expect(plan(reorder(scenario)).actions).toEqual(plan(scenario).actions);
    expect(plan(reorder(scenario)).counts).toEqual(plan(scenario).counts);
  });
});

describe('applyOrder', () => {
  test('a deletion overlapping no create or replace in its table goes first; one that overlaps waits for the upserts', () => {
    const result = plan({
      nodes: [node(1), node(2)],
      enis: [nic(1), nic(2)],
      tables: [
        tbl(T1, [route.managed(pod(1), E9), route.managed('10.30.2.0/23', E9), route.managed(pod(7), E9)]),
        tbl(T2, [route.managed(pod(1), E(1)), route.managed(pod(2), E(2)), route.managed('10.30.2.0/23', E9)]),
      ],
      guards: { force: true },
    });
    const { freeingDeletions, upserts, deletions } = applyOrder(result);
    expect(upserts.map(actionLine)).toEqual([`replace ${T1} 10.30.1.0/24 -> ${E(1)}`, `create ${T1} 10.30.2.0/24 -> ${E(2)}`]);
    // In T1 the /23 covers the /24 being created; in T2 nothing is created, so its /23 frees room at once.
    expect(deletions.map(actionLine)).toEqual([`delete ${T1} 10.30.2.0/23`]);
    expect(freeingDeletions.map(actionLine).sort()).toEqual([`delete ${T1} 10.30.7.0/24`, `delete ${T2} 10.30.2.0/23`].sort());
  });
});

describe('mutationsOf', () => {
  test('upserts (create and replace, in plan order) first, deletions last; keeps are no mutation', () => {
    const result = plan({
      nodes: [node(1), node(2), node(3)],
      enis: [nic(1), nic(2), nic(3)],
      tables: [
        tbl(T2, [route.managed(pod(1), E9), route.managed(pod(0), E9)]),
        tbl(T1, [route.managed(pod(0), E9), route.managed(pod(2), E(2)), route.managed(pod(3), E9, 'blackhole')]),
      ],
    });
    const { upserts, deletions } = mutationsOf(result);
    expect(upserts.map(actionLine)).toEqual([
      `create ${T1} 10.30.1.0/24 -> ${E(1)}`,
      `replace ${T1} 10.30.3.0/24 -> ${E(3)} [blackhole]`,
      `replace ${T2} 10.30.1.0/24 -> ${E(1)}`,
      `create ${T2} 10.30.2.0/24 -> ${E(2)}`,
      `create ${T2} 10.30.3.0/24 -> ${E(3)}`,
    ]);
    expect(deletions.map(actionLine)).toEqual([`delete ${T1} 10.30.0.0/24`, `delete ${T2} 10.30.0.0/24`]);
  });

  test('vetoed deletions are not mutations', () => {
    const result = plan({ nodes: [], enis: [], tables: [tbl(T1, [route.managed(pod(1), E9)])] });
    expect(mutationsOf(result)).toEqual({ upserts: [], deletions: [] });
  });
});

describe('managedDestination', () => {
  const scope = labScope();
  test.each<[string, RouteRecord, string | undefined]>([
    ['CreateRoute to an ENI in the pod network', route.managed(pod(1), E(1)), '10.30.1.0/24'],
    ['blackholed CreateRoute to an ENI', route.managed(pod(1), E(1), 'blackhole'), '10.30.1.0/24'],
    ['CreateRoute to an instance', route.instance(pod(1), 'i-0123456789abcdef0'), '10.30.1.0/24'],
    ['the whole pod network to an ENI', route.managed('10.30.0.0/16', E(1)), '10.30.0.0/16'],
    ['the local route', route.local(), undefined],
    ['a TGW route outside the pod network', route.gateway('10.10.0.0/16'), undefined],
    ['the 100.64/10 shop network', route.gateway('100.64.0.0/10'), undefined],
    ['a TGW route inside the pod network', route.gateway('10.30.0.0/16'), undefined],
    ['a propagated route', route.propagated(pod(1)), undefined],
    ['a prefix-list route', route.prefixList(), undefined],
    ['an ENI route with origin CreateRouteTable', route.withOrigin(pod(1), 'CreateRouteTable', E(1)), undefined],
    ['an ENI route with no origin reported', route.withOrigin(pod(1), '', E(1)), undefined],
    ['an ENI route outside the pod network', route.managed('10.40.0.0/24', E(1)), undefined],
    ['an ENI route wider than the pod network', route.managed('10.30.0.0/15', E(1)), undefined],
    ['an IPv6 ENI route outside an IPv4-only scope', route.managed('fd00:30::/64', E(1)), undefined],
    ['an ENI route that also names a gateway', { ...route.managed(pod(1), E(1)), gatewayTarget: TGW }, undefined],
    ['a CreateRoute with no target at all', { destination: pod(1), destinationType: 'ipv4', origin: 'CreateRoute', state: 'active' }, undefined],
    ['an unparsable destination', route.managed('10.30.1.0', E(1)), undefined],
  ])('%s', (_name, r, expected) => {
    expect(managedDestination(r, scope)?.text).toBe(expected);
  });
});

describe('routeTarget', () => {
  test.each<[string, RouteRecord, string]>([
    ['an ENI', route.managed(pod(1), E(1)), E(1)],
    ['an instance with its ENI prefers the ENI', route.instance(pod(1), 'i-0123456789abcdef0', E(1)), E(1)],
    ['an instance alone', route.instance(pod(1), 'i-0123456789abcdef0'), 'i-0123456789abcdef0'],
    ['a gateway', route.gateway('10.10.0.0/16', TGW), TGW],
    ['the local route', route.local(), 'local'],
    ['nothing', { destination: pod(1), destinationType: 'ipv4', origin: 'CreateRoute', state: 'blackhole' }, 'unknown'],
  ])('%s', (_name, r, expected) => {
    expect(routeTarget(r)).toBe(expected);
  });
});
