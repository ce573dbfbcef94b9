import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  buildKubeConfig,
  createCiliumNodePortFactory,
  createCiliumNodeReader,
  KubernetesApiError,
} from '../../../functions/adapters/kubernetes.js';
import { EksTokenProvider, TOKEN_PREFIX } from '../../../functions/adapters/token.js';
import type { BearerToken, TokenPort } from '../../../functions/core/ports.js';
import type { ClusterInfo } from '../../../functions/core/types.js';
import { makeCa, serverCertFor } from '../../localcloud/certs.js';

const TOKEN = 'k8s-aws-v1.dGVzdC10b2tlbi1ub3QtYS1yZWFsLW9uZQ';
const LIST_PATH = '/apis/cilium.io/v2/ciliumnodes';

// ---- an API server on 127.0.0.1 with its own CA, and an impostor whose certificate another CA signed ----

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
interface Seen {
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
}
let handler: Handler;
let seen: Seen[];
let trusted: { server: Server; url: string };
let impostor: { server: Server; url: string };
let caData: string;

async function listen(key: string, cert: string) {
  const server = createServer({ key, cert }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    seen.push({ path: url.pathname, query: url.searchParams, authorization: req.headers.authorization });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function close(server: Server) {
  server.closeAllConnections(); // the client keeps connections alive
  await new Promise((resolve) => server.close(resolve));
}

beforeAll(async () => {
  const [ca, otherCa] = await Promise.all([makeCa('cluster-ca'), makeCa('some-other-ca')]);
  const [cert, otherCert] = await Promise.all([serverCertFor(ca), serverCertFor(otherCa)]);
  caData = Buffer.from(ca.cert).toString('base64'); // EKS returns the CA bundle base64-encoded
  trusted = await listen(cert.private, cert.cert);
  impostor = await listen(otherCert.private, otherCert.cert);
});
afterAll(async () => {
  await Promise.all([close(trusted.server), close(impostor.server)]);
});
beforeEach(() => {
  seen = [];
  handler = (_req, res) => json(res, 500, status(500, 'no handler'));
});

const cluster = (endpoint = trusted.url): ClusterInfo => ({
  name: 'hybrid-lab',
  endpoint,
  certificateAuthorityData: caData,
  remoteNetworks: { remoteNodeNetworks: ['10.20.0.0/16'], remotePodNetworks: ['10.30.0.0/16'] },
});

function json(res: ServerResponse, code: number, body: unknown) {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
const status = (code: number, message: string, reason = 'Failure') => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

/** Serves `pages` in order; page i+1 is reached with `continue=page-<i+1>`. `override` answers a page differently. */
function pages(list: unknown[][], override: Record<number, (res: ServerResponse) => void> = {}): Handler {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    if (url.pathname !== LIST_PATH) return json(res, 404, status(404, 'not found', 'NotFound'));
    const cont = url.searchParams.get('continue');
    const index = cont ? Number(cont.replace('page-', '')) : 0;
    const reply = override[index];
    if (reply) return reply(res);
    const more = index + 1 < list.length;
    json(res, 200, {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNodeList',
      metadata: { resourceVersion: '4711', ...(more ? { continue: `page-${index + 1}` } : {}) },
      items: list[index],
    });
  };
}

// ---- fixtures: shaped like real CiliumNodes ----

const ciliumNode = (name: string, spec: unknown) => ({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNode',
  metadata: {
    name,
    labels: { 'eks.amazonaws.com/compute-type': 'hybrid', 'kubernetes.io/hostname': name },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: '3f0c2f4e-0000-4000-8000-000000000001' }],
  },
  spec,
});
const DUAL_STACK = ciliumNode('mi-026d6a261e355fba7', {
  addresses: [
    { ip: '10.20.1.10', type: 'InternalIP' },
    { ip: 'fd00:20::10', type: 'InternalIP' },
    { ip: '10.30.0.148', type: 'CiliumInternalIP' },
  ],
  health: { ipv4: '10.30.0.8' },
  ipam: { podCIDRs: ['10.30.0.0/24', 'fd00:30::/120'] },
});
const MULTI_POOL = ciliumNode('mi-0a1b2c3d4e5f60718', {
  addresses: [{ ip: '10.20.1.11', type: 'InternalIP' }, { type: 'ExternalIP' }],
  ipam: {
    pools: {
      allocated: [
        { pool: 'default', cidrs: ['10.31.0.0/27', '10.31.0.32/27'] },
        { pool: 'v6', cidrs: ['fd00:31::/120'] },
        { pool: 'empty' },
      ],
    },
  },
});
const PENDING = ciliumNode('mi-0fedcba9876543210', { addresses: [{ ip: '10.20.1.12', type: 'InternalIP' }] });

const EXPECTED = [
  {
    name: 'mi-026d6a261e355fba7',
    addresses: [
      { type: 'InternalIP', ip: '10.20.1.10' },
      { type: 'InternalIP', ip: 'fd00:20::10' },
      { type: 'CiliumInternalIP', ip: '10.30.0.148' },
    ],
    podCIDRs: ['10.30.0.0/24', 'fd00:30::/120'],
    poolCIDRs: [],
  },
  {
    name: 'mi-0a1b2c3d4e5f60718',
    addresses: [{ type: 'InternalIP', ip: '10.20.1.11' }], // the entry without an ip says nothing
    podCIDRs: [],
    poolCIDRs: [
      { pool: 'default', cidrs: ['10.31.0.0/27', '10.31.0.32/27'] },
      { pool: 'v6', cidrs: ['fd00:31::/120'] },
      { pool: 'empty', cidrs: [] },
    ],
  },
  { name: 'mi-0fedcba9876543210', addresses: [{ type: 'InternalIP', ip: '10.20.1.12' }], podCIDRs: [], poolCIDRs: [] },
];

const reader = (endpoint?: string, token = TOKEN) => createCiliumNodeReader({ cluster: cluster(endpoint), token, pageSize: 2 });

// ---- tests ----

describe('listCiliumNodes', () => {
  test('follows continue tokens, merges the pages and translates IPv4, IPv6 and multi-pool CIDRs', async () => {
    handler = pages([[DUAL_STACK, MULTI_POOL], [PENDING]]);
    await expect(reader().listCiliumNodes()).resolves.toEqual(EXPECTED);
    expect(seen.map((s) => [s.path, s.query.get('limit'), s.query.get('continue')])).toEqual([
      [LIST_PATH, '2', null],
      [LIST_PATH, '2', 'page-1'],
    ]);
  });

  test('sends the token as a bearer token', async () => {
    handler = pages([[DUAL_STACK]]);
    await reader().listCiliumNodes();
    expect(seen.map((s) => s.authorization)).toEqual([`Bearer ${TOKEN}`]);
  });

  test('an empty list is an empty list', async () => {
    handler = pages([[]]);
    await expect(reader().listCiliumNodes()).resolves.toEqual([]);
  });

  test('a failed second page rejects the whole listing', async () => {
    handler = pages([[DUAL_STACK, MULTI_POOL], [PENDING]], { 1: (res) => json(res, 500, status(500, 'etcdserver: request timed out')) });
    const err = await reader().listCiliumNodes().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect((err as KubernetesApiError).message).toBe(
      'list ciliumnodes failed: HTTP 500 Internal Server Error: etcdserver: request timed out',
    );
    expect((err as KubernetesApiError).statusCode).toBe(500);
    expect(seen).toHaveLength(2);
  });

  test.each([
    [401, 'Unauthorized', 'list ciliumnodes failed: HTTP 401 Unauthorized'],
    [
      403,
      'ciliumnodes.cilium.io is forbidden: User "arn:aws:sts::111122223333:assumed-role/reader/eks-hybrid-routes" cannot list resource "ciliumnodes"',
      'list ciliumnodes failed: HTTP 403 Forbidden: ciliumnodes.cilium.io is forbidden: User',
    ],
  ])('HTTP %i rejects with the status in the message and on the error', async (code, message, expected) => {
    handler = (_req, res) => json(res, code, status(code, message));
    const err = (await reader().listCiliumNodes().catch((e: unknown) => e)) as KubernetesApiError;
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err.message.startsWith(expected)).toBe(true);
    expect(err.statusCode).toBe(code);
  });

  test('a token echoed by the server is redacted from the error', async () => {
    handler = (_req, res) => json(res, 500, status(500, `bad token ${TOKEN}`));
    const err = (await reader().listCiliumNodes().catch((e: unknown) => e)) as Error;
    expect(err.message).toBe('list ciliumnodes failed: HTTP 500 Internal Server Error: bad token [redacted]');
  });

  test('a server whose certificate the cluster CA did not sign is refused', async () => {
    handler = pages([[DUAL_STACK]]);
    const err = (await reader(impostor.url).listCiliumNodes().catch((e: unknown) => e)) as KubernetesApiError;
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err.statusCode).toBeUndefined();
    expect(err.code).toMatch(/CERT|SIGNATURE|ISSUER/);
    expect(err.message).toMatch(/^list ciliumnodes failed: fetch failed \(/);
    expect(seen).toHaveLength(0); // no request ever reached the impostor
    await expect(reader().listCiliumNodes()).resolves.toHaveLength(1); // the genuine server is fine
  });

  test('TLS verification is pinned on, so NODE_TLS_REJECT_UNAUTHORIZED=0 cannot switch it off', () => {
    // (Jest gives tests a copy of process.env that node:tls never reads, so the variable itself cannot be tried here.)
    const kc = buildKubeConfig(cluster(), TOKEN);
    expect(kc.getCurrentCluster()).toMatchObject({ server: trusted.url, caData, skipTLSVerify: false });
    expect(kc.getCurrentUser()).toMatchObject({ token: TOKEN });
    expect(kc.createDispatcherOptions(kc.getCurrentCluster(), {})).toMatchObject({
      type: 'agent',
      connect: { rejectUnauthorized: true },
    });
  });

  test.each<[string, unknown[][], RegExp]>([
    ['no metadata.name', [[DUAL_STACK, { ...PENDING, metadata: {} }]], /items\[1\]: metadata\.name: /],
    ['empty metadata.name', [[{ ...PENDING, metadata: { name: '' } }]], /items\[0\]: metadata\.name: /],
    ['an item that is not an object', [['mi-1']], /items\[0\]: \(object\): /],
    ['podCIDRs not an array', [[ciliumNode('n1', { ipam: { podCIDRs: '10.30.0.0/24' } })]], /items\[0\] \("n1"\): spec\.ipam\.podCIDRs: /],
    ['a podCIDR that is not a string', [[ciliumNode('n1', { ipam: { podCIDRs: ['10.30.0.0/24', 7] } })]], /spec\.ipam\.podCIDRs\[1\]: /],
    ['an address ip that is not a string', [[ciliumNode('n1', { addresses: [{ type: 'InternalIP', ip: 10 }] })]], /spec\.addresses\[0\]\.ip: /],
    ['pool cidrs not an array', [[ciliumNode('n1', { ipam: { pools: { allocated: [{ pool: 'p', cidrs: {} }] } } })]], /spec\.ipam\.pools\.allocated\[0\]\.cidrs: /],
    ['a pool without a name', [[ciliumNode('n1', { ipam: { pools: { allocated: [{ cidrs: [] }] } } })]], /spec\.ipam\.pools\.allocated\[0\]\.pool: /],
    ['a bad item on the second page (index counts across pages)', [[DUAL_STACK, MULTI_POOL], [{ metadata: { name: 3 } }]], /items\[2\]: metadata\.name: /],
  ])('a malformed item aborts the listing: %s', async (_name, list, message) => {
    handler = pages(list);
    await expect(reader().listCiliumNodes()).rejects.toThrow(message);
  });

  test('a response without an items array aborts the listing', async () => {
    handler = (_req, res) => json(res, 200, { kind: 'CiliumNodeList', metadata: {} });
    await expect(reader().listCiliumNodes()).rejects.toThrow(/malformed response: items: /);
  });

  test('a server that repeats a continue token cannot loop the reader', async () => {
    handler = (_req, res) => json(res, 200, { metadata: { continue: 'same' }, items: [] });
    await expect(reader().listCiliumNodes()).rejects.toThrow('repeated a continue token');
    expect(seen).toHaveLength(2);
  });
});

describe('createCiliumNodePortFactory', () => {
  test('asks for a token each time and reuses the reader while the token is unchanged', async () => {
    handler = pages([[DUAL_STACK]]);
    let current: BearerToken = { token: 'k8s-aws-v1.first', expiresAt: new Date(Date.now() + 600_000) };
    const getToken = jest.fn(async (_cluster: string) => current);
    const tokens: TokenPort = { getToken };
    const factory = createCiliumNodePortFactory(tokens);
    const first = await factory(cluster());
    expect(await factory(cluster())).toBe(first);
    await first.listCiliumNodes();
    current = { token: 'k8s-aws-v1.second', expiresAt: new Date(Date.now() + 600_000) };
    const second = await factory(cluster());
    expect(second).not.toBe(first);
    await second.listCiliumNodes();
    expect(getToken).toHaveBeenCalledTimes(3);
    expect(getToken).toHaveBeenCalledWith('hybrid-lab');
    expect(seen.map((s) => [s.authorization, s.query.get('limit')])).toEqual([
      ['Bearer k8s-aws-v1.first', '500'], // default page size
      ['Bearer k8s-aws-v1.second', '500'],
    ]);
  });
});

describe('secrets stay out of logs and errors', () => {
  const sts = mockClient(STSClient);
  afterAll(() => sts.restore());

  test('making a token and a failing Kubernetes call print neither the token nor the secret key', async () => {
    const secretAccessKey = 'leakCheck/Secret+Key/EXAMPLE0123456789ab';
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIALEAKCHECKEXAMPL1',
        SecretAccessKey: secretAccessKey,
        SessionToken: 'leak-check-session-token',
        Expiration: new Date(Date.now() + 3_600_000),
      },
    });
    const output: string[] = [];
    const capture = (chunk: unknown) => {
      output.push(String(chunk));
      return true;
    };
    const spies = [
      jest.spyOn(process.stdout, 'write').mockImplementation(capture),
      jest.spyOn(process.stderr, 'write').mockImplementation(capture),
      ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
        jest.spyOn(console, m).mockImplementation((...args: unknown[]) => void output.push(args.map((a) => inspect(a)).join(' '))),
      ),
    ];
    let token: string;
    let err: unknown;
    try {
      const tokens = new EksTokenProvider({
        region: 'us-west-2',
        sts: new STSClient({ region: 'us-west-2', credentials: { accessKeyId: 'AKIDBASE', secretAccessKey: 'base-secret' } }),
        readerRoleArn: 'arn:aws:iam::111122223333:role/reader',
      });
      const bearer = await tokens.getToken('hybrid-lab');
      token = bearer.token;
      output.push(JSON.stringify(bearer), inspect(bearer), `${String(bearer)}`);
      handler = (_req, res) => json(res, 403, status(403, 'ciliumnodes.cilium.io is forbidden'));
      const nodes = await createCiliumNodePortFactory(tokens)(cluster());
      err = await nodes.listCiliumNodes().catch((e: unknown) => e);
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(seen.map((s) => s.authorization)).toEqual([`Bearer ${token}`]); // the token was really used
    const e = err as KubernetesApiError;
    const everything = [...output, e.message, e.stack ?? '', JSON.stringify(e), inspect(e, { depth: 10, showHidden: true })].join('\n');
    expect(everything).toContain('HTTP 403 Forbidden: ciliumnodes.cilium.io is forbidden');
    expect(everything).not.toContain(token.slice(TOKEN_PREFIX.length));
    expect(everything).not.toContain(secretAccessKey);
    expect(everything).not.toContain('leak-check-session-token');
  });
});
