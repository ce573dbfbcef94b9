/**
 * Fuzzing CiliumNode objects on their way into the planner: the Kubernetes reader (`toCiliumNodeRecord`),
 * then `collectClaims`. A value of the wrong type anywhere makes the reader throw, naming `items[i]` and the
 * field path; well-typed bad values (malformed or out-of-scope CIDRs and IPs, IPv6, duplicates, missing
 * addresses) pass the reader and are refused per node by collectClaims, each refusal naming the field
 * where the bad value sits in the CiliumNode. Nothing crashes. FUZZ_RUNS / PROPERTY_RUNS raise the counts.
 */
import fc from 'fast-check';
import { toCiliumNodeRecord } from '../../../functions/adapters/kubernetes.js';
import { collectClaims } from '../../../functions/core/claims.js';
import { cidrContains, cidrsOverlap, parseCidr } from '../../../functions/core/cidr.js';
import { buildScope } from '../../../functions/core/scope.js';
import { DUAL_STACK_NETWORKS } from '../../support/builders.js';
import {
  type JsonKind,
  type JsonPath,
  describeThrown,
  fieldsRelated,
  fuzzRuns,
  getAt,
  jsonMutation,
  jsonValueNotOf,
  parsePathText,
  pathText,
  timeoutFor,
} from '../../support/fuzz.js';

const RUNS = fuzzRuns();
const scope = buildScope(DUAL_STACK_NETWORKS);

/** A CiliumNode as the API serves it (cluster-pool and multi-pool IPAM both filled in). */
const BASE = {
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNode',
  metadata: {
    name: 'mi-026d6a261e355fba7',
    labels: { 'eks.amazonaws.com/compute-type': 'hybrid' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'mi-026d6a261e355fba7', uid: '3f0c0000-0000-4000-8000-000000000001' }],
  },
  spec: {
    addresses: [
      { ip: '10.20.1.10', type: 'InternalIP' },
      { ip: '10.30.0.148', type: 'CiliumInternalIP' },
    ],
    health: { ipv4: '10.30.0.8' },
    ipam: {
      podCIDRs: ['10.30.0.0/24', 'fd00:30:0:1::/64'],
      pools: { allocated: [{ pool: 'default', cidrs: ['10.30.100.0/24'] }] },
    },
  },
};

function rule(holds: boolean, what: string, detail?: unknown): void {
  if (!holds) throw new Error(`${what}${detail === undefined ? '' : `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)?.slice(0, 800)}`}`);
}

/** The reader on one item: a record, or an Error naming `items[index]` (never a TypeError or the like). */
function read(item: unknown, index: number): { ok: true; record: ReturnType<typeof toCiliumNodeRecord> } | { ok: false; message: string } {
  try {
    const record = toCiliumNodeRecord(item, index);
    rule(typeof record.name === 'string' && record.name !== '', 'a record has a name', record);
    rule(record.addresses.every((a) => typeof a.type === 'string' && typeof a.ip === 'string'), 'addresses are strings', record.addresses);
    rule(record.podCIDRs.every((text) => typeof text === 'string'), 'podCIDRs are strings', record.podCIDRs);
    rule(record.poolCIDRs.every((pool) => typeof pool.pool === 'string' && pool.cidrs.every((text) => typeof text === 'string')), 'pool CIDRs are strings', record.poolCIDRs);
    return { ok: true, record };
  } catch (error) {
    rule(error instanceof Error && error.constructor === Error, 'the reader throws its own Error, not a crash', describeThrown(error));
    const message = (error as Error).message;
    rule(message.startsWith(`malformed CiliumNode items[${index}]`), `the error names items[${index}]`, message);
    return { ok: false, message };
  }
}

/** The fields an error of the reader names: `malformed CiliumNode items[i] ("name"): a.b: message; c[0]: message`. */
function namedFields(message: string, index: number): string[] {
  const head = new RegExp(`^malformed CiliumNode items\\[${index}\\](?: \\("(?:[^"\\\\]|\\\\.)*"\\))?: `);
  return message
    .replace(head, '')
    .split('; ')
    .map((issue) => issue.slice(0, issue.indexOf(': ')));
}

/** Where the schema expects what; `nullable`: null or absent means "nothing allocated yet". */
const TYPED_PATHS: { path: JsonPath; kind: JsonKind; nullable: boolean }[] = [
  { path: ['metadata'], kind: 'object', nullable: false },
  { path: ['metadata', 'name'], kind: 'string', nullable: false },
  { path: ['spec'], kind: 'object', nullable: true },
  { path: ['spec', 'addresses'], kind: 'array', nullable: true },
  { path: ['spec', 'addresses', 0], kind: 'object', nullable: false },
  { path: ['spec', 'addresses', 1], kind: 'object', nullable: false },
  { path: ['spec', 'addresses', 0, 'ip'], kind: 'string', nullable: true },
  { path: ['spec', 'addresses', 1, 'type'], kind: 'string', nullable: true },
  { path: ['spec', 'ipam'], kind: 'object', nullable: true },
  { path: ['spec', 'ipam', 'podCIDRs'], kind: 'array', nullable: true },
  { path: ['spec', 'ipam', 'podCIDRs', 0], kind: 'string', nullable: false },
  { path: ['spec', 'ipam', 'podCIDRs', 1], kind: 'string', nullable: false },
  { path: ['spec', 'ipam', 'pools'], kind: 'object', nullable: true },
  { path: ['spec', 'ipam', 'pools', 'allocated'], kind: 'array', nullable: true },
  { path: ['spec', 'ipam', 'pools', 'allocated', 0], kind: 'object', nullable: false },
  { path: ['spec', 'ipam', 'pools', 'allocated', 0, 'pool'], kind: 'string', nullable: false },
  { path: ['spec', 'ipam', 'pools', 'allocated', 0, 'cidrs'], kind: 'array', nullable: true },
  { path: ['spec', 'ipam', 'pools', 'allocated', 0, 'cidrs', 0], kind: 'string', nullable: false },
];

function setAt(root: unknown, path: JsonPath, value: unknown): unknown {
  const copy = structuredClone(root);
  const parent = getAt(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1]!] = value;
  return copy;
}

describe('fuzzing CiliumNode objects: the reader', () => {
  test(
    'a value of the wrong type at any field: the reader throws naming items[i] and that field',
    () => {
      const wrong = fc.constantFrom(...TYPED_PATHS).chain(({ path, kind, nullable }) =>
        fc.record({
          path: fc.constant(path),
          value: jsonValueNotOf(kind, ...(nullable ? (['null'] as JsonKind[]) : [])),
          index: fc.nat({ max: 600 }),
        }),
      );
      fc.assert(
        fc.property(wrong, ({ path, value, index }) => {
          const result = read(setAt(BASE, path, value), index);
          rule(!result.ok, `${pathText(path)} = ${JSON.stringify(value)} is refused`);
          if (!result.ok) rule(result.message.includes(pathText(path)), `the error names ${pathText(path)}`, result.message);
        }),
        { numRuns: RUNS },
      );
    },
    timeoutFor(RUNS, 10),
  );

  test(
    'an empty name or pool name is refused, naming the field; null or absent optional fields mean "nothing yet"',
    () => {
      for (const path of [['metadata', 'name'], ['spec', 'ipam', 'pools', 'allocated', 0, 'pool']] as JsonPath[]) {
        const result = read(setAt(BASE, path, ''), 3);
        rule(!result.ok && result.message.includes(pathText(path)), `an empty ${pathText(path)} is refused naming it`, result);
      }
      for (const { path, nullable } of TYPED_PATHS.filter((entry) => entry.nullable)) {
        for (const value of [null, undefined]) {
          const result = read(setAt(BASE, path, value), 0);
          rule(nullable && result.ok, `${pathText(path)} = ${String(value)} is read as nothing allocated`, result);
        }
      }
    },
  );

  test(
    'any value at all, or one random change to a real CiliumNode: a record, or an error naming items[i] and the changed field',
    () => {
      const anything = fc.anything({ maxDepth: 3, withNullPrototype: true, withBoxedValues: true, withSparseArray: true, withMap: true, withDate: true });
      const mutated = jsonMutation(BASE);
      fc.assert(
        fc.property(fc.oneof(anything.map((item) => ({ item, changed: undefined as string | undefined })), mutated.map((m) => ({ item: m.mutated, changed: pathText(m.path) }))), fc.nat({ max: 600 }), ({ item, changed }, index) => {
          const result = read(item, index);
          if (!result.ok && changed !== undefined) {
            rule(namedFields(result.message, index).some((field) => fieldsRelated(field, changed)), `the error names ${changed}`, result.message);
          }
        }),
        { numRuns: RUNS },
      );
    },
    timeoutFor(RUNS, 10),
  );
});

// ---------------------------------------------------------------------------------------------------------
// Well-typed bad values → collectClaims
// ---------------------------------------------------------------------------------------------------------

const ipText = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 30 }).map((i) => `10.20.1.${i}`) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 30 }).map((i) => `fd00:20::${i.toString(16)}`) },
  { weight: 3, arbitrary: fc.constantFrom('10.10.5.5', 'garbage', '10.20.1.300', ' 10.20.1.5', '::ffff:10.20.1.5', '', '10.20.1', 'fe80::1%eth0', '10.20.1.5/32') },
);

/** Address entries: most complete, some missing a type or an IP (Cilium omits empty fields), some blank. */
const address = fc.oneof(
  { weight: 6, arbitrary: ipText.map((ip) => ({ type: 'InternalIP', ip })) },
  { weight: 2, arbitrary: ipText.map((ip) => ({ type: 'CiliumInternalIP', ip })) },
  { weight: 1, arbitrary: ipText.map((ip) => ({ type: 'ExternalIP', ip })) },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, unknown>>({ type: 'InternalIP' }, { type: 'InternalIP', ip: null }, { type: '', ip: '' }, { type: 'InternalIP', ip: '' }) },
  { weight: 1, arbitrary: ipText.map((ip): Record<string, unknown> => ({ ip })) },
);

const cidrText = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 12 }).map((i) => `10.30.${i}.0/24`) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 3 }).map((i) => `fd00:30:0:${i}::/64`) },
  { weight: 1, arbitrary: fc.constantFrom('10.30.0.0/23', '10.30.0.0/16') },
  { weight: 2, arbitrary: fc.constantFrom('10.40.0.0/24', '100.64.1.0/24', 'fd00:40::/64', '0.0.0.0/0') },
  { weight: 3, arbitrary: fc.constantFrom('10.30.1.7/24', 'garbage', ' 10.30.3.0/24', '10.30.5.0', '', '10.30.1.0/33', 'FD00:30:0:1::/64', 'fd00:30:0:1:0::/64', '10.30.01.0/24') },
);

const nodeObject = (index: number) =>
  fc
    .record(
      {
        addresses: fc.array(address, { maxLength: 3 }),
        podCIDRs: fc.array(cidrText, { maxLength: 3 }),
        pools: fc.array(fc.record({ pool: fc.constantFrom('default', 'blue'), cidrs: fc.array(cidrText, { maxLength: 2 }) }), { maxLength: 2 }),
        noSpec: fc.boolean(),
      },
      { requiredKeys: ['addresses', 'podCIDRs', 'pools'] },
    )
    .map(({ addresses, podCIDRs, pools, noSpec }) => ({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNode',
      metadata: { name: `mi-${index.toString(16).padStart(17, '0')}` },
      ...(noSpec ? {} : { spec: { addresses, ipam: { podCIDRs, ...(pools.length > 0 ? { pools: { allocated: pools } } : {}) } } }),
    }));

const nodeObjects = fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }).chain((indexes) => fc.tuple(...indexes.map(nodeObject)));

type NodeObject = { metadata: { name: string }; spec?: { addresses: Record<string, unknown>[]; ipam: { podCIDRs: string[]; pools?: { allocated: { pool: string; cidrs: string[] }[] } } } };

/** The pod CIDR fields of a CiliumNode object, with where each sits. */
function cidrFields(object: NodeObject): { field: string; text: string }[] {
  const ipam = object.spec?.ipam;
  return [
    ...(ipam?.podCIDRs ?? []).map((text, i) => ({ field: `spec.ipam.podCIDRs[${i}]`, text })),
    ...(ipam?.pools?.allocated ?? []).flatMap((pool, p) => pool.cidrs.map((text, i) => ({ field: `spec.ipam.pools.allocated[${p}].cidrs[${i}]`, text }))),
  ];
}

function checkClaims(objects: NodeObject[]): void {
  const records = objects.map((object, index) => {
    const result = read(object, index);
    rule(result.ok, 'well-typed CiliumNodes are read', result);
    return (result as { ok: true; record: ReturnType<typeof toCiliumNodeRecord> }).record;
  });
  const claims = collectClaims(records, scope);
  const byName = new Map(objects.map((object) => [object.metadata.name, object]));

  // Every refusal names a node and the field of that node's CiliumNode where the bad value sits.
  for (const refusal of claims.refused) {
    const object = byName.get(refusal.node);
    rule(object !== undefined, 'a refusal names a node of the list', refusal);
    if (refusal.kind === 'no-internal-ip') {
      rule(refusal.field === 'spec.addresses', 'no InternalIP is reported on spec.addresses', refusal);
      const internal = (object!.spec?.addresses ?? []).filter((a) => a.type === 'InternalIP' && typeof a.ip === 'string' && a.ip !== '');
      rule(internal.length === 0, 'a node refused for having no InternalIP has none', { refusal, addresses: object!.spec?.addresses });
      continue;
    }
    const path = parsePathText(refusal.field);
    const there = getAt(object, path);
    if (refusal.kind === 'invalid-node-ip' || refusal.kind === 'node-ip-out-of-scope') {
      const entry = getAt(object, path.slice(0, -1)) as Record<string, unknown> | undefined;
      rule(there === refusal.value && entry?.type === 'InternalIP', `${refusal.field} holds the refused InternalIP`, { refusal, found: entry ?? 'nothing', addresses: object!.spec?.addresses });
    } else if (refusal.kind === 'cidr-conflict') {
      const parsed = typeof there === 'string' ? parseCidr(there) : undefined;
      rule(parsed?.ok === true && parsed.value.text === refusal.value, `${refusal.field} holds the disputed CIDR`, { refusal, found: there });
    } else {
      rule(there === refusal.value, `${refusal.field} holds the refused value`, { refusal, found: there });
    }
  }

  // Every bad value is refused, naming its field.
  const refusedAt = (node: string, field: string) => claims.refused.some((refusal) => refusal.node === node && refusal.field === field);
  for (const object of objects) {
    const name = object.metadata.name;
    for (const { field, text } of cidrFields(object)) {
      const parsed = parseCidr(text);
      if (!parsed.ok) rule(refusedAt(name, field), `the malformed CIDR at ${field} of ${name} is refused`, { text, refused: claims.refused });
      else if (!scope.podNetworks.some((network) => cidrContains(network, parsed.value))) {
        rule(refusedAt(name, field), `the out-of-scope CIDR at ${field} of ${name} is refused`, { text, refused: claims.refused });
      }
    }
    const hasInternal = (object.spec?.addresses ?? []).some((a) => a.type === 'InternalIP' && typeof a.ip === 'string' && a.ip !== '');
    if (!hasInternal) rule(refusedAt(name, 'spec.addresses'), `${name} without an InternalIP is refused`, claims.refused);
  }

  // A node with nothing wrong (one InternalIP in the node networks, only well-formed in-scope CIDRs nobody
  // else claims) is not refused and claims its CIDRs.
  for (const object of objects) {
    const name = object.metadata.name;
    const internal = (object.spec?.addresses ?? []).filter((a) => a.type === 'InternalIP' && typeof a.ip === 'string' && a.ip !== '');
    const texts = cidrFields(object).map(({ text }) => text);
    const parsed = texts.map(parseCidr);
    if (internal.length !== 1 || !/^10\.20\.1\.([1-9]|[12]\d|30)$|^fd00:20::[0-9a-f]{1,2}$/.test(internal[0]!.ip as string)) continue;
    if (parsed.some((result) => !result.ok || !scope.podNetworks.some((network) => cidrContains(network, result.value)))) continue;
    const others = objects.filter((other) => other !== object).flatMap((other) => cidrFields(other).map(({ text }) => parseCidr(text)).flatMap((result) => (result.ok ? [result.value] : result.network ? [result.network] : [])));
    if (parsed.some((result) => result.ok && others.some((other) => cidrsOverlap(other, result.value)))) continue;
    rule(!claims.refused.some((refusal) => refusal.node === name), `${name} has nothing wrong and is not refused`, claims.refused.filter((refusal) => refusal.node === name));
    const claim = claims.nodes.find((node) => node.node === name);
    rule(claim !== undefined, `${name} is claimed`);
    const wanted = [...new Set(parsed.map((result) => (result as { value: { text: string } }).value.text))].sort();
    rule(JSON.stringify(claim!.cidrs.map((cidr) => cidr.text).sort()) === JSON.stringify(wanted), `${name} claims its CIDRs`, { claim: claim!.cidrs.map((c) => c.text), wanted });
  }
}

describe('fuzzing CiliumNode objects: collectClaims', () => {
  test(
    'bad CIDRs and IPs (malformed, IPv6, out of scope, duplicated, missing) are refused per node, each naming its field in the CiliumNode',
    () => {
      fc.assert(fc.property(nodeObjects, (objects) => checkClaims(objects as NodeObject[])), {
        numRuns: RUNS,
        examples: [
          // Cilium omits empty fields: an address entry without an IP comes before the node's (bad) InternalIP.
          [
            [
              {
                apiVersion: 'cilium.io/v2',
                kind: 'CiliumNode',
                metadata: { name: 'mi-0000000000000000a' },
                spec: { addresses: [{ type: 'InternalIP' }, { type: 'InternalIP', ip: '10.99.0.1' }], ipam: { podCIDRs: ['10.30.1.0/24'] } },
              },
            ],
          ],
        ],
      });
    },
    timeoutFor(RUNS, 10),
  );
});
