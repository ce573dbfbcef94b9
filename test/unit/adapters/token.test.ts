import { inspect } from 'node:util';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { EksTokenProvider, TOKEN_PREFIX, toExecCredential } from '../../../functions/adapters/token.js';
import { validateEksToken, verifyEksTokenSignature } from '../../localcloud/token-rules.js';

const REGION = 'us-west-2';
const CLUSTER = 'hybrid-lab';
const ROLE_ARN = 'arn:aws:iam::111122223333:role/eks-hybrid-routes-reader';
const T0 = new Date('2030-01-01T00:00:00Z');
const MIN = 60_000;
const ASSUMED = {
  AccessKeyId: 'ASIAASSUMEDEXAMPLE01',
  SecretAccessKey: 'assumed/Secret+Key/EXAMPLEKEY0123456789',
  SessionToken: 'FwoGZXIvYXdzEXAMPLE/session+token==',
  Expiration: new Date(T0.getTime() + 60 * MIN),
};
const BASE = { accessKeyId: 'AKIABASEEXAMPLE00001', secretAccessKey: 'base/Secret+Key/EXAMPLEKEY000000000000' };
const ENDPOINT_ENV = ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_STS', 'AWS_USE_FIPS_ENDPOINT', 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS'];

const stsMock = mockClient(STSClient);
let clock: number;
const now = () => new Date(clock);
const savedEnv: Record<string, string | undefined> = {};

beforeEach(() => {
  clock = T0.getTime();
  stsMock.reset();
  stsMock.on(AssumeRoleCommand).resolves({ Credentials: ASSUMED });
  for (const k of ENDPOINT_ENV) {
    savedEnv[k] = process.env[k];
    delete process.env[k];
  }
});
afterEach(() => {
  for (const k of ENDPOINT_ENV) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});
afterAll(() => stsMock.restore());

const stsClient = (extra: ConstructorParameters<typeof STSClient>[0] = {}) =>
  new STSClient({ region: REGION, credentials: BASE, ...extra });
const provider = (extra: Partial<ConstructorParameters<typeof EksTokenProvider>[0]> = {}) =>
  new EksTokenProvider({ region: REGION, sts: stsClient(), readerRoleArn: ROLE_ARN, now, ...extra });
const decode = (token: string) => new URL(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'));
const encode = (url: string) => TOKEN_PREFIX + Buffer.from(url).toString('base64url');

describe('EksTokenProvider: the token', () => {
  test('is k8s-aws-v1. + unpadded base64url of a presigned URL that EKS would accept', async () => {
    const { token, expiresAt } = await provider().getToken(CLUSTER);
    expect(token.startsWith(TOKEN_PREFIX)).toBe(true);
    const body = token.slice(TOKEN_PREFIX.length);
    expect(body).toMatch(/^[A-Za-z0-9_-]+$/); // URL alphabet only: no '+', '/' or '=' padding
    expect(validateEksToken(token, { clusterName: CLUSTER, region: REGION, now: T0 })).toEqual({ ok: true, url: decode(token) });
    expect(expiresAt).toEqual(new Date(T0.getTime() + 14 * MIN));
  });

  test('decodes to the regional GetCallerIdentity URL with x-k8s-aws-id signed, not in the query', async () => {
    const url = decode((await provider().getToken(CLUSTER)).token);
    const q = url.searchParams;
    expect(url.protocol).toBe('https:');
    expect(url.host).toBe('sts.us-west-2.amazonaws.com');
    expect(url.pathname).toBe('/');
    expect(q.get('Action')).toBe('GetCallerIdentity');
    expect(q.get('Version')).toBe('2011-06-15');
    expect(q.get('X-Amz-Expires')).toBe('60');
    expect(q.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(q.get('X-Amz-Date')).toBe('20300101T000000Z');
    expect(q.get('X-Amz-Credential')).toBe(`${ASSUMED.AccessKeyId}/20300101/us-west-2/sts/aws4_request`);
    expect(q.get('X-Amz-Security-Token')).toBe(ASSUMED.SessionToken);
    expect(q.get('X-Amz-SignedHeaders')?.split(';')).toEqual(['host', 'x-k8s-aws-id']);
    expect(q.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect([...q.keys()].map((k) => k.toLowerCase())).not.toContain('x-k8s-aws-id');
  });

  test('carries a SigV4 signature that re-signing reproduces, and only for that cluster and key', async () => {
    const { token } = await provider().getToken(CLUSTER);
    const secretAccessKey = ASSUMED.SecretAccessKey;
    await expect(verifyEksTokenSignature(token, { clusterName: CLUSTER, secretAccessKey })).resolves.toBe(true);
    await expect(verifyEksTokenSignature(token, { clusterName: 'other', secretAccessKey })).resolves.toBe(false);
    await expect(verifyEksTokenSignature(token, { clusterName: CLUSTER, secretAccessKey: BASE.secretAccessKey })).resolves.toBe(false);
    const tamper = (edit: (u: URL) => void) => {
      const u = decode(token);
      edit(u);
      return encode(u.href);
    };
    const flip = (s: string) => (s.startsWith('0') ? '1' : '0') + s.slice(1);
    for (const forged of [
      tamper((u) => u.searchParams.set('X-Amz-Signature', flip(u.searchParams.get('X-Amz-Signature')!))),
      tamper((u) => u.searchParams.set('X-Amz-Date', '20300101T000100Z')),
      tamper((u) => u.searchParams.set('X-Amz-Expires', '900')),
      tamper((u) => u.searchParams.set('X-Amz-SignedHeaders', 'host')),
      tamper((u) => u.searchParams.append('Extra', '1')),
      tamper((u) => (u.host = 'sts.us-east-1.amazonaws.com')),
    ]) {
      await expect(verifyEksTokenSignature(forged, { clusterName: CLUSTER, secretAccessKey })).resolves.toBe(false);
    }
  });

  test('is signed with assumed-role credentials: AssumeRole(role ARN, default session name, 900 s)', async () => {
    await provider().getToken(CLUSTER);
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: ROLE_ARN,
      RoleSessionName: 'eks-hybrid-routes',
      DurationSeconds: 900,
    });
    await provider({ roleSessionName: 'custom' }).getToken(CLUSTER);
    expect(stsMock).toHaveReceivedNthCommandWith(2, AssumeRoleCommand, { RoleSessionName: 'custom' });
  });

  test("without a reader role, is signed with the STS client's own credentials", async () => {
    const { token } = await new EksTokenProvider({ region: REGION, sts: stsClient(), now }).getToken(CLUSTER);
    const q = decode(token).searchParams;
    expect(q.get('X-Amz-Credential')).toMatch(new RegExp(`^${BASE.accessKeyId}/`));
    expect(q.has('X-Amz-Security-Token')).toBe(false);
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 0);
    await expect(verifyEksTokenSignature(token, { clusterName: CLUSTER, secretAccessKey: BASE.secretAccessKey })).resolves.toBe(true);
  });

  test('fails when AssumeRole fails, and the failure is not cached', async () => {
    stsMock.on(AssumeRoleCommand).rejectsOnce(new Error('AccessDenied')).resolves({ Credentials: ASSUMED });
    const p = provider();
    await expect(p.getToken(CLUSTER)).rejects.toThrow('AccessDenied');
    await expect(p.getToken(CLUSTER)).resolves.toMatchObject({ token: expect.stringMatching(/^k8s-aws-v1\./) });
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  test('fails when AssumeRole returns no credentials', async () => {
    stsMock.on(AssumeRoleCommand).resolves({});
    await expect(provider().getToken(CLUSTER)).rejects.toThrow(`AssumeRole ${ROLE_ARN} returned no credentials`);
  });
});

describe('EksTokenProvider: caching', () => {
  test('reuses the token until 60 s before expiresAt, then signs a new one', async () => {
    const p = provider();
    const first = await p.getToken(CLUSTER);
    clock = T0.getTime() + 13 * MIN - 1;
    expect(await p.getToken(CLUSTER)).toBe(first);
    clock = T0.getTime() + 13 * MIN;
    const second = await p.getToken(CLUSTER);
    expect(second.token).not.toBe(first.token);
    expect(decode(second.token).searchParams.get('X-Amz-Date')).toBe('20300101T001300Z');
    expect(second.expiresAt).toEqual(new Date(clock + 14 * MIN));
    // The assumed credentials (valid 60 min) were reused for the second signing.
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
  });

  test('concurrent callers share one signing; each cluster has its own token', async () => {
    const p = provider();
    const [a, b, c] = await Promise.all([p.getToken(CLUSTER), p.getToken(CLUSTER), p.getToken('other')]);
    expect(a).toBe(b);
    expect(c.token).not.toBe(a.token);
    expect(validateEksToken(c.token, { region: REGION, now: T0 }).ok).toBe(true);
    await expect(verifyEksTokenSignature(c.token, { clusterName: 'other', secretAccessKey: ASSUMED.SecretAccessKey })).resolves.toBe(true);
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
  });

  test('re-assumes the role 5 min before the credentials expire; a token never outlives its credentials', async () => {
    stsMock
      .on(AssumeRoleCommand)
      .resolvesOnce({ Credentials: { ...ASSUMED, Expiration: new Date(T0.getTime() + 15 * MIN) } })
      .resolves({ Credentials: { ...ASSUMED, AccessKeyId: 'ASIASECONDEXAMPLE002', Expiration: new Date(T0.getTime() + 30 * MIN) } });
    const p = provider();
    expect((await p.getToken(CLUSTER)).expiresAt).toEqual(new Date(T0.getTime() + 14 * MIN));
    expect(await p.getToken('second-cluster')).toBeDefined(); // at T0: credentials still fresh
    clock = T0.getTime() + 10 * MIN; // 5 min before the first credentials expire
    const t = await p.getToken('third-cluster');
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
    expect(decode(t.token).searchParams.get('X-Amz-Credential')).toMatch(/^ASIASECONDEXAMPLE002\//);
    expect(t.expiresAt).toEqual(new Date(clock + 14 * MIN));

    stsMock.reset();
    stsMock.on(AssumeRoleCommand).resolves({ Credentials: { ...ASSUMED, Expiration: new Date(T0.getTime() + 8 * MIN) } });
    clock = T0.getTime();
    expect((await provider().getToken(CLUSTER)).expiresAt).toEqual(new Date(T0.getTime() + 8 * MIN));
  });
});

describe('EksTokenProvider: which STS URL is presigned', () => {
  const hostOf = async (p: EksTokenProvider) => decode((await p.getToken(CLUSTER)).token).host;

  test('the stsEndpoint option wins', async () => {
    process.env.AWS_ENDPOINT_URL_STS = 'https://sts.env.example';
    await expect(hostOf(provider({ stsEndpoint: 'https://sts.us-west-2.amazonaws.com' }))).resolves.toBe('sts.us-west-2.amazonaws.com');
  });

  test("the client's explicit endpoint, then AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL, are honoured like the SDK does", async () => {
    await expect(hostOf(provider({ sts: stsClient({ endpoint: 'https://sts.explicit.example' }) }))).resolves.toBe('sts.explicit.example');
    process.env.AWS_ENDPOINT_URL = 'https://all.env.example';
    await expect(hostOf(provider({ sts: stsClient() }))).resolves.toBe('all.env.example');
    process.env.AWS_ENDPOINT_URL_STS = 'https://sts.env.example:8443';
    await expect(hostOf(provider({ sts: stsClient() }))).resolves.toBe('sts.env.example:8443');
    process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = 'true';
    await expect(hostOf(provider({ sts: stsClient() }))).resolves.toBe('sts.us-west-2.amazonaws.com');
  });

  test('otherwise the regional endpoint of the partition (never the global one)', async () => {
    await expect(hostOf(provider({ region: 'cn-north-1', sts: stsClient({ region: 'cn-north-1' }) }))).resolves.toBe(
      'sts.cn-north-1.amazonaws.com.cn',
    );
    await expect(hostOf(provider({ region: 'us-east-1', sts: stsClient({ region: 'us-east-1' }) }))).resolves.toBe(
      'sts.us-east-1.amazonaws.com',
    );
  });
});

describe('validateEksToken', () => {
  const DATE = '20300101T000000Z';
  const url = (query: string, base = 'https://sts.us-west-2.amazonaws.com/') => `${base}?${query}`;
  const GOOD =
    'Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256' +
    `&X-Amz-Credential=AKIDEXAMPLE%2F20300101%2Fus-west-2%2Fsts%2Faws4_request&X-Amz-Date=${DATE}` +
    '&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=' + 'ab'.repeat(32);
  const check = (token: string, at = T0, region = REGION) => validateEksToken(token, { clusterName: CLUSTER, region, now: at });

  test('accepts a well-formed token, and the edges the authenticator accepts', () => {
    expect(check(encode(url(GOOD)))).toMatchObject({ ok: true });
    expect(check(encode(url(GOOD, 'https://sts.amazonaws.com/')))).toMatchObject({ ok: true });
    expect(check(encode(url(GOOD.replace('Expires=60', 'Expires=0'))))).toMatchObject({ ok: true });
    expect(check(encode(url(GOOD.replace('Expires=60', 'Expires=900'))))).toMatchObject({ ok: true });
    expect(check(encode(url(GOOD.replace('Action=', 'action='))))).toMatchObject({ ok: true }); // keys are case-insensitive
    expect(check(encode(url(GOOD)), new Date(T0.getTime() + 15 * MIN))).toMatchObject({ ok: true });
    expect(check(encode(url(GOOD, 'https://sts.cn-north-1.amazonaws.com.cn/')), T0, 'cn-north-1')).toMatchObject({ ok: true });
  });

  test.each<[string, string, RegExp]>([
    ['longer than 4096 bytes', encode(url(`${GOOD}&Version=${'x'.repeat(4096)}`)), /too large/],
    ['wrong prefix', 'k8s-aws-v2.' + encode(url(GOOD)).slice(TOKEN_PREFIX.length), /prefix/],
    ['base64 padding', encode(url(GOOD)) + '==', /base64url/],
    ['standard base64 alphabet', TOKEN_PREFIX + Buffer.from(url(GOOD) + '&??>').toString('base64').replace(/=+$/, ''), /base64url/],
    ['http scheme', encode(url(GOOD, 'http://sts.us-west-2.amazonaws.com/')), /scheme/],
    ['foreign host', encode(url(GOOD, 'https://evil.example/')), /hostname/],
    ['STS host of another region', encode(url(GOOD, 'https://sts.us-east-1.amazonaws.com/')), /hostname/],
    ['STS host as a prefix', encode(url(GOOD, 'https://sts.us-west-2.amazonaws.com.evil.example/')), /hostname/],
    ['host with a port', encode(url(GOOD, 'https://sts.us-west-2.amazonaws.com:8443/')), /hostname/],
    ['China host outside China', encode(url(GOOD, 'https://sts.us-west-2.amazonaws.com.cn/')), /hostname/],
    ['path other than /', encode(url(GOOD, 'https://sts.us-west-2.amazonaws.com/foo')), /path/],
    ['empty path', encode(url(GOOD, 'https://sts.us-west-2.amazonaws.com')), /path/],
    ['unknown query parameter', encode(url(`${GOOD}&X-Amz-User-Agent=x`)), /non-whitelisted.*X-Amz-User-Agent/],
    ['x-k8s-aws-id hoisted into the query', encode(url(`${GOOD}&x-k8s-aws-id=${CLUSTER}`)), /non-whitelisted/],
    ['repeated parameter', encode(url(`${GOOD}&Version=2011-06-15`)), /more than once/],
    ['repeated parameter, other case', encode(url(`${GOOD}&action=GetCallerIdentity`)), /more than once/],
    ['other action', encode(url(GOOD.replace('GetCallerIdentity', 'AssumeRole'))), /action/],
    ['x-k8s-aws-id not signed', encode(url(GOOD.replace('host%3Bx-k8s-aws-id', 'host'))), /did not sign/],
    ['no X-Amz-Expires', encode(url(GOOD.replace('&X-Amz-Expires=60', ''))), /X-Amz-Expires/],
    ['X-Amz-Expires above 900', encode(url(GOOD.replace('Expires=60', 'Expires=901'))), /X-Amz-Expires/],
    ['negative X-Amz-Expires', encode(url(GOOD.replace('Expires=60', 'Expires=-1'))), /X-Amz-Expires/],
    ['non-numeric X-Amz-Expires', encode(url(GOOD.replace('Expires=60', 'Expires=6O'))), /X-Amz-Expires/],
    ['no X-Amz-Date', encode(url(GOOD.replace(`&X-Amz-Date=${DATE}`, ''))), /must be present/],
    ['malformed X-Amz-Date', encode(url(GOOD.replace(DATE, '20301301T000000Z'))), /malformed X-Amz-Date/],
  ])('rejects %s', (_name, token, reason) => {
    const result = check(token);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  test('rejects a token whose X-Amz-Date is more than 15 minutes old', () => {
    const result = check(encode(url(GOOD)), new Date(T0.getTime() + 15 * MIN + 1000));
    expect(result).toEqual({ ok: false, reason: 'X-Amz-Date parameter is expired' });
  });

  test('with stsEndpoint, accepts exactly that host (http allowed for it) instead of the AWS STS hosts', () => {
    const local = new URL('http://127.0.0.1:4566');
    const at = (token: string) => validateEksToken(token, { region: REGION, now: T0, stsEndpoint: local });
    expect(at(encode(url(GOOD, 'http://127.0.0.1:4566/')))).toMatchObject({ ok: true });
    expect(at(encode(url(GOOD, 'https://127.0.0.1:4566/')))).toMatchObject({ ok: true });
    expect(at(encode(url(GOOD)))).toEqual({ ok: false, reason: 'unexpected hostname "sts.us-west-2.amazonaws.com"' });
    expect(at(encode(url(GOOD, 'http://127.0.0.1:4567/')))).toEqual({ ok: false, reason: 'unexpected hostname "127.0.0.1:4567"' });
    expect(at(encode(url(GOOD, 'http://localhost:4566/')))).toEqual({ ok: false, reason: 'unexpected hostname "localhost:4566"' });
    expect(at(encode(url(GOOD, 'ftp://127.0.0.1:4566/')))).toEqual({ ok: false, reason: 'unexpected scheme "ftp"' });
    // Every other check still applies.
    expect(at(encode(url(GOOD, 'http://127.0.0.1:4566/sts')))).toEqual({ ok: false, reason: 'unexpected path' });
    expect(at(encode(url(GOOD.replace('host%3Bx-k8s-aws-id', 'host'), 'http://127.0.0.1:4566/')))).toMatchObject({ ok: false, reason: /did not sign/ });
    // Without the option, the local host and plain http stay refused.
    expect(check(encode(url(GOOD, 'https://127.0.0.1:4566/')))).toMatchObject({ ok: false, reason: /hostname/ });
    expect(check(encode(url(GOOD, 'http://127.0.0.1:4566/')))).toMatchObject({ ok: false, reason: /scheme/ });
  });

  test('reasons never repeat the token', () => {
    const token = encode(url(GOOD.replace('GetCallerIdentity', 'AssumeRole')));
    expect(JSON.stringify(check(token))).not.toContain(token.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + 40));
  });
});

describe('toExecCredential and redaction', () => {
  test('prints what `aws eks get-token` prints: v1beta1 ExecCredential, expiry in whole UTC seconds', async () => {
    clock = T0.getTime() + 123; // milliseconds are dropped, as strftime('%Y-%m-%dT%H:%M:%SZ') does
    const bearer = await provider().getToken(CLUSTER);
    const cred = toExecCredential(bearer);
    expect(cred).toEqual({
      kind: 'ExecCredential',
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      spec: {},
      status: { expirationTimestamp: '2030-01-01T00:14:00Z', token: bearer.token },
    });
    expect(Object.keys(cred)).toEqual(['kind', 'apiVersion', 'spec', 'status']);
    expect(Object.keys(cred.status)).toEqual(['expirationTimestamp', 'token']);
  });

  test('a BearerToken does not reveal its token when serialized, inspected or interpolated', async () => {
    const bearer = await provider().getToken(CLUSTER);
    const secretPart = bearer.token.slice(TOKEN_PREFIX.length);
    expect(bearer.token).toContain(secretPart);
    for (const shown of [JSON.stringify(bearer), inspect(bearer), `${String(bearer)}`, inspect({ nested: bearer }, { depth: 5 })]) {
      expect(shown).not.toContain(secretPart);
      expect(shown).toContain('[redacted]');
    }
  });
});
