import { request as httpsRequest } from 'node:https';
import { STSClient } from '@aws-sdk/client-sts';
import { createCiliumNodeReader, KubernetesApiError } from '../../../functions/adapters/kubernetes.js';
import { EksTokenProvider, TOKEN_PREFIX } from '../../../functions/adapters/token.js';
import type { ClusterInfo } from '../../../functions/core/types.js';
import { FaultInjector } from '../../localcloud/faults.js';
import { type KubernetesApi, LIST_ACTIONS, startKubernetesApi } from '../../localcloud/kubernetes.js';
import type { CloudState, LocalCredentials } from '../../localcloud/state.js';

const REGION = 'us-west-2';
const ACCOUNT = '111122223333';
const CLUSTER = 'hybrid-lab';
const STS_HOST = '127.0.0.1:9'; // never called: the API server only checks tokens for this host
const STS_ENDPOINT = `http://${STS_HOST}`;
const READER_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/eks-hybrid-routes-reader`;
const MIN = 60_000;

const CREDS = {
  admin: { accessKeyId: 'AKIDLOCALCLOUD', secretAccessKey: 'localcloud-secret', principalArn: `arn:aws:iam::${ACCOUNT}:user/localcloud-admin` },
  reader: {
    accessKeyId: 'ASIAREADEREXAMPLE001',
    secretAccessKey: 'reader/Secret+Key/EXAMPLE000000000000000',
    sessionToken: 'reader-session-token',
    principalArn: `arn:aws:sts::${ACCOUNT}:assumed-role/eks-hybrid-routes-reader/eks-hybrid-routes`,
  },
  teardown: {
    accessKeyId: 'ASIATEARDOWNEXAMPL01',
    secretAccessKey: 'teardown/Secret+Key/EXAMPLE00000000000000',
    sessionToken: 'teardown-session-token',
    principalArn: `arn:aws:sts::${ACCOUNT}:assumed-role/lab-teardown/cleanup`,
  },
  nobody: { accessKeyId: 'AKIDNOBODYEXAMPLE001', secretAccessKey: 'nobody-secret', principalArn: `arn:aws:iam::${ACCOUNT}:user/someone-else` },
} satisfies Record<string, LocalCredentials>;

const NODE_NAMES = ['mi-0a', 'mi-0b', 'mi-0c', 'mi-0d', 'mi-0e'];
const ciliumNode = (name: string, i: number) => ({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNode',
  metadata: { name, labels: { 'eks.amazonaws.com/compute-type': 'hybrid' } },
  spec: { addresses: [{ type: 'InternalIP', ip: `10.20.${i + 1}.10` }], ipam: { podCIDRs: [`10.30.${i}.0/24`] } },
});
const node = (name: string) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, uid: `uid-${name}` }, spec: {} });
const pod = (namespace: string, name: string, nodeName: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace, name },
  spec: { nodeName },
  status: { phase: 'Running' },
});

function buildState(): CloudState {
  // Inserted out of order: lists come back in name order.
  const names = [...NODE_NAMES].reverse();
  return {
    region: REGION,
    accountId: ACCOUNT,
    quotas: { routesPerRouteTable: 50 },
    cluster: {
      name: CLUSTER,
      arn: `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${CLUSTER}`,
      remoteNodeNetworks: ['10.20.0.0/16'],
      remotePodNetworks: ['10.30.0.0/16'],
      readerRoleArn: READER_ROLE_ARN,
      endpoint: '',
      caPem: '',
    },
    vpcs: new Map(),
    subnets: new Map(),
    routeTables: new Map(),
    networkInterfaces: new Map(),
    instances: new Map(),
    managedInstances: new Map(),
    activations: new Map(),
    ciliumNodes: new Map(names.map((n) => [n, ciliumNode(n, NODE_NAMES.indexOf(n))])),
    nodes: new Map(names.map((n) => [n, node(n)])),
    pods: new Map(
      [pod('kube-system', 'cilium-x1', 'mi-0a'), pod('default', 'web-1', 'mi-0a'), pod('default', 'web-2', 'mi-0b')].map((p) => [
        `${p.metadata.namespace}/${p.metadata.name}`,
        p,
      ]),
    ),
    rules: new Map(),
    credentials: new Map(Object.values(CREDS).map((c) => [c.accessKeyId, { ...c }])),
    calls: [],
  };
}

let state: CloudState;
let faults: FaultInjector;
let api: KubernetesApi;

beforeAll(async () => {
  state = buildState();
  faults = new FaultInjector();
  api = await startKubernetesApi(state, faults, { clusterName: CLUSTER, region: REGION, stsHost: STS_HOST });
});
afterAll(async () => {
  await api.stop();
});
beforeEach(() => {
  const fresh = buildState();
  for (const key of ['ciliumNodes', 'nodes', 'pods', 'blockedEvictions', 'credentials', 'calls'] as const) Object.assign(state, { [key]: fresh[key] });
  faults.clear();
});

// ---- clients: the project's token provider and CiliumNode reader, and plain HTTPS for the other endpoints ----

type Who = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
async function tokenFor(who: Who, options: { cluster?: string; now?: () => Date; stsEndpoint?: string } = {}): Promise<string> {
  const { principalArn: _ignored, ...credentials } = who as Who & { principalArn?: string };
  const provider = new EksTokenProvider({
    region: REGION,
    sts: new STSClient({ region: REGION, credentials }),
    stsEndpoint: options.stsEndpoint ?? STS_ENDPOINT,
    ...(options.now ? { now: options.now } : {}),
  });
  return (await provider.getToken(options.cluster ?? CLUSTER)).token;
}

const clusterInfo = (): ClusterInfo => ({
  name: CLUSTER,
  endpoint: api.endpoint,
  certificateAuthorityData: Buffer.from(api.caPem).toString('base64'),
  remoteNetworks: { remoteNodeNetworks: ['10.20.0.0/16'], remotePodNetworks: ['10.30.0.0/16'] },
});
const reader = (token: string, pageSize = 2) => createCiliumNodeReader({ cluster: clusterInfo(), token, pageSize });
const failure = (p: Promise<unknown>) => p.then(
  () => {
    throw new Error('expected a rejection');
  },
  (e: unknown) => e as KubernetesApiError,
);

interface Answer {
  status: number;
  body: Record<string, unknown>;
}
function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; contentType?: string; timeoutMs?: number } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = httpsRequest(
      `${api.endpoint}${path}`,
      {
        method,
        ca: api.caPem,
        agent: false,
        headers: {
          accept: 'application/json',
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(body ? { 'content-type': options.contentType ?? 'application/merge-patch+json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    if (options.timeoutMs) req.setTimeout(options.timeoutMs, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const status = (code: number, reason: string, message: string, details?: Record<string, unknown>) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  ...(details ? { details } : {}),
  code,
});
const k8sCalls = () => state.calls.map((c) => [c.action, c.status]);

// ---- tests ----

describe('TLS and discovery', () => {
  test('serves HTTPS on 127.0.0.1 with a certificate its own CA signed, and /version to anyone', async () => {
    expect(api.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(api.caPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const anonymous = await call('GET', '/version');
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toMatchObject({ major: '1', gitVersion: expect.stringMatching(/^v1\.\d+\./), platform: 'linux/amd64' });
    expect(state.calls).toEqual([{ service: 'kubernetes', action: 'get version', status: 200, at: expect.any(Number) }]);
  });

  test('a wrong-ca fault presents a certificate the cluster CA did not sign: the reader refuses it', async () => {
    const token = await tokenFor(CREDS.reader);
    faults.addFault({ service: 'kubernetes', kind: 'wrong-ca' });
    const err = await failure(reader(token).listCiliumNodes());
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err.statusCode).toBeUndefined();
    expect(err.code).toMatch(/CERT|SIGNATURE|ISSUER/);
    expect(state.calls).toEqual([]); // no request got through
    faults.clear();
    await expect(reader(token).listCiliumNodes()).resolves.toHaveLength(5);
  });
});

describe('CiliumNodes through the project reader', () => {
  test('lists every node in name order over several pages (limit + opaque continue)', async () => {
    const nodes = await reader(await tokenFor(CREDS.reader)).listCiliumNodes();
    expect(nodes.map((n) => n.name)).toEqual(NODE_NAMES);
    expect(nodes[2]).toEqual({ name: 'mi-0c', addresses: [{ type: 'InternalIP', ip: '10.20.3.10' }], podCIDRs: ['10.30.2.0/24'], poolCIDRs: [] });
    expect(k8sCalls()).toEqual([
      ['list ciliumnodes', 200],
      ['list ciliumnodes', 200],
      ['list ciliumnodes', 200],
    ]);
  });

  test('a 500 on the second page rejects the whole listing (no partial list)', async () => {
    faults.addFault({ service: 'kubernetes', action: 'list ciliumnodes', kind: 'error', status: 500, message: 'etcdserver: request timed out', afterCalls: 1 });
    const err = await failure(reader(await tokenFor(CREDS.reader)).listCiliumNodes());
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err.statusCode).toBe(500);
    expect(err.message).toBe('list ciliumnodes failed: HTTP 500 Internal Server Error: etcdserver: request timed out');
    expect(k8sCalls()).toEqual([
      ['list ciliumnodes', 200],
      ['list ciliumnodes', 500],
    ]);
  });

  test('a reset connection rejects the listing without a status', async () => {
    faults.addFault({ service: 'kubernetes', action: 'list ciliumnodes', kind: 'reset', times: 1 });
    const err = await failure(reader(await tokenFor(CREDS.reader)).listCiliumNodes());
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err.statusCode).toBeUndefined();
    expect(state.calls).toEqual([{ service: 'kubernetes', action: 'list ciliumnodes', status: 0, error: 'ConnectionReset', at: expect.any(Number) }]);
  });
});

describe('authentication, as EKS does it', () => {
  const expect401 = async (token: string, why: RegExp) => {
    const err = await failure(reader(token).listCiliumNodes());
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err.statusCode).toBe(401);
    expect(err.message).toMatch(/^list ciliumnodes failed: HTTP 401 Unauthorized/);
    expect(state.calls).toEqual([{ service: 'kubernetes', action: 'list ciliumnodes', status: 401, error: expect.stringMatching(why), at: expect.any(Number) }]);
    expect(JSON.stringify(state.calls)).not.toContain(token.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + 60));
    const raw = await call('GET', '/apis/cilium.io/v2/ciliumnodes', { token });
    expect(raw).toEqual({ status: 401, body: status(401, 'Unauthorized', 'Unauthorized') });
  };

  test('an expired token (signed more than 15 minutes ago)', async () => {
    const signedAt = new Date(Date.now() - 16 * MIN);
    await expect401(await tokenFor(CREDS.reader, { now: () => signedAt }), /expired/);
  });

  test('a token 14 minutes old is still good', async () => {
    const signedAt = new Date(Date.now() - 14 * MIN);
    await expect(reader(await tokenFor(CREDS.reader, { now: () => signedAt })).listCiliumNodes()).resolves.toHaveLength(5);
  });

  test('a token for another cluster fails the signature', async () => {
    await expect401(await tokenFor(CREDS.reader, { cluster: 'other-cluster' }), /SignatureDoesNotMatch/);
  });

  test('a token that does not sign x-k8s-aws-id', async () => {
    const good = new URL(Buffer.from((await tokenFor(CREDS.reader)).slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'));
    good.searchParams.set('X-Amz-SignedHeaders', 'host');
    await expect401(TOKEN_PREFIX + Buffer.from(good.href).toString('base64url'), /did not sign the x-k8s-aws-id header/);
  });

  test('a token signed with the wrong secret', async () => {
    await expect401(await tokenFor({ ...CREDS.reader, secretAccessKey: 'not-the-secret' }), /SignatureDoesNotMatch/);
  });

  test('a token from an access key the cloud does not know', async () => {
    await expect401(await tokenFor({ accessKeyId: 'AKIDUNKNOWNEXAMPLE01', secretAccessKey: 'whatever' }), /InvalidClientTokenId/);
  });

  test('a token whose session token does not belong to the key', async () => {
    await expect401(await tokenFor({ ...CREDS.reader, sessionToken: 'someone-elses-session' }), /InvalidClientTokenId/);
  });

  test('a token for expired credentials', async () => {
    state.credentials.get(CREDS.reader.accessKeyId)!.expiration = new Date(Date.now() - 1000);
    await expect401(await tokenFor(CREDS.reader), /ExpiredToken/);
  });

  test('a token presigned for the real AWS STS (not the local one)', async () => {
    await expect401(await tokenFor(CREDS.reader, { stsEndpoint: `https://sts.${REGION}.amazonaws.com` }), /unexpected hostname/);
  });

  test('a bearer token that is not a k8s-aws-v1 token', async () => {
    await expect401('opaque-bearer-QWxhZGRpbjpvcGVuIHNlc2FtZQ', /not a k8s-aws-v1 token/);
  });
});

describe('authorization (RBAC)', () => {
  test('a principal without RBAC bindings gets the apiserver\'s 403 message', async () => {
    const err = await failure(reader(await tokenFor(CREDS.nobody)).listCiliumNodes());
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err.statusCode).toBe(403);
    const message = `ciliumnodes.cilium.io is forbidden: User "${CREDS.nobody.principalArn}" cannot list resource "ciliumnodes" in API group "cilium.io" at the cluster scope`;
    expect(err.message).toBe(`list ciliumnodes failed: HTTP 403 Forbidden: ${message}`);
    expect(k8sCalls()).toEqual([['list ciliumnodes', 403]]);
  });

  test('the reader role may read CiliumNodes and nothing else', async () => {
    const token = await tokenFor(CREDS.reader);
    const user = CREDS.reader.principalArn;
    expect((await call('GET', '/apis/cilium.io/v2/ciliumnodes/mi-0a', { token })).status).toBe(200);
    expect(await call('DELETE', '/apis/cilium.io/v2/ciliumnodes/mi-0a', { token })).toEqual({
      status: 403,
      body: status(
        403,
        'Forbidden',
        `ciliumnodes.cilium.io "mi-0a" is forbidden: User "${user}" cannot delete resource "ciliumnodes" in API group "cilium.io" at the cluster scope`,
        { name: 'mi-0a', group: 'cilium.io', kind: 'ciliumnodes' },
      ),
    });
    expect((await call('GET', '/api/v1/nodes', { token })).body.message).toBe(
      `nodes is forbidden: User "${user}" cannot list resource "nodes" in API group "" at the cluster scope`,
    );
    expect((await call('POST', '/api/v1/namespaces/default/pods/web-1/eviction', { token, body: {}, contentType: 'application/json' })).body.message).toBe(
      `pods "web-1" is forbidden: User "${user}" cannot create resource "pods/eviction" in API group "" in the namespace "default"`,
    );
    expect(state.ciliumNodes.has('mi-0a')).toBe(true);
  });

  test('without a token the user is system:anonymous, who may only read public paths', async () => {
    expect(await call('GET', '/apis/cilium.io/v2/ciliumnodes')).toMatchObject({
      status: 403,
      body: { message: 'ciliumnodes.cilium.io is forbidden: User "system:anonymous" cannot list resource "ciliumnodes" in API group "cilium.io" at the cluster scope' },
    });
  });

  test('the base admin user may do anything', async () => {
    const token = await tokenFor(CREDS.admin);
    expect((await call('GET', '/api/v1/nodes', { token })).status).toBe(200);
    expect((await call('DELETE', '/apis/cilium.io/v2/ciliumnodes/mi-0e', { token })).status).toBe(200);
  });
});

describe('the objects teardown uses (teardown role)', () => {
  let token: string;
  beforeAll(async () => {
    token = await tokenFor(CREDS.teardown);
  });

  test('lists and gets Nodes; an unknown object is a NotFound Status', async () => {
    const list = await call('GET', '/api/v1/nodes?limit=3', { token });
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ apiVersion: 'v1', kind: 'NodeList', metadata: { resourceVersion: expect.any(String), remainingItemCount: 2 } });
    expect((list.body.items as { metadata: { name: string } }[]).map((n) => n.metadata.name)).toEqual(['mi-0a', 'mi-0b', 'mi-0c']);
    const cont = encodeURIComponent((list.body.metadata as { continue: string }).continue);
    const rest = await call('GET', `/api/v1/nodes?limit=3&continue=${cont}`, { token });
    expect((rest.body.items as { metadata: { name: string } }[]).map((n) => n.metadata.name)).toEqual(['mi-0d', 'mi-0e']);
    expect(rest.body.metadata).not.toHaveProperty('continue');
    expect(await call('GET', '/api/v1/nodes/mi-0b', { token })).toMatchObject({ status: 200, body: node('mi-0b') });
    expect(await call('GET', '/api/v1/nodes/mi-zz', { token })).toEqual({
      status: 404,
      body: status(404, 'NotFound', 'nodes "mi-zz" not found', { name: 'mi-zz', kind: 'nodes' }),
    });
    expect(await call('GET', '/apis/cilium.io/v2/ciliumnodes/mi-zz', { token })).toMatchObject({
      status: 404,
      body: { reason: 'NotFound', message: 'ciliumnodes.cilium.io "mi-zz" not found' },
    });
    expect(await call('GET', '/api/v1/nodes?continue=bm90LWEtdG9rZW4', { token })).toMatchObject({ status: 400, body: { reason: 'BadRequest' } });
  });

  test.each([
    ['application/merge-patch+json', { spec: { unschedulable: true } }],
    ['application/strategic-merge-patch+json', { spec: { unschedulable: true } }],
    ['application/json-patch+json', [{ op: 'add', path: '/spec/unschedulable', value: true }]],
  ])('cordons a Node with %s', async (contentType, body) => {
    const out = await call('PATCH', '/api/v1/nodes/mi-0a', { token, body, contentType });
    expect(out.status).toBe(200);
    expect(out.body).toMatchObject({ metadata: { name: 'mi-0a', resourceVersion: expect.any(String) }, spec: { unschedulable: true } });
    expect(state.nodes.get('mi-0a')).toMatchObject({ spec: { unschedulable: true } });
    const uncordon = await call('PATCH', '/api/v1/nodes/mi-0a', { token, body: { spec: { unschedulable: null } } });
    expect(uncordon.body.spec).toEqual({});
    expect(k8sCalls()).toEqual([
      ['patch nodes', 200],
      ['patch nodes', 200],
    ]);
  });

  test('refuses an unknown patch type and a patch of a missing Node', async () => {
    expect(await call('PATCH', '/api/v1/nodes/mi-0a', { token, body: {}, contentType: 'application/json' })).toMatchObject({
      status: 415,
      body: { reason: 'UnsupportedMediaType' },
    });
    expect((await call('PATCH', '/api/v1/nodes/mi-zz', { token, body: { spec: { unschedulable: true } } })).status).toBe(404);
  });

  test('lists the pods on a node, evicts them (201 Status), and the evicted pod is gone', async () => {
    const onNode = await call('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dmi-0a', { token });
    expect(onNode.body).toMatchObject({ apiVersion: 'v1', kind: 'PodList' });
    expect((onNode.body.items as { metadata: { namespace: string; name: string } }[]).map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual([
      'default/web-1',
      'kube-system/cilium-x1',
    ]);
    const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-1', namespace: 'default' } };
    expect(await call('POST', '/api/v1/namespaces/default/pods/web-1/eviction', { token, body: eviction, contentType: 'application/json' })).toEqual({
      status: 201,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 },
    });
    expect(state.pods!.has('default/web-1')).toBe(false);
    expect(await call('POST', '/api/v1/namespaces/default/pods/web-1/eviction', { token, body: eviction, contentType: 'application/json' })).toMatchObject({
      status: 404,
      body: { reason: 'NotFound', message: 'pods "web-1" not found' },
    });
    expect((await call('GET', '/api/v1/pods?fieldSelector=spec.nodeName=mi-0a', { token })).body.items).toHaveLength(1);
    expect(await call('GET', '/api/v1/pods?fieldSelector=spec.hostIP=1.2.3.4', { token })).toMatchObject({
      status: 400,
      body: { message: 'field label not supported: spec.hostIP' },
    });
    expect(k8sCalls().map(([a]) => a)).toEqual(['list pods', 'create pods/eviction', 'create pods/eviction', 'list pods', 'list pods']);
  });

  test('deletes a Node and a CiliumNode (Success Status); a second delete is NotFound', async () => {
    expect(await call('DELETE', '/api/v1/nodes/mi-0c', { token })).toEqual({
      status: 200,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: 'mi-0c', kind: 'nodes', uid: 'uid-mi-0c' }, code: 200 },
    });
    expect(await call('DELETE', '/apis/cilium.io/v2/ciliumnodes/mi-0c', { token })).toMatchObject({
      status: 200,
      body: { status: 'Success', details: { name: 'mi-0c', group: 'cilium.io', kind: 'ciliumnodes' } },
    });
    expect(state.nodes.has('mi-0c')).toBe(false);
    expect(state.ciliumNodes.has('mi-0c')).toBe(false);
    expect((await call('DELETE', '/api/v1/nodes/mi-0c', { token })).status).toBe(404);
    const nodes = await reader(await tokenFor(CREDS.reader)).listCiliumNodes();
    expect(nodes.map((n) => n.name)).toEqual(['mi-0a', 'mi-0b', 'mi-0d', 'mi-0e']);
  });

  // Kubernetes API concepts, "Label selectors" (equality-based: =, ==, !=; existence: key, !key).
  test('lists Nodes by labelSelector (hybrid compute type), by field selector metadata.name', async () => {
    for (const name of ['mi-0a', 'mi-0c']) (state.nodes.get(name)!.metadata as Record<string, unknown>).labels = { 'eks.amazonaws.com/compute-type': 'hybrid' };
    (state.nodes.get('mi-0d')!.metadata as Record<string, unknown>).labels = { 'eks.amazonaws.com/compute-type': 'ec2' };
    const names = async (query: string) => {
      const out = await call('GET', `/api/v1/nodes?${query}`, { token });
      expect(out.status).toBe(200);
      return (out.body.items as { metadata: { name: string } }[]).map((n) => n.metadata.name);
    };
    expect(await names(`labelSelector=${encodeURIComponent('eks.amazonaws.com/compute-type=hybrid')}`)).toEqual(['mi-0a', 'mi-0c']);
    expect(await names(`labelSelector=${encodeURIComponent('eks.amazonaws.com/compute-type==hybrid')}&limit=1`)).toEqual(['mi-0a']);
    expect(await names(`labelSelector=${encodeURIComponent('eks.amazonaws.com/compute-type!=hybrid')}`)).toEqual(['mi-0b', 'mi-0d', 'mi-0e']);
    expect(await names(`labelSelector=${encodeURIComponent('!eks.amazonaws.com/compute-type')}`)).toEqual(['mi-0b', 'mi-0e']);
    expect(await names(`labelSelector=${encodeURIComponent('eks.amazonaws.com/compute-type')}&fieldSelector=${encodeURIComponent('metadata.name=mi-0d')}`)).toEqual(['mi-0d']);
  });

  test('lists pods on a node across namespaces and within one namespace', async () => {
    const keys = async (path: string) =>
      ((await call('GET', path, { token })).body.items as { metadata: { namespace: string; name: string } }[]).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
    expect(await keys(`/api/v1/pods?fieldSelector=${encodeURIComponent('spec.nodeName=mi-0a')}`)).toEqual(['default/web-1', 'kube-system/cilium-x1']);
    expect(await keys(`/api/v1/namespaces/kube-system/pods?fieldSelector=${encodeURIComponent('spec.nodeName=mi-0a')}`)).toEqual(['kube-system/cilium-x1']);
    expect(await keys(`/api/v1/pods?fieldSelector=${encodeURIComponent('spec.nodeName=mi-0e')}`)).toEqual([]);
    expect(await keys(`/api/v1/pods?limit=1&fieldSelector=${encodeURIComponent('spec.nodeName=mi-0a,metadata.namespace=default')}`)).toEqual(['default/web-1']);
  });

  // Kubernetes "API-initiated eviction": a PodDisruptionBudget that would be violated answers 429 TooManyRequests.
  test('an eviction a PodDisruptionBudget refuses is 429 TooManyRequests with a DisruptionBudget cause; the pod stays', async () => {
    state.blockedEvictions = new Map([['default/web-1', 'web']]);
    const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-1', namespace: 'default' } };
    expect(await call('POST', '/api/v1/namespaces/default/pods/web-1/eviction', { token, body: eviction, contentType: 'application/json' })).toEqual({
      status: 429,
      body: status(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
        causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget web needs 1 healthy pods and has 1 currently' }],
      }),
    });
    expect(state.pods!.has('default/web-1')).toBe(true);
    // Other pods are not affected.
    expect((await call('POST', '/api/v1/namespaces/default/pods/web-2/eviction', { token, body: {}, contentType: 'application/json' })).status).toBe(201);
    // Once the budget allows it (the block is lifted), the eviction goes through.
    state.blockedEvictions.delete('default/web-1');
    expect((await call('POST', '/api/v1/namespaces/default/pods/web-1/eviction', { token, body: eviction, contentType: 'application/json' })).status).toBe(201);
    expect(state.pods!.has('default/web-1')).toBe(false);
    expect(k8sCalls()).toEqual([
      ['create pods/eviction', 429],
      ['create pods/eviction', 201],
      ['create pods/eviction', 201],
    ]);
  });

  test('gets, lists and deletes CiliumNodes: 200 Success Status naming the object, then 404 NotFound Status', async () => {
    expect(await call('GET', '/apis/cilium.io/v2/ciliumnodes/mi-0b', { token })).toMatchObject({ status: 200, body: { kind: 'CiliumNode', metadata: { name: 'mi-0b' } } });
    expect((await call('GET', '/apis/cilium.io/v2/ciliumnodes?limit=2', { token })).body).toMatchObject({ kind: 'CiliumNodeList', metadata: { remainingItemCount: 3 } });
    expect(await call('DELETE', '/apis/cilium.io/v2/ciliumnodes/mi-0b', { token })).toEqual({
      status: 200,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: 'mi-0b', group: 'cilium.io', kind: 'ciliumnodes' }, code: 200 },
    });
    expect(state.ciliumNodes.has('mi-0b')).toBe(false);
    expect(await call('DELETE', '/apis/cilium.io/v2/ciliumnodes/mi-0b', { token })).toEqual({
      status: 404,
      body: status(404, 'NotFound', 'ciliumnodes.cilium.io "mi-0b" not found', { name: 'mi-0b', group: 'cilium.io', kind: 'ciliumnodes' }),
    });
    expect(state.nodes.has('mi-0b')).toBe(true); // the Node is a separate object
  });

  test('the teardown role may not touch what it does not need', async () => {
    expect((await call('DELETE', '/api/v1/namespaces/default/pods/web-1', { token })).status).toBe(403);
    expect((await call('PATCH', '/apis/cilium.io/v2/ciliumnodes/mi-0a', { token, body: { spec: {} } })).status).toBe(403);
    expect((await call('POST', '/api/v1/nodes', { token, body: node('mi-0z'), contentType: 'application/json' })).status).toBe(403);
    expect((await call('DELETE', '/api/v1/nodes', { token })).body.message).toBe(
      `nodes is forbidden: User "${CREDS.teardown.principalArn}" cannot deletecollection resource "nodes" in API group "" at the cluster scope`,
    );
    expect(state.pods!.has('default/web-1')).toBe(true);
    expect(state.nodes.size).toBe(5);
  });
});

describe('faults and latency', () => {
  test('an error fault answers with its status and message as a Status, for its action only', async () => {
    const token = await tokenFor(CREDS.admin);
    faults.addFault({ service: 'kubernetes', action: 'patch nodes', kind: 'error', status: 409, message: 'the object has been modified', times: 1 });
    expect((await call('GET', '/api/v1/nodes/mi-0a', { token })).status).toBe(200);
    expect(await call('PATCH', '/api/v1/nodes/mi-0a', { token, body: { spec: { unschedulable: true } } })).toEqual({
      status: 409,
      body: status(409, 'Conflict', 'the object has been modified'),
    });
    expect((await call('PATCH', '/api/v1/nodes/mi-0a', { token, body: { spec: { unschedulable: true } } })).status).toBe(200);
    expect(k8sCalls()).toEqual([
      ['get nodes', 200],
      ['patch nodes', 409],
      ['patch nodes', 200],
    ]);
  });

  test('a timeout fault never answers', async () => {
    faults.addFault({ service: 'kubernetes', action: 'get version', kind: 'timeout' });
    await expect(call('GET', '/version', { timeoutMs: 2_000 })).rejects.toThrow('client timeout');
    expect(state.calls).toEqual([{ service: 'kubernetes', action: 'get version', status: 0, error: 'Timeout', at: expect.any(Number) }]);
  });

  test("the project's reader gives up on a page the server never answers (request timeout), with no partial list", async () => {
    const token = await tokenFor(CREDS.reader);
    faults.addFault({ service: 'kubernetes', action: 'list ciliumnodes', kind: 'timeout', afterCalls: 1 });
    // The first page must still make it on a loaded machine (TLS handshake included), so the deadline is not tight.
    const slow = createCiliumNodeReader({ cluster: clusterInfo(), token, pageSize: 2, requestTimeoutMs: 2_000 });
    await expect(slow.listCiliumNodes()).rejects.toThrow(/list ciliumnodes failed/);
    expect(k8sCalls()).toEqual([
      ['list ciliumnodes', 200],
      ['list ciliumnodes', 0],
    ]);
  });

  test('an empty fault answers a list with 200 and no items while the objects stay; times and afterCalls count lists', async () => {
    const token = await tokenFor(CREDS.reader);
    faults.addFault({ service: 'kubernetes', action: 'list ciliumnodes', kind: 'empty', afterCalls: 1, times: 2 });
    const plain = await call('GET', '/apis/cilium.io/v2/ciliumnodes', { token });
    expect((plain.body.items as unknown[]).length).toBe(5); // afterCalls: 1
    const empty = await call('GET', '/apis/cilium.io/v2/ciliumnodes?limit=2', { token });
    expect(empty).toEqual({ status: 200, body: { apiVersion: 'cilium.io/v2', kind: 'CiliumNodeList', metadata: { resourceVersion: expect.any(String) }, items: [] } });
    expect((await call('GET', '/apis/cilium.io/v2/ciliumnodes/mi-0a', { token })).status).toBe(200); // a get is not a list
    await expect(reader(token).listCiliumNodes()).resolves.toEqual([]); // the second (and last) empty answer
    await expect(reader(token).listCiliumNodes()).resolves.toHaveLength(5);
    expect(state.ciliumNodes.size).toBe(5);
    expect(k8sCalls()).toEqual([
      ['list ciliumnodes', 200],
      ['list ciliumnodes', 200],
      ['get ciliumnodes', 200],
      ['list ciliumnodes', 200],
      ['list ciliumnodes', 200],
      ['list ciliumnodes', 200],
      ['list ciliumnodes', 200],
    ]);
  });

  test('an empty fault mid-pagination ends the listing: that page has no items and no continue', async () => {
    const token = await tokenFor(CREDS.reader);
    faults.addFault({ service: 'kubernetes', action: 'list ciliumnodes', kind: 'empty', afterCalls: 1 });
    const nodes = await reader(token, 2).listCiliumNodes();
    expect(nodes.map((n) => n.name)).toEqual(['mi-0a', 'mi-0b']);
    expect(k8sCalls()).toEqual([
      ['list ciliumnodes', 200],
      ['list ciliumnodes', 200],
    ]);
  });

  test.each(LIST_ACTIONS.map((action) => [action]))('an empty fault on "%s" empties that list only, still behind authentication and RBAC', async (action) => {
    const admin = await tokenFor(CREDS.admin);
    const paths: Record<(typeof LIST_ACTIONS)[number], [path: string, kind: string]> = {
      'list ciliumnodes': ['/apis/cilium.io/v2/ciliumnodes', 'CiliumNodeList'],
      'list nodes': ['/api/v1/nodes', 'NodeList'],
      'list pods': ['/api/v1/namespaces/default/pods', 'PodList'],
    };
    faults.addFault({ service: 'kubernetes', action, kind: 'empty' });
    for (const [other, [path, kind]] of Object.entries(paths)) {
      const out = await call('GET', path, { token: admin });
      expect(out.status).toBe(200);
      expect(out.body.kind).toBe(kind);
      if (other === action) expect(out.body).toMatchObject({ items: [], metadata: { resourceVersion: expect.any(String) } });
      else expect((out.body.items as unknown[]).length).toBeGreaterThan(0);
      expect(out.body.metadata).not.toHaveProperty('continue');
    }
    const [path] = paths[action];
    expect((await call('GET', path)).status).toBe(403); // anonymous: refused, not emptied
    expect((await call('GET', path, { token: 'k8s-aws-v1.bad' })).status).toBe(401);
  });

  test('latency delays the answer', async () => {
    faults.setLatency([{ service: 'kubernetes', action: 'get version', fixedMs: 150 }]);
    const t0 = performance.now();
    expect((await call('GET', '/version')).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
  });
});
