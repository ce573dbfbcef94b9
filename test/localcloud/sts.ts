/**
 * Local STS (AWS Query protocol, API version 2011-06-15, signing name `sts`): AssumeRole and
 * GetCallerIdentity over `state.credentials`, so credentials that AssumeRole issues are the ones the
 * cloud then recognises (in GetCallerIdentity, in presigned EKS tokens, in any other service).
 *
 * Followed from the STS API Reference:
 * - "AssumeRole": RoleArn (20–2048 chars), RoleSessionName (2–64 chars, `[\w+=,.@-]*`), DurationSeconds
 *   (900–43200, default 3600, and never more than the role's MaxSessionDuration, which IAM sets to one
 *   hour unless raised: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
 *   role chaining (a role session assuming a role) is capped at one hour (IAM user guide, "Role terms and
 *   concepts": role chaining). Response: Credentials {AccessKeyId `ASIA…`, SecretAccessKey, SessionToken,
 *   Expiration}, AssumedRoleUser {Arn `arn:aws:sts::<account>:assumed-role/<role name>/<session>`,
 *   AssumedRoleId `<role id>:<session>`}. A role in another account is AccessDenied (HTTP 403) here: the
 *   local account trusts only itself. Roles need not exist: any role ARN in the account is assumable.
 * - "GetCallerIdentity": Account, Arn, UserId for the credentials that signed the request (IAM user guide,
 *   "Unique identifiers": users `AIDA…`, roles `AROA…`; an assumed role's UserId is `<role id>:<session>`).
 * - "Common Errors": unknown access key → InvalidClientTokenId (403), expired session → ExpiredToken (403),
 *   unsigned → MissingAuthenticationToken (403); model violations are `ValidationError` (400).
 * Errors use the Query protocol's `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { partition } from '@aws-sdk/util-endpoints';
import { constraintError } from './json-rpc.js';
import { AwsError, type AwsRequest, type AwsResponse, type ServiceHandler, requestId, xmlEscape, xmlResponse } from './protocol.js';
import type { CloudState, LocalCredentials } from './state.js';

export const STS_VERSION = '2011-06-15';
const XMLNS = `https://sts.amazonaws.com/doc/${STS_VERSION}/`;
const ACTIONS = new Set(['AssumeRole', 'GetCallerIdentity']);

/** IAM's default MaxSessionDuration for a role (one hour); local roles keep the default. */
export const LOCAL_ROLE_MAX_SESSION_SECONDS = 3600;
const ROLE_CHAINING_MAX_SECONDS = 3600;
const DEFAULT_DURATION_SECONDS = 3600;

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** IAM unique ids use upper-case letters and the digits 2–7 after their prefix. */
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function randomString(length: number, alphabet: string): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i]! % alphabet.length];
  return out;
}

/** A stable IAM-style unique id (`AIDA…`, `AROA…`) for an ARN: the same ARN always gets the same id. */
function uniqueId(prefix: string, arn: string): string {
  const digest = createHash('sha256').update(arn).digest();
  let out = prefix;
  for (let i = 0; out.length < 21; i++) out += ID_ALPHABET[digest[i]! % ID_ALPHABET.length];
  return out;
}

/** The request's parameters: the query string, plus the form-encoded body of a POST. */
function queryParameters(request: AwsRequest): URLSearchParams {
  const params = new URLSearchParams(request.query);
  if (request.method === 'POST' && request.body.trim() !== '') {
    for (const [key, value] of new URLSearchParams(request.body)) params.set(key, value);
  }
  return params;
}

export interface CallerIdentity {
  account: string;
  arn: string;
  userId: string;
}

/** Account, Arn and UserId for a principal ARN (IAM user, root, or STS assumed role). */
export function identityOf(credentials: LocalCredentials): CallerIdentity {
  const arn = credentials.principalArn;
  const parts = arn.split(':');
  const account = parts[4] ?? '';
  const resource = parts.slice(5).join(':');
  if (resource === 'root') return { account, arn, userId: account };
  const assumed = /^assumed-role\/([^/]+)\/(.+)$/.exec(resource);
  if (assumed) {
    const roleArn = credentials.roleArn ?? `arn:${parts[1]}:iam::${account}:role/${assumed[1]}`;
    return { account, arn, userId: `${uniqueId('AROA', roleArn)}:${assumed[2]}` };
  }
  return { account, arn, userId: uniqueId('AIDA', arn) };
}

/**
 * The credentials that signed a request, checked the way STS checks them: the key must be known, a
 * temporary key must come with its own session token, and must not have expired. Exported for the
 * other local services (the Kubernetes API replays EKS tokens through it).
 */
export function authenticate(state: CloudState, accessKeyId: string | undefined, sessionToken: string | undefined, now = new Date()): LocalCredentials {
  if (!accessKeyId) throw new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
  const credentials = state.credentials.get(accessKeyId);
  if (!credentials) throw new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
  if (credentials.sessionToken !== undefined && credentials.sessionToken !== sessionToken) {
    throw new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
  }
  if (credentials.expiration && credentials.expiration.getTime() <= now.getTime()) {
    throw new AwsError('ExpiredToken', 'The security token included in the request is expired', 403);
  }
  return credentials;
}

/** Access key id and session token from the Authorization header or, for a presigned URL, the query. */
function signingCredentials(request: AwsRequest): { accessKeyId?: string; sessionToken?: string } {
  const accessKeyId = request.accessKeyId ?? request.query.get('X-Amz-Credential')?.split('/')[0];
  const sessionToken = request.headers['x-amz-security-token'] ?? request.query.get('X-Amz-Security-Token') ?? undefined;
  return { ...(accessKeyId ? { accessKeyId } : {}), ...(sessionToken ? { sessionToken } : {}) };
}

function ok(action: string, result: string): AwsResponse {
  return xmlResponse(
    200,
    `<${action}Response xmlns="${XMLNS}">\n  <${action}Result>\n${result}  </${action}Result>\n  <ResponseMetadata>\n    <RequestId>${requestId()}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`,
  );
}

const ROLE_ARN = /^arn:([a-z-]+):iam::(\d{12}):role\/(?:[\u0021-\u007E]*\/)?([\w+=,.@-]{1,64})$/;

function getCallerIdentity(request: AwsRequest, state: CloudState): AwsResponse {
  const { accessKeyId, sessionToken } = signingCredentials(request);
  const identity = identityOf(authenticate(state, accessKeyId, sessionToken));
  return ok(
    'GetCallerIdentity',
    `    <Arn>${xmlEscape(identity.arn)}</Arn>\n    <UserId>${xmlEscape(identity.userId)}</UserId>\n    <Account>${xmlEscape(identity.account)}</Account>\n`,
  );
}

function assumeRole(request: AwsRequest, params: URLSearchParams, state: CloudState): AwsResponse {
  const { accessKeyId, sessionToken } = signingCredentials(request);
  const caller = authenticate(state, accessKeyId, sessionToken);
  const validation = (field: string, value: unknown, constraint: string) => constraintError(field, value, constraint, 'ValidationError');

  const roleArn = params.get('RoleArn');
  const sessionName = params.get('RoleSessionName');
  const durationRaw = params.get('DurationSeconds');
  if (roleArn === null) throw validation('roleArn', undefined, 'Member must not be null');
  if (sessionName === null) throw validation('roleSessionName', undefined, 'Member must not be null');
  if (roleArn.length < 20 || roleArn.length > 2048) throw validation('roleArn', roleArn, 'Member must have length between 20 and 2048');
  if (sessionName.length < 2 || sessionName.length > 64) throw validation('roleSessionName', sessionName, 'Member must have length between 2 and 64');
  if (!/^[\w+=,.@-]*$/.test(sessionName)) throw validation('roleSessionName', sessionName, 'Member must satisfy regular expression pattern: [\\w+=,.@-]*');
  let duration = DEFAULT_DURATION_SECONDS;
  if (durationRaw !== null) {
    duration = Number(durationRaw);
    if (!/^\d+$/.test(durationRaw)) throw new AwsError('ValidationError', `Value '${durationRaw}' at 'durationSeconds' is not a valid integer`, 400);
    if (duration < 900) throw validation('durationSeconds', durationRaw, 'Member must have value greater than or equal to 900');
    if (duration > 43200) throw validation('durationSeconds', durationRaw, 'Member must have value less than or equal to 43200');
  }

  const match = ROLE_ARN.exec(roleArn);
  if (!match) throw new AwsError('ValidationError', `${roleArn} is not a valid role ARN`, 400);
  const [, rolePartition, roleAccount, roleName] = match as unknown as [string, string, string, string];
  const callerIdentity = identityOf(caller);
  if (rolePartition !== partition(state.region).name || roleAccount !== state.accountId) {
    throw new AwsError('AccessDenied', `User: ${callerIdentity.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
  }
  const chaining = /:assumed-role\//.test(caller.principalArn);
  if (chaining && duration > ROLE_CHAINING_MAX_SECONDS) {
    throw new AwsError('ValidationError', 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.', 400);
  }
  if (duration > LOCAL_ROLE_MAX_SESSION_SECONDS) {
    throw new AwsError('ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.', 400);
  }

  const issued: LocalCredentials = {
    accessKeyId: `ASIA${randomString(16, UPPER_ALNUM)}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(300).toString('base64')}`,
    principalArn: `arn:${rolePartition}:sts::${roleAccount}:assumed-role/${roleName}/${sessionName}`,
    roleArn,
    // STS reports whole seconds.
    expiration: new Date(Math.floor(Date.now() / 1000) * 1000 + duration * 1000),
  };
  state.credentials.set(issued.accessKeyId, issued);
  const identity = identityOf(issued);
  return ok(
    'AssumeRole',
    [
      '    <AssumedRoleUser>',
      `      <AssumedRoleId>${xmlEscape(identity.userId)}</AssumedRoleId>`,
      `      <Arn>${xmlEscape(identity.arn)}</Arn>`,
      '    </AssumedRoleUser>',
      '    <Credentials>',
      `      <AccessKeyId>${issued.accessKeyId}</AccessKeyId>`,
      `      <SecretAccessKey>${xmlEscape(issued.secretAccessKey)}</SecretAccessKey>`,
      `      <SessionToken>${xmlEscape(issued.sessionToken)}</SessionToken>`,
      `      <Expiration>${issued.expiration!.toISOString().replace(/\.\d{3}Z$/, 'Z')}</Expiration>`,
      '    </Credentials>',
      '',
    ].join('\n'),
  );
}

export const stsHandler: ServiceHandler = {
  service: 'sts',

  actionOf(request: AwsRequest): string {
    const params = queryParameters(request);
    const action = params.get('Action');
    if (!action) throw new AwsError('MissingAction', 'Missing Action', 400);
    const version = params.get('Version');
    if (!ACTIONS.has(action) || (version !== null && version !== STS_VERSION)) {
      throw new AwsError('InvalidAction', `Could not find operation ${action} for version ${version ?? 'NO_VERSION_SPECIFIED'}`, 400);
    }
    return action;
  },

  handle(request: AwsRequest, action: string, state: CloudState): AwsResponse {
    switch (action) {
      case 'GetCallerIdentity':
        return getCallerIdentity(request, state);
      case 'AssumeRole':
        return assumeRole(request, queryParameters(request), state);
      default:
        throw new AwsError('InvalidAction', `Could not find operation ${action} for version ${STS_VERSION}`, 400);
    }
  },

  errorResponse(error: AwsError): AwsResponse {
    const type = error.status >= 500 ? 'Receiver' : 'Sender';
    return xmlResponse(
      error.status,
      `<ErrorResponse xmlns="${XMLNS}">\n  <Error>\n    <Type>${type}</Type>\n    <Code>${xmlEscape(error.code)}</Code>\n    <Message>${xmlEscape(error.message)}</Message>\n  </Error>\n  <RequestId>${requestId()}</RequestId>\n</ErrorResponse>\n`,
    );
  },
};
