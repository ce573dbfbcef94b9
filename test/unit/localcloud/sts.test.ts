import { loadScenario } from '../../localcloud/scenario.js';
import { AwsError, type AwsRequest, type AwsResponse } from '../../localcloud/protocol.js';
import type { CloudState } from '../../localcloud/state.js';
import { authenticate, identityOf, stsHandler } from '../../localcloud/sts.js';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/eks-hybrid-routes-reader`;

interface Signer {
  accessKeyId?: string;
  sessionToken?: string;
}

function post(params: Record<string, string>, signer: Signer = { accessKeyId: 'AKIDLOCALCLOUD' }): AwsRequest {
  return {
    service: 'sts',
    method: 'POST',
    path: '/',
    query: new URLSearchParams(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signer.sessionToken ? { 'x-amz-security-token': signer.sessionToken } : {}) },
    body: new URLSearchParams({ Version: '2011-06-15', ...params }).toString(),
    ...(signer.accessKeyId ? { accessKeyId: signer.accessKeyId } : {}),
  };
}

async function serve(state: CloudState, req: AwsRequest): Promise<{ status: number; body: string }> {
  let response: AwsResponse;
  let action = 'Unknown';
  try {
    action = stsHandler.actionOf(req);
    response = await stsHandler.handle(req, action, state);
  } catch (error) {
    if (!(error instanceof AwsError)) throw error;
    response = stsHandler.errorResponse(error, action);
  }
  return { status: response.status, body: response.body };
}

const XML_ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&amp;': '&', '&apos;': "'", '&quot;': '"' };

/** The (unescaped) text of the first `<tag>` in an XML document. */
const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1]?.replace(/&(lt|gt|amp|apos|quot);/g, (e) => XML_ENTITIES[e]!);

async function assumeRole(state: CloudState, params: Record<string, string> = {}, signer?: Signer) {
  return serve(state, post({ Action: 'AssumeRole', RoleArn: ROLE, RoleSessionName: 'eks-hybrid-routes', DurationSeconds: '900', ...params }, signer));
}

let state: CloudState;
beforeEach(() => {
  state = loadScenario();
});

describe('actionOf', () => {
  test('reads Action from a form-encoded POST body or from the query of a GET', () => {
    expect(stsHandler.actionOf(post({ Action: 'AssumeRole' }))).toBe('AssumeRole');
    const get: AwsRequest = { ...post({}), method: 'GET', body: '', query: new URLSearchParams('Action=GetCallerIdentity&Version=2011-06-15') };
    expect(stsHandler.actionOf(get)).toBe('GetCallerIdentity');
  });

  test('an unknown action or version is InvalidAction; no action is MissingAction', () => {
    expect(() => stsHandler.actionOf(post({ Action: 'GetSessionToken' }))).toThrow(expect.objectContaining({ code: 'InvalidAction', status: 400 }));
    expect(() => stsHandler.actionOf(post({ Action: 'AssumeRole', Version: '2010-01-01' }))).toThrow(expect.objectContaining({ code: 'InvalidAction' }));
    expect(() => stsHandler.actionOf(post({}))).toThrow(expect.objectContaining({ code: 'MissingAction' }));
  });
});

describe('GetCallerIdentity', () => {
  test('names the base credentials: the account admin user, with an AIDA unique id', async () => {
    const { status, body } = await serve(state, post({ Action: 'GetCallerIdentity' }));
    expect(status).toBe(200);
    expect(body).toContain('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">');
    expect(tag(body, 'Arn')).toBe(`arn:aws:iam::${ACCOUNT}:user/localcloud-admin`);
    expect(tag(body, 'Account')).toBe(ACCOUNT);
    expect(tag(body, 'UserId')).toMatch(/^AIDA[A-Z2-7]{17}$/);
    expect(tag(body, 'RequestId')).toMatch(/^[0-9a-f-]{36}$/);
    // Stable: the same principal always has the same unique id.
    expect(tag((await serve(state, post({ Action: 'GetCallerIdentity' }))).body, 'UserId')).toBe(tag(body, 'UserId'));
  });

  test('an unknown access key is InvalidClientTokenId (403), an unsigned request MissingAuthenticationToken', async () => {
    const unknown = await serve(state, post({ Action: 'GetCallerIdentity' }, { accessKeyId: 'AKIAUNKNOWN' }));
    expect(unknown.status).toBe(403);
    expect(unknown.body).toContain('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">');
    expect([tag(unknown.body, 'Type'), tag(unknown.body, 'Code')]).toEqual(['Sender', 'InvalidClientTokenId']);
    const unsigned = await serve(state, post({ Action: 'GetCallerIdentity' }, {}));
    expect([unsigned.status, tag(unsigned.body, 'Code')]).toEqual([403, 'MissingAuthenticationToken']);
  });

  test('a presigned GET names its key in X-Amz-Credential and its session token in X-Amz-Security-Token', async () => {
    const assumed = await assumeRole(state);
    const key = tag(assumed.body, 'AccessKeyId')!;
    const query = new URLSearchParams({
      Action: 'GetCallerIdentity',
      Version: '2011-06-15',
      'X-Amz-Credential': `${key}/20250101/us-west-2/sts/aws4_request`,
      'X-Amz-Security-Token': tag(assumed.body, 'SessionToken')!,
    });
    const req: AwsRequest = { service: 'sts', method: 'GET', path: '/', query, headers: {}, body: '' };
    const { status, body } = await serve(state, req);
    expect(status).toBe(200);
    expect(tag(body, 'Arn')).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/eks-hybrid-routes-reader/eks-hybrid-routes`);
  });
});

describe('AssumeRole', () => {
  test('issues ASIA credentials for the role session and remembers them', async () => {
    const before = Date.now();
    const { status, body } = await assumeRole(state);
    expect(status).toBe(200);
    const accessKeyId = tag(body, 'AccessKeyId')!;
    expect(accessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(tag(body, 'SecretAccessKey')!.length).toBeGreaterThanOrEqual(40);
    expect(tag(body, 'SessionToken')!.length).toBeGreaterThan(100);
    const expiration = Date.parse(tag(body, 'Expiration')!);
    expect(expiration).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 899_000);
    expect(expiration).toBeLessThanOrEqual(Date.now() + 900_000);
    expect(tag(body, 'Arn')).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/eks-hybrid-routes-reader/eks-hybrid-routes`);
    expect(tag(body, 'AssumedRoleId')).toMatch(/^AROA[A-Z2-7]{17}:eks-hybrid-routes$/);
    expect(state.credentials.get(accessKeyId)).toEqual({
      accessKeyId,
      secretAccessKey: tag(body, 'SecretAccessKey'),
      sessionToken: tag(body, 'SessionToken'),
      principalArn: `arn:aws:sts::${ACCOUNT}:assumed-role/eks-hybrid-routes-reader/eks-hybrid-routes`,
      roleArn: ROLE,
      expiration: new Date(expiration),
    });
  });

  test('the issued credentials are recognised by GetCallerIdentity only with their session token', async () => {
    const assumed = await assumeRole(state);
    const signer = { accessKeyId: tag(assumed.body, 'AccessKeyId')!, sessionToken: tag(assumed.body, 'SessionToken')! };
    const who = await serve(state, post({ Action: 'GetCallerIdentity' }, signer));
    expect(tag(who.body, 'Arn')).toBe(tag(assumed.body, 'Arn'));
    expect(tag(who.body, 'UserId')).toBe(tag(assumed.body, 'AssumedRoleId'));
    const noToken = await serve(state, post({ Action: 'GetCallerIdentity' }, { accessKeyId: signer.accessKeyId }));
    expect([noToken.status, tag(noToken.body, 'Code')]).toEqual([403, 'InvalidClientTokenId']);
  });

  test('expired credentials are ExpiredToken', async () => {
    const assumed = await assumeRole(state);
    const accessKeyId = tag(assumed.body, 'AccessKeyId')!;
    state.credentials.get(accessKeyId)!.expiration = new Date(Date.now() - 1000);
    const who = await serve(state, post({ Action: 'GetCallerIdentity' }, { accessKeyId, sessionToken: tag(assumed.body, 'SessionToken')! }));
    expect([who.status, tag(who.body, 'Code')]).toEqual([403, 'ExpiredToken']);
  });

  test('any role in the account is assumable; a role in another account is AccessDenied (403)', async () => {
    expect((await assumeRole(state, { RoleArn: `arn:aws:iam::${ACCOUNT}:role/some/path/AnyRole` })).status).toBe(200);
    const other = await assumeRole(state, { RoleArn: 'arn:aws:iam::999999999999:role/eks-hybrid-routes-reader' });
    expect([other.status, tag(other.body, 'Code')]).toEqual([403, 'AccessDenied']);
    expect(tag(other.body, 'Message')).toBe(
      `User: arn:aws:iam::${ACCOUNT}:user/localcloud-admin is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::999999999999:role/eks-hybrid-routes-reader`,
    );
  });

  test.each([
    ['DurationSeconds below 900', { DurationSeconds: '899' }],
    ['DurationSeconds above 43200', { DurationSeconds: '43201' }],
    ['DurationSeconds above the role maximum (1 h)', { DurationSeconds: '7200' }],
    ['a session name with a space', { RoleSessionName: 'my session' }],
    ['a one-character session name', { RoleSessionName: 'x' }],
    ['a short RoleArn', { RoleArn: 'arn:aws:iam::1:r' }],
    ['a RoleArn that is not a role', { RoleArn: `arn:aws:iam::${ACCOUNT}:user/localcloud-admin` }],
  ])('%s is a ValidationError (400)', async (_name, params) => {
    const { status, body } = await assumeRole(state, params);
    expect([status, tag(body, 'Type'), tag(body, 'Code')]).toEqual([400, 'Sender', 'ValidationError']);
  });

  test('a missing RoleSessionName is a ValidationError naming the field', async () => {
    const { body } = await serve(state, post({ Action: 'AssumeRole', RoleArn: ROLE }));
    expect(tag(body, 'Message')).toBe("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null");
  });

  test('role chaining is limited to one hour', async () => {
    const first = await assumeRole(state);
    const signer = { accessKeyId: tag(first.body, 'AccessKeyId')!, sessionToken: tag(first.body, 'SessionToken')! };
    expect((await assumeRole(state, { DurationSeconds: '3600' }, signer)).status).toBe(200);
    const long = await assumeRole(state, { DurationSeconds: '7200' }, signer);
    expect(tag(long.body, 'Message')).toBe('The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
  });

  test('an unknown caller cannot assume a role', async () => {
    const { status, body } = await assumeRole(state, {}, { accessKeyId: 'AKIAUNKNOWN' });
    expect([status, tag(body, 'Code')]).toEqual([403, 'InvalidClientTokenId']);
  });
});

describe('authenticate / identityOf (shared with the other local services)', () => {
  test('identify the root user by account id', () => {
    expect(identityOf({ accessKeyId: 'x', secretAccessKey: 'y', principalArn: `arn:aws:iam::${ACCOUNT}:root` })).toEqual({ account: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, userId: ACCOUNT });
  });

  test('refuse a wrong session token', () => {
    state.credentials.set('ASIAEXAMPLE', { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 's', sessionToken: 'good', principalArn: `arn:aws:sts::${ACCOUNT}:assumed-role/r/s` });
    expect(authenticate(state, 'ASIAEXAMPLE', 'good').accessKeyId).toBe('ASIAEXAMPLE');
    expect(() => authenticate(state, 'ASIAEXAMPLE', 'bad')).toThrow(expect.objectContaining({ code: 'InvalidClientTokenId', status: 403 }));
  });
});

test('server faults render as Receiver errors', () => {
  const response = stsHandler.errorResponse(new AwsError('InternalFailure', 'boom', 500), 'AssumeRole');
  expect([response.status, tag(response.body, 'Type'), tag(response.body, 'Code')]).toEqual([500, 'Receiver', 'InternalFailure']);
});
