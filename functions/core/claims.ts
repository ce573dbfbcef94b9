/**
 * From CiliumNode objects to the routes the cluster claims: for each node its IP (which must lie in a
 * remote node network) and its pod CIDRs (every podCIDRs entry and multi-pool allocation that lies in
 * a remote pod network). Bad data is refused per node, never globally, and every CIDR a refused node
 * (or two disagreeing nodes) claims is protected: its route is left exactly as it is.
 */
import { type Cidr, type IpAddress, cidrContains, cidrsOverlap, compareCidrs, parseCidr, parseIp } from './cidr.js';
import { type Scope, inNodeScope, inPodScope } from './scope.js';
import type { CiliumNodeRecord } from './types.js';

export type RefusalKind =
  | 'no-internal-ip'
  | 'invalid-node-ip'
  | 'node-ip-out-of-scope'
  | 'invalid-cidr'
  | 'cidr-out-of-scope'
  | 'cidr-conflict';

export interface Refusal {
  node: string;
  kind: RefusalKind;
  /** Where in the CiliumNode the bad value sits, e.g. `spec.ipam.podCIDRs[1]`. */
  field: string;
  value?: string;
  reason: string;
}

/** A node whose IP is in scope, with the in-scope CIDRs it alone claims (possibly none yet). */
export interface NodeClaim {
  node: string;
  ip: IpAddress;
  cidrs: Cidr[];
  /** The CiliumNode's creationTimestamp, when known. */
  createdAt?: string;
}

export interface ProtectedCidr {
  cidr: Cidr;
  node: string;
  reason: string;
}

export interface ClaimSet {
  /**
   * CiliumNodes that belong to the managed scope: an IP in the remote node networks or a CIDR in the
   * remote pod networks. The empty-list guard looks at this, so a list holding only unrelated nodes
   * counts as empty.
   */
  nodeCount: number;
  nodes: NodeClaim[];
  refused: Refusal[];
  protected: ProtectedCidr[];
  /** Nodes in scope that have no pod CIDR allocated yet. */
  pending: { node: string; ip: string }[];
  /**
   * Refused nodes whose IP is in the node networks. A refused node's pod CIDRs may not all be known (one that
   * cannot be parsed names no network), so the routes pointing at its ENI are protected as well as its CIDRs.
   */
  refusedNodeIps: { node: string; ip: IpAddress }[];
  /**
   * Pod CIDR entries of refused nodes whose share of the pod networks cannot be protected by destination: one that
   * names no network at all (`10.30.5.0/24x`), or one that covers a whole pod network and more (`10.30.0.0/15`
   * over `10.30.0.0/16`). The planner protects such a node's routes by its ENI (`ip`, when one is known); where
   * it cannot, no working route can be shown not to be that node's, and it deletes none.
   */
  unprotectableCidrs: { node: string; field: string; ip?: IpAddress }[];
}

interface CidrEntry {
  field: string;
  text: string;
}

function cidrEntries(record: CiliumNodeRecord): CidrEntry[] {
  const entries = record.podCIDRs.map((text, index) => ({ field: `spec.ipam.podCIDRs[${index}]`, text }));
  record.poolCIDRs.forEach((pool, poolIndex) =>
    pool.cidrs.forEach((text, index) =>
      entries.push({ field: `spec.ipam.pools.allocated[${poolIndex}].cidrs[${index}]`, text }),
    ),
  );
  return entries;
}

/**
 * The node's IP: the first InternalIP inside a remote node network, or why there is none. A refused node may still
 * name its address padded with spaces: `protectIp` is that address, in scope, for protecting the routes to its ENI
 * (never for routing to it).
 */
function nodeIp(record: CiliumNodeRecord, scope: Scope): { ok: true; ip: IpAddress } | { ok: false; refusal: Refusal; protectIp?: IpAddress } {
  const internal = record.addresses
    .map((address, index) => ({ ...address, field: `spec.addresses[${index}].ip` }))
    // An entry without an IP says nothing (Cilium omits empty fields); the index above stays the object's own.
    .filter((address) => address.type === 'InternalIP' && address.ip !== '');
  if (internal.length === 0) {
    return {
      ok: false,
      refusal: { node: record.name, kind: 'no-internal-ip', field: 'spec.addresses', reason: 'the CiliumNode has no InternalIP address' },
    };
  }
  let firstProblem: Refusal | undefined;
  let protectIp: IpAddress | undefined;
  for (const address of internal) {
    const parsed = parseIp(address.ip);
    if (!parsed.ok) {
      firstProblem ??= { node: record.name, kind: 'invalid-node-ip', field: address.field, value: address.ip, reason: parsed.reason };
      const trimmed = typeof address.ip === 'string' ? parseIp(address.ip.trim()) : undefined;
      if (trimmed?.ok && inNodeScope(scope, trimmed.value)) protectIp ??= trimmed.value;
    } else if (!inNodeScope(scope, parsed.value)) {
      firstProblem ??= {
        node: record.name,
        kind: 'node-ip-out-of-scope',
        field: address.field,
        value: address.ip,
        reason: `node IP ${parsed.value.text} is outside the remote node networks`,
      };
    } else {
      return { ok: true, ip: parsed.value };
    }
  }
  return { ok: false, refusal: firstProblem!, ...(protectIp ? { protectIp } : {}) };
}

/** A CIDR that holds a whole remote pod network and is larger than it (so it is not inside the scope). */
function coversPodNetwork(scope: Scope, cidr: Cidr): boolean {
  return scope.podNetworks.some((network) => cidrContains(cidr, network) && cidr.prefix < network.prefix);
}

interface NodeCandidates {
  record: CiliumNodeRecord;
  ip?: IpAddress;
  /** In-scope CIDRs, de-duplicated. */
  cidrs: Cidr[];
  /** Where each CIDR was first found in the CiliumNode, by CIDR text. */
  fields: Map<string, string>;
  refused: boolean;
  /** A refused node's address for protecting the routes to its ENI: its IP, or the padded one nodeIp read. */
  protectIp?: IpAddress;
  /** Fields of its pod CIDR entries that ClaimSet.unprotectableCidrs lists. */
  unprotectableFields: string[];
  entryCount: number;
}

export function collectClaims(records: CiliumNodeRecord[], scope: Scope): ClaimSet {
  const refused: Refusal[] = [];
  const protectedCidrs: ProtectedCidr[] = [];
  const candidates: NodeCandidates[] = [];
  for (const record of records) {
    const entries = cidrEntries(record);
    const cidrs = new Map<string, Cidr>();
    const fields = new Map<string, string>();
    const keep = (cidr: Cidr, field: string) => {
      if (!fields.has(cidr.text)) fields.set(cidr.text, field);
      cidrs.set(cidr.text, cidr);
    };
    let invalid = false;
    const unprotectableFields: string[] = [];
    for (const entry of entries) {
      const parsed = parseCidr(entry.text);
      if (!parsed.ok) {
        invalid = true;
        refused.push({ node: record.name, kind: 'invalid-cidr', field: entry.field, value: String(entry.text), reason: parsed.reason });
        // A CIDR written with host bits, or padded with spaces, still names a network: protect its route.
        const trimmed = typeof entry.text === 'string' ? parseCidr(entry.text.trim()) : undefined;
        const network = parsed.network ?? (trimmed?.ok ? trimmed.value : trimmed?.network);
        if (network === undefined || coversPodNetwork(scope, network)) unprotectableFields.push(entry.field);
        else if (inPodScope(scope, network)) keep(network, entry.field);
      } else if (!inPodScope(scope, parsed.value)) {
        refused.push({
          node: record.name,
          kind: 'cidr-out-of-scope',
          field: entry.field,
          value: entry.text,
          reason: `${parsed.value.text} is outside the remote pod networks (${scope.podNetworks.map((c) => c.text).join(', ')})`,
        });
        // Wider than a pod network, it still claims every address in it: the node's data is not trusted whole.
        if (coversPodNetwork(scope, parsed.value)) {
          invalid = true;
          unprotectableFields.push(entry.field);
        }
      } else {
        keep(parsed.value, entry.field);
      }
    }
    const ip = nodeIp(record, scope);
    if (!ip.ok) refused.push(ip.refusal);
    const protectIp = ip.ok ? ip.ip : ip.protectIp;
    candidates.push({
      record,
      ...(ip.ok ? { ip: ip.ip } : {}),
      ...(protectIp ? { protectIp } : {}),
      unprotectableFields,
      cidrs: [...cidrs.values()],
      fields,
      // A node whose data cannot be trusted whole is refused; its in-scope CIDRs stay protected.
      refused: invalid || !ip.ok,
      entryCount: entries.length,
    });
  }

  // A refused node's data is not trusted, so it cannot dispute another node's CIDR; its own CIDRs stay
  // protected (their routes are never rewritten or deleted), which the planner checks separately.
  const conflicting = findConflicts(candidates.filter((candidate) => !candidate.refused));
  for (const candidate of candidates) {
    for (const cidr of candidate.cidrs) {
      const conflict = conflicting.get(candidate)?.get(cidr.text);
      if (conflict) {
        refused.push({
          node: candidate.record.name,
          kind: 'cidr-conflict',
          field: candidate.fields.get(cidr.text) ?? 'spec.ipam',
          value: cidr.text,
          reason: conflict,
        });
        protectedCidrs.push({ cidr, node: candidate.record.name, reason: `claimed by more than one node (${conflict})` });
      } else if (candidate.refused) {
        protectedCidrs.push({ cidr, node: candidate.record.name, reason: 'claimed by a refused node' });
      }
    }
  }

  const nodes: NodeClaim[] = [];
  const pending: ClaimSet['pending'] = [];
  for (const candidate of candidates) {
    if (candidate.refused || !candidate.ip) continue;
    const own = conflicting.get(candidate);
    nodes.push({
      node: candidate.record.name,
      ip: candidate.ip,
      cidrs: candidate.cidrs.filter((cidr) => !own?.has(cidr.text)),
      ...(candidate.record.createdAt !== undefined ? { createdAt: candidate.record.createdAt } : {}),
    });
    if (candidate.entryCount === 0) pending.push({ node: candidate.record.name, ip: candidate.ip.text });
  }
  const refusedNodeIps = candidates.flatMap((candidate) => (candidate.refused && candidate.protectIp ? [{ node: candidate.record.name, ip: candidate.protectIp }] : []));
  const unprotectableCidrs = candidates.flatMap((candidate) =>
    candidate.unprotectableFields.map((field) => ({ node: candidate.record.name, field, ...(candidate.protectIp ? { ip: candidate.protectIp } : {}) })),
  );
  const nodeCount = candidates.filter((candidate) => candidate.ip !== undefined || candidate.cidrs.length > 0).length;
  return { nodeCount, nodes, refused, protected: protectedCidrs, pending, refusedNodeIps, unprotectableCidrs };
}

/**
 * CIDRs claimed by more than one node, found with one sort and sweep: CIDRs are grouped into runs of
 * transitively overlapping entries, and every entry of a run that involves two or more nodes is a
 * conflict. Protecting the whole run (not only the directly overlapping pairs) is deliberate: when
 * IPAM data disagrees, no route inside the disputed range is rewritten. Returns, per node, each
 * conflicting CIDR text with the reason.
 */
function findConflicts(candidates: NodeCandidates[]): Map<NodeCandidates, Map<string, string>> {
  const entries = candidates.flatMap((owner) => owner.cidrs.map((cidr) => ({ owner, cidr })));
  entries.sort((a, b) => compareCidrs(a.cidr, b.cidr));
  const conflicts = new Map<NodeCandidates, Map<string, string>>();
  let run: typeof entries = [];
  let runLast = '';
  const closeRun = () => {
    const owners = new Set(run.map((entry) => entry.owner));
    if (owners.size > 1) {
      for (const { owner, cidr } of run) {
        const direct = new Set(run.filter((other) => other.owner !== owner && cidrsOverlap(other.cidr, cidr)).map((other) => other.owner.record.name));
        const all = [...owners].filter((other) => other !== owner).map((other) => other.record.name);
        const reason =
          direct.size > 0
            ? `${cidr.text} overlaps a CIDR claimed by ${[...direct].join(', ')}`
            : `${cidr.text} lies in a range whose CIDRs are disputed with ${all.join(', ')}`;
        let perNode = conflicts.get(owner);
        if (!perNode) conflicts.set(owner, (perNode = new Map()));
        perNode.set(cidr.text, reason);
      }
    }
    run = [];
  };
  for (const entry of entries) {
    if (run.length > 0 && entry.cidr.first > runLast) closeRun();
    if (run.length === 0 || entry.cidr.last > runLast) runLast = entry.cidr.last;
    run.push(entry);
  }
  closeRun();
  return conflicts;
}
