import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { inspect } from 'node:util';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  apiServerAgentOptions,
  createCiliumNodePortFactory,
  createCiliumNodeReader,
  KubernetesApiError,
} from '../../../functions/adapters/kubernetes.js';
import { buildKubeConfig, createClusterNodesClient, createClusterNodesPortFactory } from '../../../functions/adapters/kubernetes-teardown.js';
import { EksTokenProvider, TOKEN_PREFIX } from '../../../functions/adapters/token.js';
import type { BearerToken, TokenPort } from '../../../functions/core/ports.js';
import type { ClusterInfo } from '../../../functions/core/types.js';
import { makeCa, serverCertFor } from '../../localcloud/certs.js';

const TOKEN = 'k8s-aws-v1.dGVzdC10b2tlbi1ub3QtYS1yZWFsLW9uZQ';
const LIST_PATH = '/apis/cilium.io/v2/ciliumnodes';

// ---- an API server on 127.0.0.1 with its own CA, and an impostor whose certificate another CA signed ----

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
interface Seen {
  method: string | undefined;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}
let handler: Handler;
let seen: Seen[];
let trusted: { server: Server; url: string };
let impostor: { server: Server; url: string };
let caData: string;

// Every socket either server accepted, so that each test ends with all of them cut (see afterEach).
const sockets = new Set<Socket>();

async function listen(key: string, cert: string) {
  const server = createServer({ key, cert }, (req, res) => {
    // The log of the test this request arrived in: a request still being read when that test ends
    // (a call the client gave up on) must not show up in the next test's log.
    const log = seen;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      log.push({
        method: req.method,
        path: url.pathname,
        query: url.searchParams,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      });
      handler(req, res);
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
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
afterEach(() => {
  // A call that timed out client-side may have left its bytes unread on a kept-alive connection; cutting every
  // connection drops them, so nothing from this test is read while the next one runs.
  for (const socket of sockets) socket.destroy();
  sockets.clear();
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
    addresses: [{ type: 'InternalIP', ip: '10.20.1.11' }, { type: 'ExternalIP', ip: '' }], // an omitted ip reads as '': the entry keeps its index
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
    expect(err.message).toBe(`list ciliumnodes failed: unable to verify the first certificate (${err.code})`);
    expect(seen).toHaveLength(0); // no request ever reached the impostor
    await expect(reader().listCiliumNodes()).resolves.toHaveLength(1); // the genuine server is fine
  });

  test('TLS verification is pinned on and only the cluster CA is trusted, so NODE_TLS_REJECT_UNAUTHORIZED=0 cannot switch it off', () => {
    // (Jest gives tests a copy of process.env that node:tls never reads, so the variable itself cannot be tried here.)
    expect(apiServerAgentOptions(cluster())).toEqual({
      ca: Buffer.from(caData, 'base64').toString('utf8'),
      rejectUnauthorized: true,
      keepAlive: true,
      timeout: 15_000,
      maxSockets: 16,
    });
  });

  test('an endpoint that is not https is refused before anything is sent', () => {
    const plain = trusted.url.replace('https:', 'http:');
    expect(() => reader(plain)).toThrow(new KubernetesApiError('cluster hybrid-lab: endpoint must be https://, got http://'));
    expect(() => reader('not a url')).toThrow(new KubernetesApiError('cluster hybrid-lab: endpoint is not a URL'));
    expect(seen).toEqual([]);
  });

  test('the pages of a listing share one kept-alive connection', async () => {
    handler = pages([[DUAL_STACK], [MULTI_POOL], [PENDING]]);
    let handshakes = 0;
    const count = () => (handshakes += 1);
    trusted.server.on('secureConnection', count);
    try {
      await expect(createCiliumNodeReader({ cluster: cluster(), token: TOKEN, pageSize: 1 }).listCiliumNodes()).resolves.toHaveLength(3);
    } finally {
      trusted.server.off('secureConnection', count);
    }
    expect(seen).toHaveLength(3);
    expect(handshakes).toBe(1);
  });

  test.each<[string, Handler]>([
    ['never answers', () => undefined],
    [
      'sends its headers and then stalls in the body',
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"items":[');
      },
    ],
  ])('the per-request deadline ends a call to a server that %s: a TimeoutError, without the token', async (_name, stalls) => {
    handler = stalls;
    const err = (await createCiliumNodeReader({ cluster: cluster(), token: TOKEN, requestTimeoutMs: 300 })
      .listCiliumNodes()
      .catch((e: unknown) => e)) as KubernetesApiError;
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err.code).toBe('TimeoutError');
    expect(err.statusCode).toBeUndefined();
    expect(err.message).toMatch(/^list ciliumnodes failed: .*timeout.* \(TimeoutError\)$/);
    expect(inspect(err, { depth: 10, showHidden: true })).not.toContain(TOKEN);
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

// ---- teardown: Nodes, Pods, evictions and CiliumNode deletion ----

const NODES_PATH = '/api/v1/nodes';
const PODS_PATH = '/api/v1/pods';

/** Answers `METHOD /path` from `routes`; anything else is a 500 naming the unexpected request. */
function api(routes: Record<string, (res: ServerResponse, url: URL) => void>): Handler {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const route = routes[`${req.method} ${url.pathname}`];
    if (!route) return json(res, 500, status(500, `unexpected ${req.method} ${url.pathname}`));
    route(res, url);
  };
}

/** A list endpoint serving `list` page by page (`continue=page-<i>`), like `pages` above. */
function listPages(kind: string, list: unknown[][]) {
  return (res: ServerResponse, url: URL) => {
    const cont = url.searchParams.get('continue');
    const index = cont ? Number(cont.replace('page-', '')) : 0;
    const more = index + 1 < list.length;
    json(res, 200, { apiVersion: 'v1', kind, metadata: { resourceVersion: '4711', ...(more ? { continue: `page-${index + 1}` } : {}) }, items: list[index] });
  };
}

const kubeNode = (name: string, { unschedulable, addresses }: { unschedulable?: boolean; addresses?: { type: string; address: string }[] } = {}) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name,
    uid: '5b1d3c6e-0000-4000-8000-000000000001',
    labels: { 'eks.amazonaws.com/compute-type': 'hybrid', 'kubernetes.io/hostname': name },
    creationTimestamp: '2025-01-01T00:00:00Z',
  },
  spec: {
    providerID: `eks-hybrid:///us-west-2/hybrid-lab/${name}`,
    ...(unschedulable === undefined ? {} : { unschedulable }),
    podCIDR: '10.30.0.0/24',
  },
  status: {
    addresses: addresses ?? [
      { type: 'InternalIP', address: '10.20.1.10' },
      { type: 'Hostname', address: name },
      { type: 'InternalIP', address: 'fd00:20::10' },
    ],
    conditions: [{ type: 'Ready', status: 'True' }],
  },
});

const pod = (namespace: string, name: string, metadata: Record<string, unknown> = {}, phase: string | null = 'Running') => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace, name, uid: `uid-${name}`, ...metadata },
  spec: { nodeName: 'mi-026d6a261e355fba7', containers: [{ name: 'c', image: 'public.ecr.aws/docker/library/busybox:latest' }] },
  status: phase ? { phase } : {},
});

const nodes = (options: { token?: string; pageSize?: number; requestTimeoutMs?: number } = {}) =>
  createClusterNodesClient({ cluster: cluster(), token: options.token ?? TOKEN, pageSize: options.pageSize ?? 2, ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}) });

describe('ClusterNodesPort.listNodes', () => {
  test('follows continue tokens with the label selector and translates labels, providerID, unschedulable and InternalIPs', async () => {
    handler = api({
      [`GET ${NODES_PATH}`]: listPages('NodeList', [
        [kubeNode('mi-026d6a261e355fba7'), kubeNode('mi-0a1b2c3d4e5f60718', { unschedulable: true, addresses: [{ type: 'InternalIP', address: '10.20.1.11' }] })],
        [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'bare' } }],
      ]),
    });

    const records = await nodes().listNodes('eks.amazonaws.com/compute-type=hybrid');

    expect(records).toEqual([
      {
        name: 'mi-026d6a261e355fba7',
        providerID: 'eks-hybrid:///us-west-2/hybrid-lab/mi-026d6a261e355fba7',
        labels: { 'eks.amazonaws.com/compute-type': 'hybrid', 'kubernetes.io/hostname': 'mi-026d6a261e355fba7' },
        unschedulable: false,
        internalIPs: ['10.20.1.10', 'fd00:20::10'],
      },
      {
        name: 'mi-0a1b2c3d4e5f60718',
        providerID: 'eks-hybrid:///us-west-2/hybrid-lab/mi-0a1b2c3d4e5f60718',
        labels: { 'eks.amazonaws.com/compute-type': 'hybrid', 'kubernetes.io/hostname': 'mi-0a1b2c3d4e5f60718' },
        unschedulable: true,
        internalIPs: ['10.20.1.11'],
      },
      { name: 'bare', labels: {}, unschedulable: false, internalIPs: [] },
    ]);
    expect(records[2]!.providerID).toBeUndefined();
    expect(seen.map((r) => [r.method, r.path, r.query.get('labelSelector'), r.query.get('limit'), r.query.get('continue'), r.authorization])).toEqual([
      ['GET', NODES_PATH, 'eks.amazonaws.com/compute-type=hybrid', '2', null, `Bearer ${TOKEN}`],
      ['GET', NODES_PATH, 'eks.amazonaws.com/compute-type=hybrid', '2', 'page-1', `Bearer ${TOKEN}`],
    ]);
  });

  test('without a selector no labelSelector is sent', async () => {
    handler = api({ [`GET ${NODES_PATH}`]: listPages('NodeList', [[kubeNode('n1')]]) });

    await expect(nodes().listNodes()).resolves.toHaveLength(1);
    expect(seen[0]!.query.has('labelSelector')).toBe(false);
  });

  test('a failed second page rejects the whole listing', async () => {
    handler = api({
      [`GET ${NODES_PATH}`]: (res, url) =>
        url.searchParams.get('continue')
          ? json(res, 500, status(500, 'etcdserver: request timed out'))
          : listPages('NodeList', [[kubeNode('n1'), kubeNode('n2')], [kubeNode('n3')]])(res, url),
    });

    const err = (await nodes().listNodes().catch((e: unknown) => e)) as KubernetesApiError;
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err.message).toBe('list nodes failed: HTTP 500 Internal Server Error: etcdserver: request timed out');
    expect(err.statusCode).toBe(500);
    expect(seen).toHaveLength(2);
  });

  test('a Node without a name aborts the listing (index counts across pages)', async () => {
    handler = api({ [`GET ${NODES_PATH}`]: listPages('NodeList', [[kubeNode('n1'), kubeNode('n2')], [{ kind: 'Node', metadata: {} }]]) });

    await expect(nodes().listNodes()).rejects.toThrow('malformed Node items[2]: metadata.name: missing');
  });

  test('a response without an items array aborts the listing', async () => {
    handler = api({ [`GET ${NODES_PATH}`]: (res) => json(res, 200, { kind: 'NodeList', metadata: {} }) });

    await expect(nodes().listNodes()).rejects.toThrow('list nodes: malformed response: items: not an array');
  });

  test('a server that repeats a continue token cannot loop the client', async () => {
    handler = api({ [`GET ${NODES_PATH}`]: (res) => json(res, 200, { kind: 'NodeList', metadata: { continue: 'same' }, items: [] }) });

    await expect(nodes().listNodes()).rejects.toThrow('list nodes: server repeated a continue token');
    expect(seen).toHaveLength(2);
  });
});

describe('ClusterNodesPort.cordonNode', () => {
  const NODE = `${NODES_PATH}/mi-026d6a261e355fba7`;

  test('a schedulable node is read, then merge-patched to spec.unschedulable=true', async () => {
    handler = api({
      [`GET ${NODE}`]: (res) => json(res, 200, kubeNode('mi-026d6a261e355fba7')),
      [`PATCH ${NODE}`]: (res) => json(res, 200, kubeNode('mi-026d6a261e355fba7', { unschedulable: true })),
    });

    await expect(nodes().cordonNode('mi-026d6a261e355fba7')).resolves.toBe('cordoned');

    expect(seen.map((r) => r.method)).toEqual(['GET', 'PATCH']);
    const patch = seen[1]!;
    expect(patch.contentType).toBe('application/merge-patch+json');
    expect(JSON.parse(patch.body)).toEqual({ spec: { unschedulable: true } });
    expect(patch.authorization).toBe(`Bearer ${TOKEN}`);
  });

  test('an already cordoned node is not patched again', async () => {
    handler = api({ [`GET ${NODE}`]: (res) => json(res, 200, kubeNode('mi-026d6a261e355fba7', { unschedulable: true })) });

    await expect(nodes().cordonNode('mi-026d6a261e355fba7')).resolves.toBe('already-cordoned');
    expect(seen.map((r) => r.method)).toEqual(['GET']);
  });

  test('404 on the read: not-found, nothing patched', async () => {
    handler = api({ [`GET ${NODE}`]: (res) => json(res, 404, status(404, 'nodes "mi-026d6a261e355fba7" not found', 'NotFound')) });

    await expect(nodes().cordonNode('mi-026d6a261e355fba7')).resolves.toBe('not-found');
    expect(seen.map((r) => r.method)).toEqual(['GET']);
  });

  test('404 on the patch (deleted in between): not-found', async () => {
    handler = api({
      [`GET ${NODE}`]: (res) => json(res, 200, kubeNode('mi-026d6a261e355fba7')),
      [`PATCH ${NODE}`]: (res) => json(res, 404, status(404, 'nodes "mi-026d6a261e355fba7" not found', 'NotFound')),
    });

    await expect(nodes().cordonNode('mi-026d6a261e355fba7')).resolves.toBe('not-found');
  });

  test('any other failure rejects with the call and the status', async () => {
    handler = api({
      [`GET ${NODE}`]: (res) => json(res, 200, kubeNode('mi-026d6a261e355fba7')),
      [`PATCH ${NODE}`]: (res) => json(res, 403, status(403, 'nodes "mi-026d6a261e355fba7" is forbidden: User cannot patch resource "nodes"')),
    });

    const err = (await nodes().cordonNode('mi-026d6a261e355fba7').catch((e: unknown) => e)) as KubernetesApiError;
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err.statusCode).toBe(403);
    expect(err.message).toBe('cordon node mi-026d6a261e355fba7 failed: HTTP 403 Forbidden: nodes "mi-026d6a261e355fba7" is forbidden: User cannot patch resource "nodes"');
  });

  test('the patch keeps the per-request deadline next to its content-type header', async () => {
    handler = api({
      [`GET ${NODE}`]: (res) => json(res, 200, kubeNode('mi-026d6a261e355fba7')),
      [`PATCH ${NODE}`]: () => undefined, // never answers
    });

    const err = (await nodes({ requestTimeoutMs: 1_000 }).cordonNode('mi-026d6a261e355fba7').catch((e: unknown) => e)) as KubernetesApiError;
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err.statusCode).toBeUndefined();
    expect(err.message).toMatch(/^cordon node mi-026d6a261e355fba7 failed: .*abort/i);
    // No answer at all, like a reset connection: it carries a code, which the teardown treats as transient
    // (handlers/teardown.ts isTransient: a KubernetesApiError without a status but with a code).
    expect(err.code).toBe('TimeoutError');
  });
});

describe('ClusterNodesPort.listPodsOnNode', () => {
  test('lists pods of every namespace by spec.nodeName, following continue tokens, and translates them', async () => {
    handler = api({
      [`GET ${PODS_PATH}`]: listPages('PodList', [
        [
          pod('kube-system', 'cilium-x7k2p', { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'cilium', uid: 'u1' }] }),
          pod('default', 'web-7d4b9c-abcde', { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9c', uid: 'u2' }], deletionTimestamp: '2025-01-01T00:00:00Z' }),
        ],
        [
          pod('kube-system', 'kube-proxy-mi-1', { annotations: { 'kubernetes.io/config.mirror': '3c5c3f3b2a', 'kubernetes.io/config.source': 'file' }, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'mi-1', uid: 'u3' }] }),
          pod('default', 'bare', {}, null), // no status.phase
        ],
      ]),
    });

    const records = await nodes().listPodsOnNode('mi-026d6a261e355fba7');

    expect(records).toEqual([
      { namespace: 'kube-system', name: 'cilium-x7k2p', ownerKinds: ['DaemonSet'], mirror: false, terminating: false, phase: 'Running' },
      { namespace: 'default', name: 'web-7d4b9c-abcde', ownerKinds: ['ReplicaSet'], mirror: false, terminating: true, phase: 'Running' },
      { namespace: 'kube-system', name: 'kube-proxy-mi-1', ownerKinds: ['Node'], mirror: true, terminating: false, phase: 'Running' },
      { namespace: 'default', name: 'bare', ownerKinds: [], mirror: false, terminating: false },
    ]);
    expect(records[3]!.phase).toBeUndefined();
    expect(seen.map((r) => [r.method, r.path, r.query.get('fieldSelector'), r.query.get('limit'), r.query.get('continue')])).toEqual([
      ['GET', PODS_PATH, 'spec.nodeName=mi-026d6a261e355fba7', '2', null],
      ['GET', PODS_PATH, 'spec.nodeName=mi-026d6a261e355fba7', '2', 'page-1'],
    ]);
  });

  test('a Pod without a namespace aborts the listing', async () => {
    handler = api({ [`GET ${PODS_PATH}`]: listPages('PodList', [[{ kind: 'Pod', metadata: { name: 'p' } }]]) });

    await expect(nodes().listPodsOnNode('n1')).rejects.toThrow('malformed Pod items[0]: metadata.namespace: missing');
  });

  test('a failed page rejects with the call named', async () => {
    handler = api({ [`GET ${PODS_PATH}`]: (res) => json(res, 403, status(403, 'pods is forbidden')) });

    const err = (await nodes().listPodsOnNode('n1').catch((e: unknown) => e)) as KubernetesApiError;
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err.message).toBe('list pods on node n1 failed: HTTP 403 Forbidden: pods is forbidden');
  });
});

describe('ClusterNodesPort.evictPod', () => {
  const EVICTION = '/api/v1/namespaces/default/pods/web-7d4b9c-abcde/eviction';

  test('POSTs a policy/v1 Eviction for the pod', async () => {
    handler = api({
      [`POST ${EVICTION}`]: (res) => json(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }),
    });

    await expect(nodes().evictPod('default', 'web-7d4b9c-abcde')).resolves.toBe('evicted');

    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe('POST');
    expect(seen[0]!.contentType).toBe('application/json');
    expect(JSON.parse(seen[0]!.body)).toEqual({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-7d4b9c-abcde', namespace: 'default' } });
  });

  test('429 (a PodDisruptionBudget says no): blocked, asked once', async () => {
    handler = api({
      [`POST ${EVICTION}`]: (res) =>
        json(res, 429, { ...status(429, "Cannot evict pod as it would violate the pod's disruption budget.", 'TooManyRequests'), details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget web needs 2 healthy pods and has 2 currently' }] } }),
    });

    await expect(nodes().evictPod('default', 'web-7d4b9c-abcde')).resolves.toBe('blocked');
    expect(seen).toHaveLength(1);
  });

  test('404 (the pod is gone): not-found', async () => {
    handler = api({ [`POST ${EVICTION}`]: (res) => json(res, 404, status(404, 'pods "web-7d4b9c-abcde" not found', 'NotFound')) });

    await expect(nodes().evictPod('default', 'web-7d4b9c-abcde')).resolves.toBe('not-found');
  });

  test('any other failure rejects', async () => {
    handler = api({ [`POST ${EVICTION}`]: (res) => json(res, 500, status(500, 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.')) });

    const err = (await nodes().evictPod('default', 'web-7d4b9c-abcde').catch((e: unknown) => e)) as KubernetesApiError;
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err.statusCode).toBe(500);
    expect(err.message).toMatch(/^evict pod default\/web-7d4b9c-abcde failed: HTTP 500 Internal Server Error: This pod has more than one/);
  });
});

describe('ClusterNodesPort.deleteNode and deleteCiliumNode', () => {
  const cases = [
    ['deleteNode', `${NODES_PATH}/mi-026d6a261e355fba7`, 'delete node mi-026d6a261e355fba7', kubeNode('mi-026d6a261e355fba7')],
    ['deleteCiliumNode', `${LIST_PATH}/mi-026d6a261e355fba7`, 'delete ciliumnode mi-026d6a261e355fba7', { ...DUAL_STACK, metadata: { ...DUAL_STACK.metadata, deletionTimestamp: '2025-01-01T00:00:00Z' } }],
  ] as const;

  test.each(cases)('%s: DELETE %s', async (method, path, _call, deleted) => {
    handler = api({ [`DELETE ${path}`]: (res) => json(res, 200, deleted) });

    await expect(nodes()[method]('mi-026d6a261e355fba7')).resolves.toBe('deleted');
    expect(seen.map((r) => [r.method, r.path, r.authorization])).toEqual([['DELETE', path, `Bearer ${TOKEN}`]]);
  });

  test.each(cases)('%s: 404 is not-found', async (method, path) => {
    handler = api({ [`DELETE ${path}`]: (res) => json(res, 404, status(404, 'not found', 'NotFound')) });

    await expect(nodes()[method]('mi-026d6a261e355fba7')).resolves.toBe('not-found');
  });

  test.each(cases)('%s: any other failure rejects with the call named', async (method, path, call) => {
    handler = api({ [`DELETE ${path}`]: (res) => json(res, 403, status(403, 'forbidden')) });

    const err = (await nodes()[method]('mi-026d6a261e355fba7').catch((e: unknown) => e)) as KubernetesApiError;
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err.statusCode).toBe(403);
    expect(err.message).toBe(`${call} failed: HTTP 403 Forbidden: forbidden`);
  });
});

describe('ClusterNodesPort.listCiliumNodes', () => {
  test('is the CiliumNode reader: same requests, same records', async () => {
    handler = pages([[DUAL_STACK, MULTI_POOL], [PENDING]]);

    await expect(nodes().listCiliumNodes()).resolves.toEqual(EXPECTED);
    expect(seen.map((r) => [r.path, r.query.get('limit'), r.query.get('continue'), r.authorization])).toEqual([
      [LIST_PATH, '2', null, `Bearer ${TOKEN}`],
      [LIST_PATH, '2', 'page-1', `Bearer ${TOKEN}`],
    ]);
  });
});

describe('ClusterNodesPort keeps the token out of errors', () => {
  const echo = (res: ServerResponse) => json(res, 500, status(500, `bad token ${TOKEN}`));
  const calls: [string, string, (port: ReturnType<typeof nodes>) => Promise<unknown>, string][] = [
    ['listNodes', `GET ${NODES_PATH}`, (port) => port.listNodes(), 'list nodes'],
    ['cordonNode', `GET ${NODES_PATH}/n1`, (port) => port.cordonNode('n1'), 'read node n1'],
    ['listPodsOnNode', `GET ${PODS_PATH}`, (port) => port.listPodsOnNode('n1'), 'list pods on node n1'],
    ['evictPod', 'POST /api/v1/namespaces/ns/pods/p1/eviction', (port) => port.evictPod('ns', 'p1'), 'evict pod ns/p1'],
    ['deleteNode', `DELETE ${NODES_PATH}/n1`, (port) => port.deleteNode('n1'), 'delete node n1'],
    ['deleteCiliumNode', `DELETE ${LIST_PATH}/n1`, (port) => port.deleteCiliumNode('n1'), 'delete ciliumnode n1'],
    ['listCiliumNodes', `GET ${LIST_PATH}`, (port) => port.listCiliumNodes(), 'list ciliumnodes'],
  ];

  test.each(calls)('%s: a token echoed by the server is redacted', async (_name, route, run, call) => {
    handler = api({ [route]: echo });

    const err = (await run(nodes()).catch((e: unknown) => e)) as KubernetesApiError;

    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(seen.map((r) => r.authorization)).toEqual([`Bearer ${TOKEN}`]); // the token was really sent
    expect(err.message).toBe(`${call} failed: HTTP 500 Internal Server Error: bad token [redacted]`);
    const everything = [err.message, err.stack ?? '', JSON.stringify(err), inspect(err, { depth: 10, showHidden: true })].join('\n');
    expect(everything).not.toContain(TOKEN);
  });

  test('the cordon patch redacts too', async () => {
    handler = api({ [`GET ${NODES_PATH}/n1`]: (res) => json(res, 200, kubeNode('n1')), [`PATCH ${NODES_PATH}/n1`]: echo });

    const err = (await nodes().cordonNode('n1').catch((e: unknown) => e)) as KubernetesApiError;
    expect(err.message).toBe('cordon node n1 failed: HTTP 500 Internal Server Error: bad token [redacted]');
    expect(inspect(err, { depth: 10, showHidden: true })).not.toContain(TOKEN);
  });

  test("the teardown's kubeconfig pins TLS verification on, so NODE_TLS_REJECT_UNAUTHORIZED=0 cannot switch it off", () => {
    const kc = buildKubeConfig(cluster(), TOKEN);
    expect(kc.getCurrentCluster()).toMatchObject({ server: trusted.url, caData, skipTLSVerify: false });
    expect(kc.getCurrentUser()).toMatchObject({ token: TOKEN });
    expect(kc.createDispatcherOptions(kc.getCurrentCluster(), {})).toMatchObject({
      type: 'agent',
      connect: { rejectUnauthorized: true },
    });
  });

  test('a server whose certificate the cluster CA did not sign is refused before the token is sent', async () => {
    handler = api({ [`DELETE ${NODES_PATH}/n1`]: (res) => json(res, 200, kubeNode('n1')) });
    const port = createClusterNodesClient({ cluster: cluster(impostor.url), token: TOKEN });

    const err = (await port.deleteNode('n1').catch((e: unknown) => e)) as KubernetesApiError;
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err.code).toMatch(/CERT|SIGNATURE|ISSUER/);
    expect(err.message).toMatch(/^delete node n1 failed: fetch failed \(/);
    expect(err.message).not.toContain(TOKEN);
    expect(seen).toHaveLength(0);
  });
});

describe('createClusterNodesPortFactory', () => {
  test('asks for a token each time, reuses the client while token, endpoint and CA are unchanged, and passes the options', async () => {
    handler = api({ [`GET ${NODES_PATH}`]: listPages('NodeList', [[kubeNode('n1')]]) });
    let current: BearerToken = { token: 'k8s-aws-v1.first', expiresAt: new Date(Date.now() + 600_000) };
    const getToken = jest.fn(async (_cluster: string) => current);
    const factory = createClusterNodesPortFactory({ getToken }, { pageSize: 7 });

    const first = await factory(cluster());
    expect(await factory(cluster())).toBe(first);
    await first.listNodes();
    const otherEndpoint = await factory({ ...cluster(), endpoint: trusted.url.replace('127.0.0.1', 'localhost') });
    expect(otherEndpoint).not.toBe(first);
    current = { token: 'k8s-aws-v1.second', expiresAt: new Date(Date.now() + 600_000) };
    const second = await factory(cluster());
    expect(second).not.toBe(first);
    await second.listNodes();

    expect(getToken).toHaveBeenCalledTimes(4);
    expect(getToken).toHaveBeenCalledWith('hybrid-lab');
    expect(seen.map((r) => [r.authorization, r.query.get('limit')])).toEqual([
      ['Bearer k8s-aws-v1.first', '7'],
      ['Bearer k8s-aws-v1.second', '7'],
    ]);
  });

  test('the default page size is 500', async () => {
    handler = api({ [`GET ${PODS_PATH}`]: listPages('PodList', [[]]) });
    const factory = createClusterNodesPortFactory({ getToken: async () => ({ token: TOKEN, expiresAt: new Date(Date.now() + 600_000) }) });

    await (await factory(cluster())).listPodsOnNode('n1');

    expect(seen.map((r) => r.query.get('limit'))).toEqual(['500']);
  });
});

describe('CiliumNodePort.readNodeStatuses (a node whose address may have moved)', () => {
  const NAME = 'mi-026d6a261e355fba7';
  const withConditions = (conditions: unknown[]) => ({ ...kubeNode(NAME), status: { ...kubeNode(NAME).status, conditions } });

  test('one GET per distinct name with the bearer token; InternalIPs and the Ready heartbeat, normalised to ISO 8601', async () => {
    handler = api({
      [`GET ${NODES_PATH}/${NAME}`]: (res) =>
        json(res, 200, withConditions([
          { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: '2026-12-01T11:00:00Z' },
          { type: 'Ready', status: 'True', lastHeartbeatTime: '2026-12-01T10:01:00Z' },
        ])),
      [`GET ${NODES_PATH}/mi-0a1b2c3d4e5f60718`]: (res) => json(res, 200, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'mi-0a1b2c3d4e5f60718' } }),
    });
    const statuses = await reader().readNodeStatuses([NAME, 'mi-0a1b2c3d4e5f60718', NAME]);
    expect(Object.fromEntries(statuses)).toEqual({
      [NAME]: { state: 'found', internalIps: ['10.20.1.10', 'fd00:20::10'], readyHeartbeat: '2026-12-01T10:01:00.000Z' },
      'mi-0a1b2c3d4e5f60718': { state: 'found', internalIps: [] },
    });
    expect(seen.map((r) => [r.method, r.path, r.authorization]).sort()).toEqual([
      ['GET', `${NODES_PATH}/${NAME}`, `Bearer ${TOKEN}`],
      ['GET', `${NODES_PATH}/mi-0a1b2c3d4e5f60718`, `Bearer ${TOKEN}`],
    ]);
  });

  test('a Ready condition without a heartbeat, or none at all, gives no heartbeat', async () => {
    handler = api({ [`GET ${NODES_PATH}/${NAME}`]: (res) => json(res, 200, withConditions([{ type: 'Ready', status: 'Unknown' }])) });
    expect((await reader().readNodeStatuses([NAME])).get(NAME)).toEqual({ state: 'found', internalIps: ['10.20.1.10', 'fd00:20::10'] });
  });

  test('404 is not-found; 403 and 500 are unreadable with the reason and never the token; nothing rejects', async () => {
    handler = api({
      [`GET ${NODES_PATH}/gone`]: (res) => json(res, 404, status(404, 'nodes "gone" not found', 'NotFound')),
      [`GET ${NODES_PATH}/forbidden`]: (res) => json(res, 403, status(403, `nodes "forbidden" is forbidden: User "${TOKEN}" cannot get resource "nodes"`, 'Forbidden')),
      [`GET ${NODES_PATH}/broken`]: (res) => json(res, 500, status(500, 'etcdserver: request timed out')),
    });
    const statuses = await reader().readNodeStatuses(['gone', 'forbidden', 'broken']);
    expect(statuses.get('gone')).toEqual({ state: 'not-found' });
    expect(statuses.get('forbidden')).toEqual({ state: 'unreadable', error: expect.stringMatching(/^read node forbidden failed: HTTP 403 Forbidden: nodes "forbidden" is forbidden/) });
    expect(statuses.get('broken')).toEqual({ state: 'unreadable', error: 'read node broken failed: HTTP 500 Internal Server Error: etcdserver: request timed out' });
    expect(inspect(statuses)).not.toContain(TOKEN);
  });

  test('the CiliumNode listing carries metadata.creationTimestamp as createdAt', async () => {
    const created = { ...DUAL_STACK, metadata: { ...DUAL_STACK.metadata, creationTimestamp: '2026-11-01T08:00:00Z' } };
    handler = pages([[created]]);
    const [record] = await reader().listCiliumNodes();
    expect(record).toEqual({ ...EXPECTED[0], createdAt: '2026-11-01T08:00:00Z' });
  });

  test('the server certificate is verified against the cluster CA: a server with another CA gets no request, and the node is unreadable', async () => {
    handler = api({ [`GET ${NODES_PATH}/${NAME}`]: (res) => json(res, 200, kubeNode(NAME)) });
    const statuses = await reader(impostor.url).readNodeStatuses([NAME]);
    expect(statuses.get(NAME)).toEqual({ state: 'unreadable', error: expect.stringMatching(/^read node mi-026d6a261e355fba7 failed: /) });
    expect(seen).toEqual([]);
  });

  test('a 200 that is not a Node is unreadable, with the field named', async () => {
    handler = api({ [`GET ${NODES_PATH}/${NAME}`]: (res) => json(res, 200, { kind: 'Node', status: { addresses: 'none' } }) });
    expect((await reader().readNodeStatuses([NAME])).get(NAME)).toEqual({ state: 'unreadable', error: expect.stringContaining('status.addresses') });
  });

  test('the teardown client reads Node statuses the same way', async () => {
    handler = api({ [`GET ${NODES_PATH}/${NAME}`]: (res) => json(res, 404, status(404, 'not found', 'NotFound')) });
    expect((await nodes().readNodeStatuses([NAME])).get(NAME)).toEqual({ state: 'not-found' });
  });
});
