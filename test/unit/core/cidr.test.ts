import {
  type Cidr,
  CidrMap,
  canonicalIpText,
  cidrContains,
  cidrContainsIp,
  cidrsOverlap,
  compareCidrs,
  mustParseCidr,
  parseCidr,
  parseIp,
  sameCidr,
  sameIpAddress,
} from '../../../functions/core/cidr.js';

const c = mustParseCidr;
const ip = (text: string) => {
  const parsed = parseIp(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
};

describe('parseIp', () => {
  test.each([
    ['10.20.1.10', '10.20.1.10', 'ipv4'],
    ['0.0.0.0', '0.0.0.0', 'ipv4'],
    ['255.255.255.255', '255.255.255.255', 'ipv4'],
    ['fd00:20::7', 'fd00:20::7', 'ipv6'],
    ['2001:DB8::1', '2001:db8::1', 'ipv6'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1', 'ipv6'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 'ipv6'],
    ['FE80:0:0:0:0:0:0:1', 'fe80::1', 'ipv6'],
    ['::1', '::1', 'ipv6'],
    ['::', '::', 'ipv6'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8', 'ipv6'],
  ])('%s is a valid address, canonical %s (%s)', (text, canonical, family) => {
    const parsed = parseIp(text);
    expect(parsed).toEqual({ ok: true, value: expect.objectContaining({ text: canonical, family }) });
  });

  test('equal addresses written differently share one key', () => {
    expect(ip('2001:DB8::1').key).toBe(ip('2001:0db8:0:0:0:0:0:1').key);
    expect(ip('10.0.0.1').key).not.toBe(ip('10.0.0.2').key);
  });

  test('keys of the two families never collide', () => {
    expect(ip('0.0.0.1').key).not.toBe(ip('::1').key);
    expect(ip('10.0.0.1').key.startsWith('4:')).toBe(true);
    expect(ip('::a00:1').key.startsWith('6:')).toBe(true);
  });

  test.each([
    ['', 'empty'],
    [' 10.20.1.10', 'leading space'],
    ['10.20.1.10 ', 'trailing space'],
    ['10.20.1.10\n', 'trailing newline'],
    ['10.20.1', 'three parts'],
    ['10.30', 'short form ipaddr.js would take'],
    ['167772161', 'single 32-bit number'],
    ['010.20.1.10', 'octal-looking leading zero'],
    ['10.020.1.10', 'leading zero in second part'],
    ['0x0a.20.1.10', 'hex part'],
    ['10.20.1.256', 'part above 255'],
    ['10.20.1.-1', 'negative part'],
    ['10.20.1.10.5', 'five parts'],
    ['fe80::1%eth0', 'zone id'],
    ['fe80::1%25eth0', 'url-encoded zone id'],
    ['::ffff:10.20.1.10', 'IPv4-mapped IPv6'],
    ['2001:db8::1::2', 'two ::'],
    ['1:2:3:4:5:6:7:8:9', 'nine groups'],
    ['2001:db8::g', 'bad hex'],
    ['10.20.1.10/32', 'a CIDR'],
    ['localhost', 'a name'],
    ['junk', 'junk'],
  ])('%j is rejected (%s)', (text) => {
    const parsed = parseIp(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(/IP/);
  });

  test.each([[undefined], [null], [42], [{}]])('non-string %p is rejected, not thrown', (value) => {
    expect(parseIp(value as unknown as string).ok).toBe(false);
  });
});

describe('canonicalIpText and sameIpAddress', () => {
  test.each([
    ['fd00:20:0:0:0:0:0:b', 'fd00:20::b'],
    ['FD00:20::B', 'fd00:20::b'],
    ['10.20.1.11', '10.20.1.11'],
    ['not an address', 'not an address'],
  ])('%s is spelled %s', (text, canonical) => {
    expect(canonicalIpText(text)).toBe(canonical);
  });

  test('the same address in two spellings is one address; two addresses are two', () => {
    expect(sameIpAddress('fd00:20::b', 'fd00:0020:0:0:0:0:0:000b')).toBe(true);
    expect(sameIpAddress('10.20.1.11', '10.20.1.12')).toBe(false);
    expect(sameIpAddress('fd00:20::b', 'fd00:20::c')).toBe(false);
  });
});

describe('sameCidr', () => {
  test.each<[string, string, boolean]>([
    ['2600:1f14:abc:100::/64', '2600:1F14:0ABC:0100:0:0:0:0/64', true],
    ['10.30.0.0/24', '10.30.0.0/24', true],
    ['10.30.0.0/24', '10.30.0.0/25', false],
    ['10.30.0.0/24', '10.30.1.0/24', false],
    ['pl-0123abcd', 'pl-0123abcd', true],
    ['pl-0123abcd', '10.30.0.0/24', false],
    ['10.30.0.5/24', '10.30.0.0/24', false],
  ])('%s and %s: %s', (a, b, same) => {
    expect(sameCidr(a, b)).toBe(same);
    expect(sameCidr(b, a)).toBe(same);
  });
});

describe('parseCidr', () => {
  test.each([
    ['10.30.0.0/24', '10.30.0.0/24', 'ipv4', 24],
    ['10.30.0.0/16', '10.30.0.0/16', 'ipv4', 16],
    ['0.0.0.0/0', '0.0.0.0/0', 'ipv4', 0],
    ['10.20.1.10/32', '10.20.1.10/32', 'ipv4', 32],
    ['fd00:30::/56', 'fd00:30::/56', 'ipv6', 56],
    ['FD00:30::/56', 'fd00:30::/56', 'ipv6', 56],
    ['2001:0DB8:0000:0000:0000:0000:0000:0000/32', '2001:db8::/32', 'ipv6', 32],
    ['fd00:30:0:1::/64', 'fd00:30:0:1::/64', 'ipv6', 64],
    ['::/0', '::/0', 'ipv6', 0],
    ['2001:db8::1/128', '2001:db8::1/128', 'ipv6', 128],
  ])('%s parses to %s (%s, /%d)', (text, canonical, family, prefix) => {
    const parsed = parseCidr(text);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
      expect(parsed.value).toMatchObject({ text: canonical, family, prefix });
      expect(parsed.value.first <= parsed.value.last).toBe(true);
    }
  });

  test.each([
    ['10.30.0.0/24', '4:0a1e0000', '4:0a1e00ff'],
    ['10.30.0.0/16', '4:0a1e0000', '4:0a1effff'],
    ['0.0.0.0/0', '4:00000000', '4:ffffffff'],
    ['fd00:30::/56', '6:fd000030000000000000000000000000', '6:fd000030000000ffffffffffffffffff'],
  ])('%s spans %s..%s', (text, first, last) => {
    expect(c(text)).toMatchObject({ first, last });
  });

  test.each([
    ['10.30.0.5/24', '10.30.0.0/24'],
    ['10.30.1.0/16', '10.30.0.0/16'],
    ['10.30.0.1/31', '10.30.0.0/31'],
    ['fd00:30::1/56', 'fd00:30::/56'],
    ['FD00:30:0:1::5/64', 'fd00:30:0:1::/64'],
  ])('%s has host bits set: refused with its network %s', (text, network) => {
    const parsed = parseCidr(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.reason).toMatch(/host bits/);
    expect(parsed.reason).toContain(network);
    expect(parsed.network?.text).toBe(network);
  });

  test.each([
    ['', 'empty'],
    ['10.30.0.0', 'no prefix'],
    ['10.30.0.0/', 'empty prefix'],
    ['/24', 'no address'],
    ['10.30.0.0/024', 'leading zero in prefix'],
    ['10.30.0.0/00', 'double zero prefix'],
    ['10.30.0.0/+8', 'signed prefix'],
    ['10.30.0.0/-1', 'negative prefix'],
    ['10.30.0.0/8.0', 'fractional prefix'],
    ['10.30.0.0/ 24', 'space in prefix'],
    ['10.30.0.0/24 ', 'trailing space'],
    [' 10.30.0.0/24', 'leading space'],
    ['10.30.0.0/33', 'IPv4 prefix above 32'],
    ['10.30.0.0/128', 'IPv6-sized prefix on IPv4'],
    ['fd00:30::/129', 'IPv6 prefix above 128'],
    ['fd00:30::/1000', 'huge prefix'],
    ['10.30.0.0/24/8', 'two slashes'],
    ['010.30.0.0/24', 'octal-looking address'],
    ['10.30/16', 'short IPv4'],
    ['10.30.0.256/24', 'octet above 255'],
    ['fe80::%eth0/64', 'zone id'],
    ['::ffff:10.30.0.0/120', 'IPv4-mapped'],
    ['not-a-cidr', 'junk'],
    ['10.30.0.0/abc', 'junk prefix'],
  ])('%j is rejected (%s) with no network', (text) => {
    const parsed = parseCidr(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.reason).toBeTruthy();
    expect(parsed.network).toBeUndefined();
  });

  test('mustParseCidr throws the reason', () => {
    expect(() => mustParseCidr('10.30.0.5/24')).toThrow(/host bits/);
    expect(() => mustParseCidr('junk')).toThrow(/not a CIDR/);
    expect(mustParseCidr('10.30.0.0/24').text).toBe('10.30.0.0/24');
  });

  test('non-string input is rejected, not thrown', () => {
    expect(parseCidr(undefined as unknown as string).ok).toBe(false);
    expect(parseCidr(24 as unknown as string).ok).toBe(false);
  });
});

describe('cidrContains', () => {
  test.each([
    ['10.30.0.0/16', '10.30.0.0/24', true],
    ['10.30.0.0/16', '10.30.255.0/24', true],
    ['10.30.0.0/16', '10.30.0.0/16', true],
    ['10.30.0.0/16', '10.31.0.0/24', false],
    ['10.30.0.0/16', '10.30.0.0/15', false],
    ['10.30.0.0/24', '10.30.0.0/16', false],
    ['10.30.0.0/24', '10.30.0.128/25', true],
    ['0.0.0.0/0', '255.255.255.255/32', true],
    ['fd00:30::/56', 'fd00:30:0:ff::/64', true],
    ['fd00:30::/56', 'fd00:30:0:100::/64', false],
    ['fd00:30::/56', 'fd00:30::/48', false],
    ['::/0', '10.30.0.0/24', false],
    ['0.0.0.0/0', '::/0', false],
    ['0.0.0.0/0', 'fd00:30::/56', false],
  ])('%s contains %s: %p', (outer, inner, expected) => {
    expect(cidrContains(c(outer), c(inner))).toBe(expected);
  });
});

describe('cidrsOverlap', () => {
  test.each([
    ['10.30.0.0/24', '10.30.0.0/24', true],
    ['10.30.0.0/23', '10.30.1.0/24', true],
    ['10.30.1.0/24', '10.30.0.0/23', true],
    ['10.30.0.0/24', '10.30.1.0/24', false],
    ['10.30.0.0/24', '10.30.0.255/32', true],
    ['10.30.0.0/24', '10.30.1.0/32', false],
    ['10.29.255.0/24', '10.30.0.0/24', false],
    ['0.0.0.0/0', '10.30.0.0/24', true],
    ['fd00:30::/64', 'fd00:30::/56', true],
    ['fd00:30::/64', 'fd00:30:0:1::/64', false],
    ['::/0', '0.0.0.0/0', false],
    ['::/96', '0.0.0.0/0', false],
    ['::a1e:0/120', '10.30.0.0/24', false],
  ])('%s overlaps %s: %p', (a, b, expected) => {
    expect(cidrsOverlap(c(a), c(b))).toBe(expected);
    expect(cidrsOverlap(c(b), c(a))).toBe(expected);
  });
});

describe('cidrContainsIp', () => {
  test.each([
    ['10.20.0.0/16', '10.20.1.10', true],
    ['10.20.0.0/16', '10.20.0.0', true],
    ['10.20.0.0/16', '10.20.255.255', true],
    ['10.20.0.0/16', '10.21.0.0', false],
    ['10.20.0.0/16', '10.19.255.255', false],
    ['10.20.1.10/32', '10.20.1.10', true],
    ['10.20.1.10/32', '10.20.1.11', false],
    ['fd00:20::/56', 'fd00:20::7', true],
    ['fd00:20::/56', 'FD00:0020:0000:00FF:FFFF:FFFF:FFFF:FFFF', true],
    ['fd00:20::/56', 'fd00:20:0:100::', false],
    ['0.0.0.0/0', '::1', false],
    ['::/0', '10.20.1.10', false],
  ])('%s contains %s: %p', (cidr, address, expected) => {
    expect(cidrContainsIp(c(cidr), ip(address))).toBe(expected);
  });
});

describe('compareCidrs', () => {
  test('orders IPv4 before IPv6, then by first address, then widest first', () => {
    const texts = ['fd00:30::/64', '10.30.1.0/24', '10.30.0.0/24', '10.30.0.0/16', 'fd00:30::/56', '10.30.0.0/23', '10.4.0.0/24'];
    const sorted = texts.map(c).sort(compareCidrs).map((cidr) => cidr.text);
    expect(sorted).toEqual(['10.4.0.0/24', '10.30.0.0/16', '10.30.0.0/23', '10.30.0.0/24', '10.30.1.0/24', 'fd00:30::/56', 'fd00:30::/64']);
  });
});

describe('CidrMap.findOverlapping', () => {
  function mapOf(entries: [string, string][]): CidrMap<string> {
    const map = new CidrMap<string>();
    for (const [cidr, value] of entries) map.set(c(cidr), value);
    return map;
  }

  const entries: [string, string][] = [
    ['10.30.0.0/24', 'node-a'],
    ['10.30.2.0/23', 'node-b'],
    ['10.30.8.0/22', 'node-c'],
    ['10.30.9.0/24', 'node-d'],
    ['fd00:30::/64', 'node-e'],
  ];

  test.each<[string, string | null, string | null, string]>([
    ['10.30.0.0/24', '10.30.0.0/24', 'node-a', 'exact'],
    ['10.30.0.0/23', '10.30.0.0/24', 'node-a', 'query wider than the entry'],
    ['10.30.0.128/25', '10.30.0.0/24', 'node-a', 'query narrower than the entry'],
    ['10.30.3.0/24', '10.30.2.0/23', 'node-b', 'inside a /23'],
    ['10.30.2.0/23', '10.30.2.0/23', 'node-b', 'exact /23'],
    ['10.30.9.0/24', '10.30.9.0/24', 'node-d', 'exact preferred over the wider overlap'],
    ['10.30.10.0/24', '10.30.8.0/22', 'node-c', 'only the wider entry overlaps'],
    ['10.30.1.0/24', null, null, 'gap between entries'],
    ['10.30.4.0/22', null, null, 'gap between /23 and /22'],
    ['10.30.12.0/24', null, null, 'after all entries'],
    ['10.29.0.0/24', null, null, 'before all entries'],
    ['fd00:30::/64', 'fd00:30::/64', 'node-e', 'IPv6 exact'],
    ['fd00:30::/48', 'fd00:30::/64', 'node-e', 'IPv6 wider'],
    ['fd00:30:0:1::/64', null, null, 'IPv6 neighbour'],
    ['::/0', 'fd00:30::/64', 'node-e', 'IPv6 default covers only IPv6 entries'],
    ['::a1e:0/120', null, null, 'IPv6 whose bits equal 10.30.0.0/24 never matches IPv4'],
  ])('%s → %s (%s; %s)', (query, expectedCidr, expectedValue) => {
    const found = mapOf(entries).findOverlapping(c(query));
    if (expectedCidr === null) {
      expect(found).toBeUndefined();
    } else {
      expect(found).toEqual({ cidr: expect.objectContaining({ text: expectedCidr }), value: expectedValue });
    }
  });

  test('a query wider than every entry finds one of them (any is right)', () => {
    const found = mapOf(entries).findOverlapping(c('10.30.0.0/16'));
    expect(found?.cidr.family).toBe('ipv4');
    expect(cidrsOverlap(found!.cidr, c('10.30.0.0/16'))).toBe(true);
  });

  test('an IPv4 default route never overlaps IPv6 entries', () => {
    const map = mapOf([['fd00:30::/64', 'v6']]);
    expect(map.findOverlapping(c('0.0.0.0/0'))).toBeUndefined();
  });

  test('an empty map finds nothing', () => {
    expect(new CidrMap<string>().findOverlapping(c('10.30.0.0/24'))).toBeUndefined();
  });

  test('exact match wins even when a wider entry was added first', () => {
    const map = mapOf([
      ['10.30.0.0/16', 'wide'],
      ['10.30.0.0/20', 'middle'],
      ['10.30.5.0/24', 'exact'],
    ]);
    expect(map.findOverlapping(c('10.30.5.0/24'))?.value).toBe('exact');
    expect(map.findOverlapping(c('10.30.6.0/24'))?.value).toMatch(/wide|middle/);
  });

  test('entries added after a lookup are found (re-sorted)', () => {
    const map = mapOf([['10.30.200.0/24', 'late-sorted']]);
    expect(map.findOverlapping(c('10.30.1.0/24'))).toBeUndefined();
    map.set(c('10.30.1.0/24'), 'added');
    expect(map.findOverlapping(c('10.30.1.0/24'))?.value).toBe('added');
    expect(map.findOverlapping(c('10.30.200.0/24'))?.value).toBe('late-sorted');
  });

  test('many entries, inserted out of order, each found exactly and neighbours by overlap', () => {
    const map = new CidrMap<number>();
    const order = Array.from({ length: 256 }, (_, i) => (i * 97) % 256); // a permutation of 0..255
    for (const i of order) if (i % 2 === 0) map.set(c(`10.30.${i}.0/24`), i);
    for (let i = 0; i < 256; i++) {
      const found = map.findOverlapping(c(`10.30.${i}.0/24`));
      if (i % 2 === 0) expect(found?.value).toBe(i);
      else expect(found).toBeUndefined();
    }
    // A /23 covers exactly one even /24.
    for (let i = 0; i < 256; i += 2) expect(map.findOverlapping(c(`10.30.${i}.0/23`))?.value).toBe(i);
    // A single address inside an odd /24 overlaps nothing; inside an even one, that entry.
    expect(map.findOverlapping(c('10.30.7.9/32'))).toBeUndefined();
    expect(map.findOverlapping(c('10.30.8.9/32'))?.value).toBe(8);
  });

  test('returned entries really overlap the query (mixed prefixes)', () => {
    const texts = ['10.30.0.0/24', '10.30.1.0/25', '10.30.1.128/26', '10.30.4.0/22', '10.30.16.0/20', 'fd00:30::/64', 'fd00:30:0:2::/63'];
    const map = new CidrMap<string>();
    for (const text of texts) map.set(c(text), text);
    const queries: Cidr[] = [];
    for (let i = 0; i < 40; i++) queries.push(c(`10.30.${i}.0/24`));
    for (let i = 0; i < 6; i++) queries.push(c(`fd00:30:0:${i}::/64`));
    for (const query of queries) {
      const found = map.findOverlapping(query);
      const expected = texts.map(c).filter((entry) => cidrsOverlap(entry, query));
      if (expected.length === 0) expect(found).toBeUndefined();
      else {
        expect(found).toBeDefined();
        expect(cidrsOverlap(found!.cidr, query)).toBe(true);
        if (expected.some((entry) => entry.text === query.text)) expect(found!.cidr.text).toBe(query.text);
      }
    }
  });
});

describe('parsed values are shared', () => {
  test('the same text gives the same frozen value (parsing is the bulk of a plan; warm runs reuse it)', () => {
    const first = parseCidr('10.30.77.0/24');
    const again = parseCidr('10.30.77.0/24');
    expect(again).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first.ok && Object.isFrozen(first.value)).toBe(true);
    expect(parseIp('10.20.7.7')).toBe(parseIp('10.20.7.7'));
    // A shared value cannot be changed by one caller under another's feet.
    expect(() => {
      if (first.ok) (first.value as { text: string }).text = '0.0.0.0/0';
    }).toThrow(TypeError);
    expect(parseCidr('10.30.77.0/24')).toMatchObject({ ok: true, value: { text: '10.30.77.0/24' } });
  });

  test('failures are shared too, and a different text is parsed on its own', () => {
    expect(parseCidr('10.30.77.1/24')).toBe(parseCidr('10.30.77.1/24'));
    expect(parseCidr('10.30.77.1/24')).toMatchObject({ ok: false, network: { text: '10.30.77.0/24' } });
    expect(parseCidr('10.30.78.0/24')).not.toBe(parseCidr('10.30.77.0/24'));
  });
});
