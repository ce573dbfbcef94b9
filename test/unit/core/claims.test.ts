import { type ClaimSet, collectClaims } from '../../../functions/core/claims.js';
import type { Scope } from '../../../functions/core/scope.js';
import type { CiliumNodeRecord } from '../../../functions/core/types.js';
import { ciliumNode, dualStackScope, factsNode, labScope } from '../../support/builders.js';

const A = 'mi-0000000000000000a';
const B = 'mi-0000000000000000b';
const C = 'mi-0000000000000000c';
const R = 'mi-0000000000000000f';

interface Summary {
  /** node → its claimed CIDRs (canonical text) */
  nodes: Record<string, string[]>;
  /** `node kind field [value]`, sorted */
  refused: string[];
  /** `cidr node`, sorted */
  protected: string[];
  pending: string[];
}

function summarise(claims: ClaimSet): Summary {
  return {
    nodes: Object.fromEntries(claims.nodes.map((node) => [node.node, node.cidrs.map((cidr) => cidr.text)])),
    refused: claims.refused.map((r) => `${r.node} ${r.kind} ${r.field}${r.value === undefined ? '' : ` ${r.value}`}`).sort(),
    protected: claims.protected.map((p) => `${p.cidr.text} ${p.node}`).sort(),
    pending: claims.pending.map((p) => `${p.node} ${p.ip}`).sort(),
  };
}

const none = { refused: [], protected: [], pending: [] };

interface Case {
  name: string;
  records: CiliumNodeRecord[];
  scope?: Scope;
  expected: Summary;
}

describe('collectClaims', () => {
  const cases: Case[] = [
    {
      name: 'the realistic CiliumNode from FACTS.md',
      records: [factsNode()],
      expected: { nodes: { 'mi-026d6a261e355fba7': ['10.30.0.0/24'] }, ...none },
    },
    {
      name: 'every podCIDR is kept, not just the first',
      records: [ciliumNode(A, '10.20.1.10', ['10.30.0.0/24', '10.30.1.0/24', '10.30.2.0/25'])],
      expected: { nodes: { [A]: ['10.30.0.0/24', '10.30.1.0/24', '10.30.2.0/25'] }, ...none },
    },
    {
      name: 'IPv4 and IPv6 podCIDRs in a dual-stack scope',
      records: [ciliumNode(A, '10.20.1.10', ['10.30.0.0/24', 'FD00:30:0:1::/64'])],
      scope: dualStackScope(),
      expected: { nodes: { [A]: ['10.30.0.0/24', 'fd00:30:0:1::/64'] }, ...none },
    },
    {
      name: 'an IPv6 podCIDR in an IPv4-only scope is refused for that CIDR only',
      records: [ciliumNode(A, '10.20.1.10', ['10.30.0.0/24', 'fd00:30:0:1::/64'])],
      expected: {
        nodes: { [A]: ['10.30.0.0/24'] },
        refused: [`${A} cidr-out-of-scope spec.ipam.podCIDRs[1] fd00:30:0:1::/64`],
        protected: [],
        pending: [],
      },
    },
    {
      name: 'multi-pool allocations are claimed alongside podCIDRs',
      records: [
        ciliumNode(A, '10.20.1.10', ['10.30.0.0/24'], {
          pools: [
            { pool: 'default', cidrs: ['10.30.4.0/24'] },
            { pool: 'jumbo', cidrs: ['10.30.5.0/24', '10.30.6.0/25'] },
          ],
        }),
      ],
      expected: { nodes: { [A]: ['10.30.0.0/24', '10.30.4.0/24', '10.30.5.0/24', '10.30.6.0/25'] }, ...none },
    },
    {
      name: 'pool CIDRs only (no podCIDRs) is not pending',
      records: [ciliumNode(A, '10.20.1.10', [], { pools: [{ pool: 'default', cidrs: ['10.30.4.0/24'] }] })],
      expected: { nodes: { [A]: ['10.30.4.0/24'] }, ...none },
    },
    {
      name: 'duplicates within one node are claimed once',
      records: [
        ciliumNode(A, '10.20.1.10', ['10.30.0.0/24', '10.30.0.0/24', 'fd00:30::/64'], {
          pools: [{ pool: 'default', cidrs: ['10.30.0.0/24', 'FD00:0030:0000:0000::/64'] }],
        }),
      ],
      scope: dualStackScope(),
      expected: { nodes: { [A]: ['10.30.0.0/24', 'fd00:30::/64'] }, ...none },
    },
    {
      name: 'out-of-scope CIDRs are refused one by one, the rest of the node stands',
      records: [ciliumNode(A, '10.20.1.10', ['10.30.0.0/24', '10.40.0.0/24', '100.64.0.0/24', '10.31.0.0/16'])],
      expected: {
        nodes: { [A]: ['10.30.0.0/24'] },
        refused: [
          `${A} cidr-out-of-scope spec.ipam.podCIDRs[1] 10.40.0.0/24`,
          `${A} cidr-out-of-scope spec.ipam.podCIDRs[2] 100.64.0.0/24`,
          `${A} cidr-out-of-scope spec.ipam.podCIDRs[3] 10.31.0.0/16`,
        ],
        protected: [],
        pending: [],
      },
    },
    {
      name: 'a CIDR wider than a whole pod network (10.30.0.0/15 over 10.30.0.0/16) refuses the node: it claims every address in it',
      records: [ciliumNode(A, '10.20.1.10', ['10.30.0.0/24', '10.30.0.0/15']), ciliumNode(B, '10.20.1.11', ['10.30.1.0/24'])],
      expected: {
        nodes: { [B]: ['10.30.1.0/24'] },
        refused: [`${A} cidr-out-of-scope spec.ipam.podCIDRs[1] 10.30.0.0/15`],
        protected: [`10.30.0.0/24 ${A}`],
        pending: [],
      },
    },
    {
      name: 'an out-of-scope pool CIDR names its pool field',
      records: [ciliumNode(A, '10.20.1.10', [], { pools: [{ pool: 'a', cidrs: ['10.30.1.0/24'] }, { pool: 'b', cidrs: ['10.30.2.0/24', '10.99.0.0/24'] }] })],
      expected: {
        nodes: { [A]: ['10.30.1.0/24', '10.30.2.0/24'] },
        refused: [`${A} cidr-out-of-scope spec.ipam.pools.allocated[1].cidrs[1] 10.99.0.0/24`],
        protected: [],
        pending: [],
      },
    },
    {
      name: 'an invalid CIDR refuses the whole node and protects its valid in-scope CIDRs',
      records: [ciliumNode(A, '10.20.1.10', ['10.30.0.0/24', 'junk', '10.30.3.0/24', '10.40.0.0/24'])],
      expected: {
        nodes: {},
        refused: [`${A} cidr-out-of-scope spec.ipam.podCIDRs[3] 10.40.0.0/24`, `${A} invalid-cidr spec.ipam.podCIDRs[1] junk`],
        protected: [`10.30.0.0/24 ${A}`, `10.30.3.0/24 ${A}`],
        pending: [],
      },
    },
    {
      name: 'a host-bits CIDR refuses the node and protects the network it names',
      records: [ciliumNode(A, '10.20.1.10', ['10.30.1.7/24', '10.30.2.0/24'])],
      expected: {
        nodes: {},
        refused: [`${A} invalid-cidr spec.ipam.podCIDRs[0] 10.30.1.7/24`],
        protected: [`10.30.1.0/24 ${A}`, `10.30.2.0/24 ${A}`],
        pending: [],
      },
    },
    {
      name: 'a host-bits CIDR whose network is out of scope protects nothing for it',
      records: [ciliumNode(A, '10.20.1.10', ['10.40.0.1/24'])],
      expected: { nodes: {}, refused: [`${A} invalid-cidr spec.ipam.podCIDRs[0] 10.40.0.1/24`], protected: [], pending: [] },
    },
    {
      name: 'an invalid pool CIDR refuses the node too',
      records: [ciliumNode(A, '10.20.1.10', ['10.30.0.0/24'], { pools: [{ pool: 'default', cidrs: ['10.30.1.0/33'] }] })],
      expected: {
        nodes: {},
        refused: [`${A} invalid-cidr spec.ipam.pools.allocated[0].cidrs[0] 10.30.1.0/33`],
        protected: [`10.30.0.0/24 ${A}`],
        pending: [],
      },
    },
    {
      name: 'no InternalIP refuses the node and protects its CIDRs',
      records: [ciliumNode(A, undefined, ['10.30.0.0/24'])],
      expected: { nodes: {}, refused: [`${A} no-internal-ip spec.addresses`], protected: [`10.30.0.0/24 ${A}`], pending: [] },
    },
    {
      name: 'only an ExternalIP counts as no InternalIP',
      records: [ciliumNode(A, undefined, ['10.30.0.0/24'], { addresses: [{ type: 'ExternalIP', ip: '10.20.1.10' }] })],
      expected: { nodes: {}, refused: [`${A} no-internal-ip spec.addresses`], protected: [`10.30.0.0/24 ${A}`], pending: [] },
    },
    {
      name: 'an invalid InternalIP refuses the node and protects its CIDRs',
      records: [ciliumNode(A, undefined, ['10.30.0.0/24'], { addresses: [{ type: 'CiliumInternalIP', ip: '10.30.0.148' }, { type: 'InternalIP', ip: 'garbage' }] })],
      expected: {
        nodes: {},
        refused: [`${A} invalid-node-ip spec.addresses[1].ip garbage`],
        protected: [`10.30.0.0/24 ${A}`],
        pending: [],
      },
    },
    {
      name: 'an InternalIP outside the node networks refuses the node and protects its CIDRs',
      records: [ciliumNode(A, '10.10.5.5', ['10.30.0.0/24', '10.30.1.0/24'])],
      expected: {
        nodes: {},
        refused: [`${A} node-ip-out-of-scope spec.addresses[0].ip 10.10.5.5`],
        protected: [`10.30.0.0/24 ${A}`, `10.30.1.0/24 ${A}`],
        pending: [],
      },
    },
    {
      name: 'the first InternalIP inside the node networks is used',
      records: [
        ciliumNode(A, undefined, ['10.30.0.0/24'], {
          addresses: [
            { type: 'InternalIP', ip: '10.10.5.5' },
            { type: 'InternalIP', ip: '10.20.1.10' },
          ],
        }),
      ],
      expected: { nodes: { [A]: ['10.30.0.0/24'] }, ...none },
    },
    {
      name: 'an IPv6 InternalIP in a dual-stack scope',
      records: [ciliumNode(A, 'FD00:20::7', ['10.30.0.0/24'])],
      scope: dualStackScope(),
      expected: { nodes: { [A]: ['10.30.0.0/24'] }, ...none },
    },
    {
      name: 'two nodes with the same CIDR: both refused for it and it is protected; the neighbour is unaffected',
      records: [ciliumNode(A, '10.20.1.10', ['10.30.0.0/24']), ciliumNode(B, '10.20.1.11', ['10.30.0.0/24']), ciliumNode(C, '10.20.1.12', ['10.30.1.0/24'])],
      expected: {
        nodes: { [A]: [], [B]: [], [C]: ['10.30.1.0/24'] },
        refused: [`${A} cidr-conflict spec.ipam 10.30.0.0/24`, `${B} cidr-conflict spec.ipam 10.30.0.0/24`].map(fieldAgnostic),
        protected: [`10.30.0.0/24 ${A}`, `10.30.0.0/24 ${B}`],
        pending: [],
      },
    },
    {
      name: 'overlapping /23 and /24: both refused and protected; the next /24 is unaffected',
      records: [ciliumNode(A, '10.20.1.10', ['10.30.0.0/23']), ciliumNode(B, '10.20.1.11', ['10.30.1.0/24']), ciliumNode(C, '10.20.1.12', ['10.30.2.0/24'])],
      expected: {
        nodes: { [A]: [], [B]: [], [C]: ['10.30.2.0/24'] },
        refused: [`${A} cidr-conflict spec.ipam 10.30.0.0/23`, `${B} cidr-conflict spec.ipam 10.30.1.0/24`].map(fieldAgnostic),
        protected: [`10.30.0.0/23 ${A}`, `10.30.1.0/24 ${B}`],
        pending: [],
      },
    },
    {
      name: 'a conflict takes only the conflicting CIDR from a node',
      records: [ciliumNode(A, '10.20.1.10', ['10.30.0.0/24', '10.30.5.0/24']), ciliumNode(B, '10.20.1.11', ['10.30.0.0/24', '10.30.6.0/24'])],
      expected: {
        nodes: { [A]: ['10.30.5.0/24'], [B]: ['10.30.6.0/24'] },
        refused: [`${A} cidr-conflict spec.ipam 10.30.0.0/24`, `${B} cidr-conflict spec.ipam 10.30.0.0/24`].map(fieldAgnostic),
        protected: [`10.30.0.0/24 ${A}`, `10.30.0.0/24 ${B}`],
        pending: [],
      },
    },
    {
      name: 'a podCIDR of one node overlapping a pool CIDR of another',
      records: [ciliumNode(A, '10.20.1.10', ['10.30.8.0/24']), ciliumNode(B, '10.20.1.11', [], { pools: [{ pool: 'p', cidrs: ['10.30.8.128/25'] }] })],
      expected: {
        nodes: { [A]: [], [B]: [] },
        refused: [`${A} cidr-conflict spec.ipam 10.30.8.0/24`, `${B} cidr-conflict spec.ipam 10.30.8.128/25`].map(fieldAgnostic),
        protected: [`10.30.8.0/24 ${A}`, `10.30.8.128/25 ${B}`],
        pending: [],
      },
    },
    {
      name: 'IPv6 CIDRs of two nodes overlapping',
      records: [ciliumNode(A, '10.20.1.10', ['fd00:30::/63']), ciliumNode(B, '10.20.1.11', ['fd00:30:0:1::/64']), ciliumNode(C, '10.20.1.12', ['fd00:30:0:2::/64'])],
      scope: dualStackScope(),
      expected: {
        nodes: { [A]: [], [B]: [], [C]: ['fd00:30:0:2::/64'] },
        refused: [`${A} cidr-conflict spec.ipam fd00:30::/63`, `${B} cidr-conflict spec.ipam fd00:30:0:1::/64`].map(fieldAgnostic),
        protected: [`fd00:30::/63 ${A}`, `fd00:30:0:1::/64 ${B}`],
        pending: [],
      },
    },
    {
      name: 'an IPv4 and an IPv6 CIDR never conflict',
      records: [ciliumNode(A, '10.20.1.10', ['10.30.0.0/24']), ciliumNode(B, '10.20.1.11', ['fd00:30::/56'])],
      scope: dualStackScope(),
      expected: { nodes: { [A]: ['10.30.0.0/24'], [B]: ['fd00:30::/56'] }, ...none },
    },
    {
      name: "a refused node cannot dispute a healthy node's CIDR; its own claim stays protected",
      records: [ciliumNode(R, '10.10.5.5', ['10.30.0.0/24', '10.30.9.0/24']), ciliumNode(A, '10.20.1.10', ['10.30.0.0/24', '10.30.1.0/24'])],
      expected: {
        nodes: { [A]: ['10.30.0.0/24', '10.30.1.0/24'] },
        refused: [`${R} node-ip-out-of-scope spec.addresses[0].ip 10.10.5.5`].map(fieldAgnostic),
        protected: [`10.30.0.0/24 ${R}`, `10.30.9.0/24 ${R}`],
        pending: [],
      },
    },
    {
      name: 'the network of a refused host-bits CIDR is protected, not disputed',
      records: [ciliumNode(R, '10.20.1.9', ['10.30.0.9/24']), ciliumNode(A, '10.20.1.10', ['10.30.0.0/24'])],
      expected: {
        nodes: { [A]: ['10.30.0.0/24'] },
        refused: [`${R} invalid-cidr spec.ipam.podCIDRs[0] 10.30.0.9/24`].map(fieldAgnostic),
        protected: [`10.30.0.0/24 ${R}`],
        pending: [],
      },
    },
    {
      name: 'a node with an IP but no CIDR yet is pending (and still a node)',
      records: [ciliumNode(A, '10.20.1.10', []), ciliumNode(B, '10.20.1.11', ['10.30.1.0/24'])],
      expected: { nodes: { [A]: [], [B]: ['10.30.1.0/24'] }, refused: [], protected: [], pending: [`${A} 10.20.1.10`] },
    },
    {
      name: 'a pending node reports its canonical IP',
      records: [ciliumNode(A, 'FD00:20:0:0::7', [])],
      scope: dualStackScope(),
      expected: { nodes: { [A]: [] }, refused: [], protected: [], pending: [`${A} fd00:20::7`] },
    },
    {
      name: 'a refused node without CIDRs is not pending',
      records: [ciliumNode(A, '10.10.5.5', [])],
      expected: { nodes: {}, refused: [`${A} node-ip-out-of-scope spec.addresses[0].ip 10.10.5.5`], protected: [], pending: [] },
    },
    {
      name: 'a node whose only CIDR is out of scope is not pending (it has an allocation)',
      records: [ciliumNode(A, '10.20.1.10', ['10.40.0.0/24'])],
      expected: { nodes: { [A]: [] }, refused: [`${A} cidr-out-of-scope spec.ipam.podCIDRs[0] 10.40.0.0/24`], protected: [], pending: [] },
    },
    {
      name: 'no CiliumNodes',
      records: [],
      expected: { nodes: {}, ...none },
    },
  ];

  /** Conflict refusals are compared without their field here; the exact field has its own test below. */
  function fieldAgnostic(line: string): string {
    return line.replace(/ cidr-conflict \S+ /, ' cidr-conflict * ');
  }

  test.each(cases)('$name', ({ records, scope, expected }) => {
    const result = summarise(collectClaims(records, scope ?? labScope()));
    expect({ ...result, refused: result.refused.map(fieldAgnostic).sort() }).toEqual({
      ...expected,
      refused: [...expected.refused].sort(),
      protected: [...expected.protected].sort(),
      pending: [...expected.pending].sort(),
    });
  });

  test.each(cases)('nodeCount lies between the accepted nodes and the records read: $name', ({ records, scope }) => {
    const claims = collectClaims(records, scope ?? labScope());
    expect(claims.nodeCount).toBeLessThanOrEqual(records.length);
    expect(claims.nodeCount).toBeGreaterThanOrEqual(claims.nodes.length);
  });

  test.each([
    ['a node with an in-scope IP and no CIDR', [ciliumNode(A, '10.20.1.10', [])], 1],
    ['a node with an out-of-scope IP but an in-scope CIDR', [ciliumNode(A, '10.10.5.5', ['10.30.0.0/24'])], 1],
    ['only a node outside the scope (IP and CIDRs)', [ciliumNode(A, '10.10.5.5', ['192.168.0.0/24'])], 0],
    ['a node without addresses or CIDRs', [ciliumNode(A, undefined, [])], 0],
    ['two in scope, one outside', [ciliumNode(A, '10.20.1.10', []), ciliumNode(B, '10.20.1.11', ['10.30.1.0/24']), ciliumNode(R, '10.10.5.5', [])], 2],
  ])('nodeCount counts only CiliumNodes in the managed scope: %s', (_name, records, expected) => {
    expect(collectClaims(records, labScope()).nodeCount).toBe(expected);
  });

  test('the node IP is parsed and canonical', () => {
    const claims = collectClaims([ciliumNode(A, 'FD00:0020::0007', ['10.30.0.0/24'])], dualStackScope());
    expect(claims.nodes[0]?.ip).toMatchObject({ text: 'fd00:20::7', family: 'ipv6' });
  });

  test('the FACTS.md node uses its InternalIP, not its CiliumInternalIP', () => {
    const claims = collectClaims([factsNode()], labScope());
    expect(claims.nodes[0]?.ip.text).toBe('10.20.1.10');
  });

  test.each([
    ['no-internal-ip', ciliumNode(A, undefined, ['10.30.0.0/24'])],
    ['invalid-node-ip', ciliumNode(A, '10.20.1.300', ['10.30.0.0/24'])],
    ['node-ip-out-of-scope', ciliumNode(A, '10.30.0.148', ['10.30.0.0/24'])],
    ['invalid-cidr', ciliumNode(A, '10.20.1.10', ['10.30.0.0/24', ''])],
    ['cidr-out-of-scope', ciliumNode(A, '10.20.1.10', ['192.168.0.0/24'])],
  ])('a %s refusal carries a reason an operator can act on', (kind, record) => {
    const refusal = collectClaims([record], labScope()).refused.find((r) => r.kind === kind);
    expect(refusal).toBeDefined();
    expect(refusal?.node).toBe(A);
    expect(refusal?.reason.length).toBeGreaterThan(10);
    expect(refusal?.field).toMatch(/^spec\./);
  });

  test('refusedNodeIps: the refused nodes whose IP is in the node networks, for the planner to protect their ENIs', () => {
    const claims = collectClaims(
      [
        ciliumNode(A, '10.20.1.10', ['10.30.0.0/24x']),
        ciliumNode(B, '10.20.1.11', ['10.30.1.0/24']),
        ciliumNode(R, '10.10.5.5', ['10.30.9.0/24']),
        ciliumNode(C, '10.20.1.12', ['192.168.0.0/24', '10.30.2.0/24']),
      ],
      labScope(),
    );
    expect(claims.refusedNodeIps.map(({ node, ip }) => `${node} ${ip.text}`)).toEqual([`${A} 10.20.1.10`]);
    expect(claims.nodes.map((claim) => claim.node)).toEqual([B, C]);
  });

  test('unprotectableCidrs: a refused node\'s entries that protect no destination, with the address its ENI can be found by', () => {
    const claims = collectClaims(
      [
        ciliumNode(A, '10.20.1.10', ['10.30.0.0/24x', '10.30.1.0/24']),
        // An address padded with spaces refuses the node, but still finds its ENI for protection.
        ciliumNode(B, ' 10.20.1.11 ', ['10.30.2.0/24x']),
        // Outside the node networks: no ENI to protect by.
        ciliumNode(R, '10.10.5.5', ['junk']),
        ciliumNode(C, '10.20.1.12', ['10.30.0.0/15']),
      ],
      labScope(),
    );
    expect(claims.unprotectableCidrs.map(({ node, field, ip }) => `${node} ${field} ${ip?.text ?? '-'}`)).toEqual([
      `${A} spec.ipam.podCIDRs[0] 10.20.1.10`,
      `${B} spec.ipam.podCIDRs[0] 10.20.1.11`,
      `${R} spec.ipam.podCIDRs[0] -`,
      `${C} spec.ipam.podCIDRs[0] 10.20.1.12`,
    ]);
    expect(claims.refusedNodeIps.map(({ node, ip }) => `${node} ${ip.text}`)).toEqual([`${A} 10.20.1.10`, `${B} 10.20.1.11`, `${C} 10.20.1.12`]);
    expect(claims.nodes).toEqual([]);
  });

  test('protected reasons say why', () => {
    const claims = collectClaims(
      [ciliumNode(R, '10.10.5.5', ['10.30.9.0/24']), ciliumNode(A, '10.20.1.10', ['10.30.0.0/24']), ciliumNode(B, '10.20.1.11', ['10.30.0.0/24'])],
      labScope(),
    );
    const byNodeCidr = Object.fromEntries(claims.protected.map((p) => [`${p.node} ${p.cidr.text}`, p.reason]));
    expect(byNodeCidr[`${R} 10.30.9.0/24`]).toMatch(/refused node/);
    expect(byNodeCidr[`${A} 10.30.0.0/24`]).toMatch(/more than one node.*mi-0000000000000000b/);
    expect(byNodeCidr[`${B} 10.30.0.0/24`]).toMatch(/more than one node.*mi-0000000000000000a/);
  });

  test('many nodes with disjoint /24s: all claimed, none refused', () => {
    const records = Array.from({ length: 200 }, (_, i) => ciliumNode(`mi-${String(i).padStart(17, '0')}`, `10.20.${i >> 8}.${(i & 255) + 1}`, [`10.30.${i}.0/24`]));
    const claims = collectClaims(records, labScope());
    expect(claims.refused).toEqual([]);
    expect(claims.nodes).toHaveLength(200);
    expect(claims.nodes.every((node, i) => node.cidrs.map((cidr) => cidr.text).join() === `10.30.${i}.0/24`)).toBe(true);
  });

  test('one wide bad claim among many conflicts with all nodes it covers and nothing else', () => {
    const records = Array.from({ length: 8 }, (_, i) => ciliumNode(`mi-${String(i).padStart(17, '0')}`, `10.20.1.${i + 1}`, [`10.30.${i}.0/24`]));
    records.push(ciliumNode(R, '10.20.1.99', ['10.30.0.0/22']));
    const claims = collectClaims(records, labScope());
    const conflicted = claims.refused.filter((r) => r.kind === 'cidr-conflict').map((r) => r.node).sort();
    expect(conflicted).toEqual([...records.slice(0, 4).map((r) => r.name), R].sort());
    const claimed = claims.nodes.flatMap((node) => node.cidrs.map((cidr) => cidr.text)).sort();
    expect(claimed).toEqual(['10.30.4.0/24', '10.30.5.0/24', '10.30.6.0/24', '10.30.7.0/24']);
  });

  // Each refusal names the field where the bad value sits (the brief's example: spec.ipam.podCIDRs[1]).
  test('a cidr-conflict refusal names the exact field of the conflicting CIDR', () => {
    const claims = collectClaims(
      [ciliumNode(A, '10.20.1.10', ['10.30.5.0/24', '10.30.0.0/24']), ciliumNode(B, '10.20.1.11', [], { pools: [{ pool: 'p', cidrs: ['10.30.0.0/24'] }] })],
      labScope(),
    );
    const conflicts = claims.refused.filter((r) => r.kind === 'cidr-conflict').map((r) => `${r.node} ${r.field}`).sort();
    expect(conflicts).toEqual([`${A} spec.ipam.podCIDRs[1]`, `${B} spec.ipam.pools.allocated[0].cidrs[0]`]);
  });

  test('a cidr-conflict reason names only the nodes whose CIDRs really overlap it', () => {
    // A's /23 overlaps both B's and C's /24; B and C do not overlap each other.
    const claims = collectClaims(
      [ciliumNode(A, '10.20.1.10', ['10.30.0.0/23']), ciliumNode(B, '10.20.1.11', ['10.30.0.0/24']), ciliumNode(C, '10.20.1.12', ['10.30.1.0/24'])],
      labScope(),
    );
    const reasonOf = (node: string) => claims.refused.find((r) => r.node === node && r.kind === 'cidr-conflict')?.reason ?? '';
    expect(reasonOf(A)).toContain(B);
    expect(reasonOf(A)).toContain(C);
    expect(reasonOf(B)).toContain(A);
    expect(reasonOf(B)).not.toContain(C);
    expect(reasonOf(C)).toContain(A);
    expect(reasonOf(C)).not.toContain(B);
  });
});
