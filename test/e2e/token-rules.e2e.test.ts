/**
 * Who may read the cluster, end to end: the real CLI (`runCli`, in-process, default deps: real SDK clients
 * reaching the local cloud through AWS_ENDPOINT_URL) and the real token provider and CiliumNode reader
 * against the local Kubernetes API, which authenticates `k8s-aws-v1` tokens as EKS does and authorizes
 * them through RBAC. Whatever is refused, nothing in EC2 may change.
 */
import { STSClient } from '@aws-sdk/client-sts';
import { buildQueryString } from '@smithy/core/protocols';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { createCiliumNodeReader } from '../../functions/adapters/kubernetes.js';
import { EksTokenProvider, TOKEN_PREFIX } from '../../functions/adapters/token.js';
import { runCli } from '../../functions/cli/main.js';
import type { ClusterInfo } from '../../functions/core/types.js';
import { type LocalCloud, LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY, startLocalCloud } from '../localcloud/server.js';
import { TABLES, cliEnv, control, expectedPodRoutes, mutatingCalls, podRoutes, useCloudEnv } from './e2e-support.js';

const NO_RBAC_ROLE = 'arn:aws:iam::123456789012:role/no-rbac';
const BASE = { accessKeyId: LOCAL_ACCESS_KEY_ID, secretAccessKey: LOCAL_SECRET_ACCESS_KEY };

let cloud: LocalCloud;
let restoreEnv: (() => void) | undefined;

beforeEach(async () => {
  cloud = await startLocalCloud();
  restoreEnv = useCloudEnv(cloud);
});
afterEach(async () => {
  restoreEnv?.();
  restoreEnv = undefined;
  await cloud?.stop();
});

async function cli(args: string[], extraEnv: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: cliEnv(cloud, extraEnv),
  });
  return { code, stdout, stderr };
}

const k8sCalls = () => cloud.state.calls.filter((call) => call.service === 'kubernetes');

describe('the CLI', () => {
  test('with the reader role (READER_ROLE_ARN): plan shows the 9 creates and changes nothing; apply converges', async () => {
    expect(cloud.env.READER_ROLE_ARN).toBe('arn:aws:iam::123456789012:role/eks-hybrid-routes-reader');
    const plan = await cli(['plan', '--json']);
    expect(plan).toMatchObject({ code: 0, stderr: '' });
    const report = JSON.parse(plan.stdout) as { status: string; actions: { action: string }[] };
    expect(report.status).toBe('ok');
    expect(report.actions.filter((a) => a.action === 'create')).toHaveLength(9);
    expect(mutatingCalls(cloud.state)).toEqual([]);
    // The token was signed with the reader role's session, and that session may list CiliumNodes.
    expect(cloud.state.calls.filter((c) => c.service === 'sts').map((c) => `${c.action} ${c.status}`)).toEqual(['AssumeRole 200']);
    expect(k8sCalls().map((c) => `${c.action} ${c.status}`)).toEqual(['list ciliumnodes 200']);

    const apply = await cli(['apply']);
    expect(apply).toMatchObject({ code: 0, stderr: '' });
    for (const table of TABLES) expect(podRoutes(cloud.state, table)).toEqual(expectedPodRoutes(cloud.state));
  });

  test('with a role that has no RBAC binding: exit 1, the error says 403 Forbidden, and no EC2 mutation', async () => {
    const run = await cli(['apply', '--reader-role-arn', NO_RBAC_ROLE]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/403/);
    expect(run.stderr).toMatch(/forbidden/i);
    expect(run.stderr).toContain('assumed-role/no-rbac/');
    expect(k8sCalls().map((c) => `${c.action} ${c.status} ${c.error}`)).toEqual(['list ciliumnodes 403 Forbidden']);
    expect(mutatingCalls(cloud.state)).toEqual([]);
    for (const table of TABLES) expect(podRoutes(cloud.state, table).size).toBe(0);
  });

  test.each([401, 500])('apply with the CiliumNode list failing with %i: exit 1 and no EC2 mutation', async (status) => {
    const fault = await control(cloud, 'POST', 'faults', { service: 'kubernetes', action: 'list ciliumnodes', kind: 'error', status });
    expect(fault.status).toBe(200);
    const run = await cli(['apply']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`list ciliumnodes failed: HTTP ${status}`);
    expect(k8sCalls().every((c) => c.action === 'list ciliumnodes' && c.status === status)).toBe(true);
    expect(k8sCalls().length).toBeGreaterThan(0);
    expect(mutatingCalls(cloud.state)).toEqual([]);
  });
});

describe('Kubernetes API authentication (tokens the server must refuse)', () => {
  const clusterInfo = (): ClusterInfo => ({
    name: cloud.state.cluster.name,
    endpoint: cloud.state.cluster.endpoint,
    certificateAuthorityData: Buffer.from(cloud.state.cluster.caPem).toString('base64'),
    remoteNetworks: { remoteNodeNetworks: cloud.state.cluster.remoteNodeNetworks, remotePodNetworks: cloud.state.cluster.remotePodNetworks },
  });
  const provider = (options: { now?: () => Date } = {}) =>
    new EksTokenProvider({
      region: cloud.region,
      sts: new STSClient({ region: cloud.region, endpoint: cloud.endpoint, credentials: BASE, maxAttempts: 1 }),
      readerRoleArn: cloud.state.cluster.readerRoleArn!,
      stsEndpoint: cloud.endpoint,
      ...options,
    });
  const list = (token: string) => createCiliumNodeReader({ cluster: clusterInfo(), token }).listCiliumNodes();
  const decode = (token: string) => Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8');
  const encode = (url: string) => TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');

  /** The cloud's own reason for a 401, from its call log (never sent to the client). */
  async function expectRefused(token: string, reason: RegExp) {
    cloud.state.calls.length = 0;
    await expect(list(token)).rejects.toMatchObject({ name: 'KubernetesApiError', statusCode: 401 });
    const calls = k8sCalls();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ action: 'list ciliumnodes', status: 401 });
    expect(calls[0]!.error).toMatch(reason);
  }

  /** A presigned GetCallerIdentity URL for the local STS, signed with the base credentials. */
  async function presign(signClusterHeader: boolean): Promise<string> {
    const endpoint = new URL(cloud.endpoint);
    const request = new HttpRequest({
      method: 'GET',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: Number(endpoint.port),
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: endpoint.host, ...(signClusterHeader ? { 'x-k8s-aws-id': cloud.state.cluster.name } : {}) },
    });
    const signer = new SignatureV4({ service: 'sts', region: cloud.region, credentials: BASE, sha256: Hash.bind(null, 'sha256') });
    const signed = await signer.presign(request, { expiresIn: 60, ...(signClusterHeader ? { unhoistableHeaders: new Set(['x-k8s-aws-id']) } : {}) });
    return encode(`${signed.protocol}//${signed.hostname}:${signed.port}${signed.path}?${buildQueryString(signed.query ?? {})}`);
  }

  test('a fresh token for the cluster is accepted (the control case)', async () => {
    const { token } = await provider().getToken(cloud.state.cluster.name);
    const nodes = await list(token);
    expect(nodes.map((n) => n.name).sort()).toEqual(['mi-026d6a261e355fba7', 'mi-0b3c4d5e6f7a80912', 'mi-0c4d5e6f7a8b90a23']);
    // The hand-made presign used below is accepted too when it signs the cluster header.
    expect(await list(await presign(true))).toHaveLength(3);
  });

  test('an expired token (signed 20 minutes ago) is 401', async () => {
    const { token } = await provider({ now: () => new Date(Date.now() - 20 * 60_000) }).getToken(cloud.state.cluster.name);
    await expectRefused(token, /expired/);
  });

  test('a token signed for another cluster name is 401', async () => {
    const { token } = await provider().getToken('some-other-cluster');
    await expectRefused(token, /SignatureDoesNotMatch/);
  });

  test('a token whose X-Amz-Signature was tampered with is 401', async () => {
    const { token } = await provider().getToken(cloud.state.cluster.name);
    const url = decode(token);
    const tampered = url.replace(/(X-Amz-Signature=[0-9a-f]*)([0-9a-f])/, (_, head: string, last: string) => `${head}${last === '0' ? '1' : '0'}`);
    expect(tampered).not.toBe(url);
    await expectRefused(encode(tampered), /SignatureDoesNotMatch/);
  });

  test('a token that does not sign x-k8s-aws-id is 401: dropped from X-Amz-SignedHeaders, or re-signed without it', async () => {
    const { token } = await provider().getToken(cloud.state.cluster.name);
    const url = decode(token);
    expect(url).toContain('X-Amz-SignedHeaders=host%3Bx-k8s-aws-id');
    await expectRefused(encode(url.replace('X-Amz-SignedHeaders=host%3Bx-k8s-aws-id', 'X-Amz-SignedHeaders=host')), /did not sign the x-k8s-aws-id header/);
    await expectRefused(await presign(false), /did not sign the x-k8s-aws-id header/);
  });
});
