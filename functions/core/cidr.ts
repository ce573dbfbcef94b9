/**
 * CIDR and address handling for the core, on top of ipaddr.js. Every CIDR is parsed once into a `Cidr`
 * whose `first`/`last` keys compare as plain strings, so containment, overlap and sorting need no
 * arithmetic of our own.
 */
import ipaddr from 'ipaddr.js';

export type IpFamily = 'ipv4' | 'ipv6';

export interface Cidr {
  /** Canonical text: dotted quad or RFC 5952 IPv6, then `/prefix`. */
  readonly text: string;
  readonly family: IpFamily;
  readonly prefix: number;
  /** Sortable key of the first address (family-tagged fixed-width hex). */
  readonly first: string;
  /** Sortable key of the last address. */
  readonly last: string;
}

export interface IpAddress {
  readonly text: string;
  readonly family: IpFamily;
  readonly key: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Parsing dominates a plan's CPU time (every route destination of every table, every claim, at every run),
 * and the same few thousand texts come back run after run in a warm Lambda. Results are frozen values, so
 * they are kept per text; the caches are bounded and simply start over when full.
 */
const CACHE_LIMIT = 50_000;
const ipCache = new Map<string, ParseResult<IpAddress>>();
const cidrCache = new Map<string, CidrParseResult>();

function memo<T extends object>(cache: Map<string, T>, text: string, parse: (text: string) => T): T {
  if (typeof text !== 'string') return parse(text);
  const cached = cache.get(text);
  if (cached !== undefined) return cached;
  const result = deepFreeze(parse(text));
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(text, result);
  return result;
}

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) if (typeof inner === 'object' && inner !== null) deepFreeze(inner as object);
  return Object.freeze(value);
}

function keyOf(address: ipaddr.IPv4 | ipaddr.IPv6): string {
  const tag = address.kind() === 'ipv4' ? '4' : '6';
  return tag + ':' + address.toByteArray().map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

function canonicalAddress(address: ipaddr.IPv4 | ipaddr.IPv6): string {
  return address.kind() === 'ipv6' ? (address as ipaddr.IPv6).toRFC5952String() : address.toString();
}

/**
 * Parses an address in its usual written form only: IPv4 as four decimal parts (ipaddr.js would also
 * take `10.30` or octal forms, which no AWS or Kubernetes API emits), IPv6 without a zone id.
 */
export function parseIp(text: string): ParseResult<IpAddress> {
  return memo(ipCache, text, parseIpUncached);
}

function parseIpUncached(text: string): ParseResult<IpAddress> {
  if (typeof text !== 'string' || text.trim() !== text || text === '') {
    return { ok: false, reason: `"${String(text)}" is not an IP address` };
  }
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    address = ipaddr.IPv4.parse(text);
  } else if (ipaddr.IPv6.isValid(text) && !text.includes('%')) {
    address = ipaddr.IPv6.parse(text);
    if (address.isIPv4MappedAddress()) {
      return { ok: false, reason: `"${text}" is an IPv4-mapped IPv6 address` };
    }
  } else {
    return { ok: false, reason: `"${text}" is not an IP address` };
  }
  return { ok: true, value: { text: canonicalAddress(address), family: address.kind(), key: keyOf(address) } };
}

export type CidrParseResult =
  | { ok: true; value: Cidr }
  /** `network` is set when only the host bits were wrong: the text still names that network. */
  | { ok: false; reason: string; network?: Cidr };

/** An address in its one canonical spelling (IPv6 has several); text that is no address stays as it is. */
export function canonicalIpText(text: string): string {
  const parsed = parseIp(text);
  return parsed.ok ? parsed.value.text : text;
}

/** Two texts that are the same address, however each is spelled. */
export function sameIpAddress(a: string, b: string): boolean {
  return canonicalIpText(a) === canonicalIpText(b);
}

/** Two texts that are the same network, however each is spelled; text that is no CIDR matches only itself. */
export function sameCidr(a: string, b: string): boolean {
  const [x, y] = [parseCidr(a), parseCidr(b)];
  return x.ok && y.ok ? x.value.text === y.value.text : a === b;
}

/** Parses `address/prefix`; host bits must be zero (EC2 and Cilium both use network addresses). */
export function parseCidr(text: string): CidrParseResult {
  return memo(cidrCache, text, parseCidrUncached);
}

function parseCidrUncached(text: string): CidrParseResult {
  if (typeof text !== 'string') return { ok: false, reason: `${String(text)} is not a CIDR` };
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, reason: `"${text}" is not a CIDR (no prefix length)` };
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  const maxPrefix = ip.ok && ip.value.family === 'ipv6' ? 128 : 32;
  if (!ip.ok || !/^(0|[1-9]\d{0,2})$/.test(prefixText) || Number(prefixText) > maxPrefix) {
    return { ok: false, reason: `"${text}" is not a CIDR` };
  }
  const prefix = Number(prefixText);
  const normalised = `${ip.value.text}/${prefix}`;
  const family = ip.value.family;
  const Family = family === 'ipv4' ? ipaddr.IPv4 : ipaddr.IPv6;
  const network = Family.networkAddressFromCIDR(normalised);
  const networkText = canonicalAddress(network);
  const value: Cidr = {
    text: `${networkText}/${prefix}`,
    family,
    prefix,
    first: keyOf(network),
    last: keyOf(Family.broadcastAddressFromCIDR(normalised)),
  };
  if (networkText !== ip.value.text) {
    return { ok: false, reason: `"${text}" has host bits set (the network is ${value.text})`, network: value };
  }
  return { ok: true, value };
}

/** Parses a CIDR that must be valid (configuration, tests); throws with the reason otherwise. */
export function mustParseCidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
}

/** `inner` lies entirely inside `outer` (equal counts as inside). */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && outer.first <= inner.first && inner.last <= outer.last;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

export function cidrContainsIp(cidr: Cidr, ip: IpAddress): boolean {
  return cidr.family === ip.family && cidr.first <= ip.key && ip.key <= cidr.last;
}

/** Sort order: by family, then first address, then widest first. */
export function compareCidrs(a: Cidr, b: Cidr): number {
  if (a.first !== b.first) return a.first < b.first ? -1 : 1;
  return a.prefix - b.prefix;
}

/**
 * A set of CIDRs with values that answers "which entry overlaps this CIDR?" in O(log n) per prefix
 * length. Entries of one prefix length are equal or disjoint, so within a group sorting by `first`
 * also sorts by `last` and a binary search finds the only candidate.
 */
export class CidrMap<V> {
  private readonly groups = new Map<string, { cidr: Cidr; value: V }[]>();
  private sorted = true;

  set(cidr: Cidr, value: V): void {
    const groupKey = `${cidr.family}/${cidr.prefix}`;
    let group = this.groups.get(groupKey);
    if (!group) this.groups.set(groupKey, (group = []));
    group.push({ cidr, value });
    this.sorted = false;
  }

  /** Some entry that overlaps `cidr`, preferring an exact match. */
  findOverlapping(cidr: Cidr): { cidr: Cidr; value: V } | undefined {
    this.sort();
    let found: { cidr: Cidr; value: V } | undefined;
    for (const group of this.groups.values()) {
      const candidate = firstWithLastAtLeast(group, cidr.first);
      if (candidate && candidate.cidr.family === cidr.family && candidate.cidr.first <= cidr.last) {
        if (candidate.cidr.text === cidr.text) return candidate;
        found ??= candidate;
      }
    }
    return found;
  }

  private sort(): void {
    if (this.sorted) return;
    for (const group of this.groups.values()) group.sort((a, b) => compareCidrs(a.cidr, b.cidr));
    this.sorted = true;
  }
}

function firstWithLastAtLeast<T extends { cidr: Cidr }>(group: T[], key: string): T | undefined {
  let low = 0;
  let high = group.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (group[mid]!.cidr.last < key) low = mid + 1;
    else high = mid;
  }
  return group[low];
}
