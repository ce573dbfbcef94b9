import { mustParseCidr, parseIp } from '../../../functions/core/cidr.js';
import { ConfigError, IncompleteReadError, ScopeConfigError } from '../../../functions/core/errors.js';
import { type Scope, type ScopeNarrowing, buildScope, inNodeScope, inPodScope } from '../../../functions/core/scope.js';
import type { RemoteNetworks } from '../../../functions/core/types.js';
import { DUAL_STACK_NETWORKS, REMOTE_NETWORKS } from '../../support/builders.js';

const texts = (scope: Scope) => ({
  nodeNetworks: scope.nodeNetworks.map((cidr) => cidr.text),
  podNetworks: scope.podNetworks.map((cidr) => cidr.text),
});

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('buildScope from the cluster', () => {
  test.each<[string, RemoteNetworks, ReturnType<typeof texts>]>([
    ['lab set-up', REMOTE_NETWORKS, { nodeNetworks: ['10.20.0.0/16'], podNetworks: ['10.30.0.0/16'] }],
    [
      'several networks each',
      { remoteNodeNetworks: ['10.20.0.0/16', '172.16.0.0/24'], remotePodNetworks: ['10.30.0.0/16', '10.31.0.0/16'] },
      { nodeNetworks: ['10.20.0.0/16', '172.16.0.0/24'], podNetworks: ['10.30.0.0/16', '10.31.0.0/16'] },
    ],
    ['dual stack', DUAL_STACK_NETWORKS, { nodeNetworks: ['10.20.0.0/16', 'fd00:20::/56'], podNetworks: ['10.30.0.0/16', 'fd00:30::/56'] }],
    [
      'IPv6 written in capitals and expanded',
      { remoteNodeNetworks: ['FD00:0020:0000:0000::/56'], remotePodNetworks: ['FD00:30::/56'] },
      { nodeNetworks: ['fd00:20::/56'], podNetworks: ['fd00:30::/56'] },
    ],
  ])('%s', (_name, remote, expected) => {
    expect(texts(buildScope(remote))).toEqual(expected);
  });

  test.each<[string, RemoteNetworks, RegExp]>([
    ['no node networks', { remoteNodeNetworks: [], remotePodNetworks: ['10.30.0.0/16'] }, /remoteNodeNetworks/],
    ['no pod networks', { remoteNodeNetworks: ['10.20.0.0/16'], remotePodNetworks: [] }, /remotePodNetworks/],
    ['nothing at all', { remoteNodeNetworks: [], remotePodNetworks: [] }, /not configured/],
    ['bad node network', { remoteNodeNetworks: ['10.20.0.0/16', 'junk'], remotePodNetworks: ['10.30.0.0/16'] }, /remoteNodeNetworks\[1\]/],
    ['pod network with host bits', { remoteNodeNetworks: ['10.20.0.0/16'], remotePodNetworks: ['10.30.0.1/16'] }, /remotePodNetworks\[0\].*host bits/],
    ['pod network /33', { remoteNodeNetworks: ['10.20.0.0/16'], remotePodNetworks: ['10.30.0.0/33'] }, /remotePodNetworks\[0\]/],
  ])('%s → IncompleteReadError (cluster) naming it', (_name, remote, message) => {
    const error = thrown(() => buildScope(remote));
    expect(error).toBeInstanceOf(IncompleteReadError);
    expect((error as IncompleteReadError).source).toBe('cluster');
    expect((error as Error).message).toMatch(message);
  });
});

describe('buildScope narrowed by configuration', () => {
  const cluster: RemoteNetworks = {
    remoteNodeNetworks: ['10.20.0.0/16', 'fd00:20::/56'],
    remotePodNetworks: ['10.30.0.0/16', '10.31.0.0/16', 'fd00:30::/56'],
  };

  test.each<[string, ScopeNarrowing, ReturnType<typeof texts>]>([
    ['no narrowing', {}, { nodeNetworks: ['10.20.0.0/16', 'fd00:20::/56'], podNetworks: ['10.30.0.0/16', '10.31.0.0/16', 'fd00:30::/56'] }],
    ['empty lists are no narrowing', { podNetworks: [], nodeNetworks: [] }, texts(buildScope(cluster))],
    ['pods narrowed to a /17', { podNetworks: ['10.30.0.0/17'] }, { nodeNetworks: ['10.20.0.0/16', 'fd00:20::/56'], podNetworks: ['10.30.0.0/17'] }],
    ['pods narrowed to one whole network', { podNetworks: ['10.31.0.0/16'] }, { nodeNetworks: ['10.20.0.0/16', 'fd00:20::/56'], podNetworks: ['10.31.0.0/16'] }],
    [
      'pods narrowed within two networks',
      { podNetworks: ['10.30.4.0/22', '10.31.0.0/24'] },
      { nodeNetworks: ['10.20.0.0/16', 'fd00:20::/56'], podNetworks: ['10.30.4.0/22', '10.31.0.0/24'] },
    ],
    ['nodes narrowed', { nodeNetworks: ['10.20.1.0/24'] }, { nodeNetworks: ['10.20.1.0/24'], podNetworks: ['10.30.0.0/16', '10.31.0.0/16', 'fd00:30::/56'] }],
    ['IPv6 narrowed', { podNetworks: ['FD00:30:0:10::/60'] }, { nodeNetworks: ['10.20.0.0/16', 'fd00:20::/56'], podNetworks: ['fd00:30:0:10::/60'] }],
    ['both narrowed', { podNetworks: ['10.30.0.0/24'], nodeNetworks: ['10.20.1.10/32'] }, { nodeNetworks: ['10.20.1.10/32'], podNetworks: ['10.30.0.0/24'] }],
  ])('%s', (_name, narrowing, expected) => {
    expect(texts(buildScope(cluster, narrowing))).toEqual(expected);
  });

  test.each<[string, ScopeNarrowing, string]>([
    ['pods outside', { podNetworks: ['10.40.0.0/16'] }, 'podNetworks[0]'],
    ['pods partially outside (wider)', { podNetworks: ['10.30.0.0/24', '10.30.0.0/15'] }, 'podNetworks[1]'],
    ['pods partially outside (IPv4 /8)', { podNetworks: ['10.0.0.0/8'] }, 'podNetworks[0]'],
    ['pods the whole IPv4 space', { podNetworks: ['0.0.0.0/0'] }, 'podNetworks[0]'],
    ['pods in the node network', { podNetworks: ['10.20.0.0/24'] }, 'podNetworks[0]'],
    ['nodes outside', { nodeNetworks: ['10.20.0.0/24', '192.168.0.0/24'] }, 'nodeNetworks[1]'],
    ['nodes wider', { nodeNetworks: ['10.20.0.0/15'] }, 'nodeNetworks[0]'],
    ['IPv6 pods outside', { podNetworks: ['fd00:31::/64'] }, 'podNetworks[0]'],
    ['IPv6 pods wider', { podNetworks: ['fd00:30::/48'] }, 'podNetworks[0]'],
    ['not a CIDR', { podNetworks: ['10.30.0.0/24', 'junk'] }, 'podNetworks[1]'],
    ['host bits', { nodeNetworks: ['10.20.1.1/24'] }, 'nodeNetworks[0]'],
  ])('%s → ConfigError naming %s', (_name, narrowing, field) => {
    const error = thrown(() => buildScope(cluster, narrowing));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(field);
    expect((error as Error).message.startsWith(`${field}: `)).toBe(true);
  });

  test('the error names each list as the user set it, and is a ScopeConfigError (the configuration, not a request)', () => {
    const labels = { podNetworks: 'POD_NETWORKS', nodeNetworks: '--node-networks' };
    const pods = thrown(() => buildScope(cluster, { podNetworks: ['10.30.0.0/24', '10.40.0.0/16'], labels }));
    const nodes = thrown(() => buildScope(cluster, { nodeNetworks: ['10.20.1.1/24'], labels }));
    expect(pods).toBeInstanceOf(ScopeConfigError);
    expect((pods as ConfigError).field).toBe('POD_NETWORKS[1]');
    expect((nodes as ConfigError).field).toBe('--node-networks[0]');
    expect((nodes as Error).message.startsWith('--node-networks[0]: ')).toBe(true);
  });

  test('a widening error says that configuration may only narrow, and lists the cluster networks', () => {
    const error = thrown(() => buildScope(cluster, { podNetworks: ['10.40.0.0/16'] })) as ConfigError;
    expect(error.message).toMatch(/never widen/);
    expect(error.message).toContain('10.30.0.0/16, 10.31.0.0/16, fd00:30::/56');
  });

  test('a missing cluster network is an incomplete read even when narrowing is given', () => {
    expect(() => buildScope({ remoteNodeNetworks: ['10.20.0.0/16'], remotePodNetworks: [] }, { podNetworks: ['10.30.0.0/24'] })).toThrow(
      IncompleteReadError,
    );
  });
});

describe('inPodScope / inNodeScope', () => {
  const scope = buildScope(DUAL_STACK_NETWORKS);

  test.each([
    ['10.30.0.0/24', true],
    ['10.30.255.0/24', true],
    ['10.30.0.0/16', true],
    ['10.30.0.0/15', false],
    ['10.31.0.0/24', false],
    ['10.20.1.0/24', false],
    ['100.64.0.0/10', false],
    ['fd00:30:0:1::/64', true],
    ['fd00:30::/56', true],
    ['fd00:30::/55', false],
    ['fd00:20::/64', false],
  ])('pod scope holds %s: %p', (cidr, expected) => {
    expect(inPodScope(scope, mustParseCidr(cidr))).toBe(expected);
  });

  test.each([
    ['10.20.1.10', true],
    ['10.20.255.255', true],
    ['10.21.0.1', false],
    ['10.30.0.148', false],
    ['fd00:20::7', true],
    ['fd00:20:0:100::1', false],
  ])('node scope holds %s: %p', (address, expected) => {
    const parsed = parseIp(address);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(inNodeScope(scope, parsed.value)).toBe(expected);
  });

  test('narrowed scope answers for the narrowed networks only', () => {
    const narrowed = buildScope(REMOTE_NETWORKS, { podNetworks: ['10.30.0.0/17'] });
    expect(inPodScope(narrowed, mustParseCidr('10.30.1.0/24'))).toBe(true);
    expect(inPodScope(narrowed, mustParseCidr('10.30.128.0/24'))).toBe(false);
  });
});
