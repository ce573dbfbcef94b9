/**
 * The local cloud's Kubernetes API server: HTTPS on 127.0.0.1 with its own CA, serving the objects the project
 * reads and changes (CiliumNodes, Nodes, Pods, Pod evictions) from CloudState, authenticating `k8s-aws-v1`
 * bearer tokens exactly as EKS does and authorizing them through a small, explicit RBAC table.
 *
 * The behaviour follows the Kubernetes documentation:
 * - API concepts (https://kubernetes.io/docs/reference/using-api/api-concepts/): paths, list objects, chunked
 *   lists (`limit`, opaque `continue`, `remainingItemCount`), Status errors, field and label selectors.
 * - Authentication (https://kubernetes.io/docs/reference/access-authn-authz/authentication/): bearer tokens; a
 *   request without one is `system:anonymous`, a bad token is 401.
 * - Authorization / RBAC (https://kubernetes.io/docs/reference/access-authn-authz/rbac/ and .../authorization/):
 *   verbs from the HTTP method, the 403 message the apiserver writes (`forbiddenMessage`).
 * - Eviction API (https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/): 201 Status on success;
 *   a pod a PodDisruptionBudget protects (scenario `pods[].evictionBlocked`, step `block-eviction`) is refused
 *   with 429 TooManyRequests "Cannot evict pod as it would violate the pod's disruption budget." and a
 *   `DisruptionBudget` cause, as the apiserver's eviction REST (`pkg/registry/core/pod/storage/eviction.go`).
 * - Deleting: pods answer with the deleted object, Nodes and CiliumNodes (the generic registry without
 *   ReturnDeletedObject, as for custom resources) with a Success Status naming the object; absent → 404.
 * - Patching (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/):
 *   JSON merge patch (RFC 7386), strategic merge patch (taken as a merge patch: enough for the fields
 *   this project touches), JSON patch (RFC 6902).
 * - EKS tokens: aws-iam-authenticator `pkg/token` (Verify) and "Grant IAM users access to Kubernetes with EKS
 *   access entries" (https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html) for the user names.
 *
 * Simplifications: objects change at once (no graceful deletion, no finalizers), `watch` is not served, and a
 * `wrong-ca` fault applies to TLS connections opened while it is active. An `empty` fault answers a list
 * (LIST_ACTIONS) as if no object existed: 200, no items, no `continue`; the request is still authenticated
 * and authorized first, and the objects themselves are untouched. Tokens are never logged or recorded.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Socket } from 'node:net';
import { TOKEN_PREFIX } from '../../functions/adapters/token.js';
import { parseAmzDate, validateEksToken, verifyEksTokenSignature } from './token-rules.js';
import { makeCaAndServerCert } from './certs.js';
import type { FaultInjector } from './faults.js';
export { LIST_ACTIONS } from './faults.js';
import { AwsError } from './protocol.js';
import { type CloudState, type LocalCredentials, kubeletReports, kubernetesTime } from './state.js';
import { authenticate as authenticateCredentials } from './sts.js';

export interface KubernetesApiOptions {
  clusterName: string;
  region: string;
  /** `host:port` of the local STS: the only STS host accepted in tokens (http allowed for it). */
  stsHost: string;
  /** `performance.now()` at which the cloud started (for CallRecord.at); default: when this server started. */
  startedAt?: number;
  /** Clock for token expiry (default: the real time). */
  now?: () => Date;
}

export interface KubernetesApi {
  /** `https://127.0.0.1:<port>` */
  endpoint: string;
  /** PEM of the CA that signed the server certificate (EKS's `certificateAuthority.data` is its base64). */
  caPem: string;
  stop(): Promise<void>;
}

const SERVICE = 'kubernetes';

const MAX_BODY_BYTES = 3 * 1024 * 1024; // the apiserver's request size limit

// ---------------------------------------------------------------------------------------------------------
// RBAC: roles as PolicyRules, bound to AWS principals. Extend RBAC_ROLES / BINDINGS to grant more.
// ---------------------------------------------------------------------------------------------------------

/** A Kubernetes PolicyRule; `*` matches everything. Resources name subresources as `pods/eviction`. */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

export const RBAC_ROLES = {
  /** The base credentials' user: the cluster creator, cluster-admin. */
  admin: [
    { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
    { nonResourceURLs: ['*'], verbs: ['*'] },
  ],
  /** The cluster's reader role (`state.cluster.readerRoleArn`): what the controller needs. */
  reader: [
    { apiGroups: ['cilium.io'], resources: ['ciliumnodes'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
  ],
  /** Roles whose name contains `teardown`: cordon, drain and remove hybrid nodes. */
  teardown: [
    { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch', 'patch', 'delete'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
    { apiGroups: ['cilium.io'], resources: ['ciliumnodes'], verbs: ['get', 'list', 'watch', 'delete'] },
  ],
} satisfies Record<string, PolicyRule[]>;
export type RbacRole = keyof typeof RBAC_ROLES;

/** system:public-info-viewer / system:discovery: every user, even anonymous, may read these paths. */
const PUBLIC_RULES: PolicyRule[] = [{ nonResourceURLs: ['/version', '/healthz', '/livez', '/readyz'], verbs: ['get'] }];

/** An AWS principal as STS GetCallerIdentity reports it. */
export interface AwsPrincipal {
  arn: string;
  account: string;
  type: 'user' | 'role' | 'other';
  /** User or role name (without path). */
  name: string;
}

export function parsePrincipal(arn: string): AwsPrincipal {
  const m = /^arn:[^:]+:(iam|sts)::(\d*):(user|role|assumed-role)\/(.+)$/.exec(arn);
  if (!m) return { arn, account: '', type: 'other', name: '' };
  const [, , account = '', kind, rest = ''] = m;
  const parts = rest.split('/');
  // assumed-role/<role>/<session>; role/<path…>/<role>; user/<path…>/<user>
  const name = kind === 'assumed-role' ? (parts[0] ?? '') : (parts.at(-1) ?? '');
  return { arn, account, type: kind === 'user' ? 'user' : 'role', name };
}

const roleNameOf = (arn: string | undefined) => (arn ? parsePrincipal(arn).name : undefined);

/** Which roles a principal is bound to; first match wins per role, a principal may hold several. */
const BINDINGS: { role: RbacRole; matches: (p: AwsPrincipal, state: CloudState) => boolean }[] = [
  { role: 'admin', matches: (p, s) => p.type === 'user' && p.name === 'localcloud-admin' && p.account === s.accountId },
  { role: 'reader', matches: (p, s) => p.type === 'role' && p.name !== '' && p.name === roleNameOf(s.cluster.readerRoleArn) },
  { role: 'teardown', matches: (p) => p.type === 'role' && p.name.includes('teardown') },
];

export interface KubernetesUser {
  /** The user name RBAC and error messages show: EKS access entries' default user names. */
  username: string;
  roles: RbacRole[];
}

export const ANONYMOUS: KubernetesUser = { username: 'system:anonymous', roles: [] };

export function kubernetesUserFor(principalArn: string, state: CloudState): KubernetesUser {
  const principal = parsePrincipal(principalArn);
  // Access entries name an IAM user by its ARN and a role session `arn:aws:sts::<acct>:assumed-role/<role>/<session>`.
  return { username: principalArn, roles: BINDINGS.filter((b) => b.matches(principal, state)).map((b) => b.role) };
}

interface RequestInfo {
  isResourceRequest: boolean;
  path: string;
  verb: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

const anyOf = (list: string[] | undefined, value: string) => !!list && (list.includes('*') || list.includes(value));

export function isAllowed(user: KubernetesUser, info: RequestInfo): boolean {
  const rules = [...PUBLIC_RULES, ...user.roles.flatMap((r) => RBAC_ROLES[r] as PolicyRule[])];
  const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  return rules.some((rule) =>
    info.isResourceRequest
      ? anyOf(rule.verbs, info.verb) && anyOf(rule.apiGroups, info.apiGroup) && anyOf(rule.resources, resource)
      : anyOf(rule.verbs, info.verb) && anyOf(rule.nonResourceURLs, info.path),
  );
}

/** The apiserver's `forbiddenMessage` wrapped by `NewForbidden`. */
function forbiddenMessage(user: KubernetesUser, info: RequestInfo): string {
  if (!info.isResourceRequest) return `forbidden: User "${user.username}" cannot ${info.verb} path "${info.path}"`;
  const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  const scope = info.namespace ? `in the namespace "${info.namespace}"` : 'at the cluster scope';
  const reason = `User "${user.username}" cannot ${info.verb} resource "${resource}" in API group "${info.apiGroup}" ${scope}`;
  return `${qualified(info)}${info.name ? ` "${info.name}"` : ''} is forbidden: ${reason}`;
}

const qualified = (info: { resource: string; apiGroup: string }) => (info.apiGroup ? `${info.resource}.${info.apiGroup}` : info.resource);

// ---------------------------------------------------------------------------------------------------------
// Requests: the apiserver's RequestInfoFactory, Status errors
// ---------------------------------------------------------------------------------------------------------

const VERBS: Record<string, [collection: string, item: string]> = {
  GET: ['list', 'get'],
  HEAD: ['list', 'get'],
  POST: ['create', 'create'],
  PUT: ['update', 'update'],
  PATCH: ['patch', 'patch'],
  DELETE: ['deletecollection', 'delete'],
};

export function requestInfo(method: string, url: URL): RequestInfo {
  const path = url.pathname;
  const parts = path.split('/').filter(Boolean);
  const base = { path, apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: '' };
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    rest = parts.slice(2);
    Object.assign(base, { apiVersion: parts[1] });
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    rest = parts.slice(3);
    Object.assign(base, { apiGroup: parts[1], apiVersion: parts[2] });
  } else {
    return { ...base, isResourceRequest: false, verb: method.toLowerCase() };
  }
  if (rest.length === 0) return { ...base, isResourceRequest: false, verb: method.toLowerCase() };
  if (rest[0] === 'namespaces' && rest.length > 2) {
    base.namespace = rest[1]!;
    rest = rest.slice(2);
  } else if (rest[0] === 'namespaces' && rest.length === 2) {
    base.namespace = rest[1]!; // the namespace object itself
  }
  base.resource = rest[0]!;
  base.name = rest[1] ?? '';
  base.subresource = rest[2] ?? '';
  const [collectionVerb, itemVerb] = VERBS[method] ?? [method.toLowerCase(), method.toLowerCase()];
  let verb = base.name ? itemVerb : collectionVerb;
  if (verb === 'list' && ['true', '1'].includes(url.searchParams.get('watch') ?? '')) verb = 'watch';
  return { ...base, isResourceRequest: true, verb };
}

/** `<verb> <resource>` as faults and the call log name it: `list ciliumnodes`, `create pods/eviction`, `get version`. */
export function actionOf(info: RequestInfo): string {
  if (!info.isResourceRequest) return `${info.verb} ${info.path.replace(/^\/+/, '') || '/'}`;
  return `${info.verb} ${info.subresource ? `${info.resource}/${info.subresource}` : info.resource}`;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

class StatusError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason = REASONS[code] ?? 'Unknown',
    readonly details?: Record<string, unknown>,
    /** For the call log only (never sent): why authentication failed. */
    readonly logDetail?: string,
  ) {
    super(message);
  }
  body() {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

const detailsOf = (info: RequestInfo, name = info.name) => ({
  ...(name ? { name } : {}),
  ...(info.apiGroup ? { group: info.apiGroup } : {}),
  kind: info.resource,
});
const notFound = (info: RequestInfo, name = info.name) =>
  new StatusError(404, `${qualified(info)} "${name}" not found`, 'NotFound', detailsOf(info, name));
const badRequest = (message: string) => new StatusError(400, message);

// ---------------------------------------------------------------------------------------------------------
// Lists: name order, chunking, selectors
// ---------------------------------------------------------------------------------------------------------

type KObject = Record<string, unknown>;
const metadataOf = (o: KObject) => (o.metadata ?? {}) as Record<string, unknown>;
const keyOf = (o: KObject) => {
  const m = metadataOf(o);
  return m.namespace ? `${String(m.namespace)}/${String(m.name)}` : String(m.name);
};

/** Field value by dotted path (`spec.nodeName`), as a string; missing fields read as "". */
/**
 * A Node as its kubelet keeps it: a Ready condition whose heartbeat is now while the kubelet reports, or the time
 * it fell silent (status Unknown, as the node lifecycle controller sets it). A Node given its own conditions
 * (a test) is served as it is.
 */
function withKubeletStatus(state: CloudState, node: KObject): KObject {
  const status = (node.status ?? {}) as Record<string, unknown>;
  if (status.conditions !== undefined) return node;
  const name = String(metadataOf(node).name);
  const silentSince = kubeletReports(state, name) ? undefined : (state.kubeletLastHeartbeats?.get(name) ?? new Date(0));
  const heartbeat = kubernetesTime(silentSince ?? new Date());
  const ready = silentSince
    ? { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastHeartbeatTime: heartbeat, lastTransitionTime: heartbeat }
    : { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: heartbeat, lastTransitionTime: heartbeat };
  return { ...node, status: { ...status, conditions: [ready] } };
}

function field(o: KObject, path: string): string {
  let v: unknown = o;
  for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v === undefined || v === null ? '' : String(v);
}

type Requirement = { key: string; op: '=' | '!=' | 'exists' | '!exists'; value: string };

function parseSelector(raw: string, kind: 'field' | 'label', supported?: string[]): Requirement[] {
  const out: Requirement[] = [];
  for (const term of raw.split(',').map((t) => t.trim()).filter(Boolean)) {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (m) {
      const [, key = '', op, value = ''] = m;
      if (kind === 'field' && supported && !supported.includes(key)) throw badRequest(`field label not supported: ${key}`);
      out.push({ key, op: op === '!=' ? '!=' : '=', value });
    } else if (kind === 'label' && /^!?[A-Za-z0-9._/-]+$/.test(term)) {
      out.push(term.startsWith('!') ? { key: term.slice(1), op: '!exists', value: '' } : { key: term, op: 'exists', value: '' });
    } else {
      throw badRequest(`unable to parse requirement: ${kind} selector "${term}" is not supported here`);
    }
  }
  return out;
}

function matchesAll(reqs: Requirement[], get: (key: string) => string | undefined): boolean {
  return reqs.every(({ key, op, value }) => {
    const v = get(key);
    if (op === 'exists') return v !== undefined;
    if (op === '!exists') return v === undefined;
    return op === '=' ? (v ?? '') === value : (v ?? '') !== value;
  });
}

interface ContinueToken {
  v: 'meta.k8s.io/v1';
  rv: number;
  start: string;
}

const encodeContinue = (t: ContinueToken) => Buffer.from(JSON.stringify(t)).toString('base64');
function decodeContinue(raw: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as Partial<ContinueToken>;
    if (t.v === 'meta.k8s.io/v1' && typeof t.rv === 'number' && typeof t.start === 'string') return t as ContinueToken;
  } catch {
    // fall through
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

// ---------------------------------------------------------------------------------------------------------
// Patches
// ---------------------------------------------------------------------------------------------------------

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** RFC 7386. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902: add, remove, replace, test, copy, move. */
function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json patch must be a JSON array of operations');
  let root = structuredClone(doc);
  const pointer = (p: unknown) => {
    if (typeof p !== 'string' || (p !== '' && !p.startsWith('/'))) throw badRequest(`invalid JSON pointer "${String(p)}"`);
    return p === '' ? [] : p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  };
  const parentOf = (tokens: string[]) => {
    let node: unknown = root;
    for (const t of tokens.slice(0, -1)) {
      node = Array.isArray(node) ? node[Number(t)] : isObject(node) ? node[t] : undefined;
      if (node === undefined) throw new StatusError(422, `jsonpatch: missing path "/${tokens.join('/')}"`);
    }
    return node as Record<string, unknown> | unknown[];
  };
  const read = (tokens: string[]) => {
    if (tokens.length === 0) return root;
    const parent = parentOf(tokens);
    const last = tokens.at(-1)!;
    const v = Array.isArray(parent) ? parent[Number(last)] : parent[last];
    if (v === undefined) throw new StatusError(422, `jsonpatch: missing value at "/${tokens.join('/')}"`);
    return v;
  };
  const remove = (tokens: string[]) => {
    const parent = parentOf(tokens);
    const last = tokens.at(-1)!;
    read(tokens);
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  };
  const add = (tokens: string[], value: unknown) => {
    if (tokens.length === 0) {
      root = value;
      return;
    }
    const parent = parentOf(tokens);
    const last = tokens.at(-1)!;
    if (Array.isArray(parent)) parent.splice(last === '-' ? parent.length : Number(last), 0, value);
    else parent[last] = value;
  };
  for (const op of ops as Record<string, unknown>[]) {
    const path = pointer(op.path);
    switch (op.op) {
      case 'add':
        add(path, structuredClone(op.value));
        break;
      case 'remove':
        remove(path);
        break;
      case 'replace':
        read(path);
        if (path.length) remove(path);
        add(path, structuredClone(op.value));
        break;
      case 'test':
        if (JSON.stringify(read(path)) !== JSON.stringify(op.value)) throw new StatusError(422, 'jsonpatch: test operation failed');
        break;
      case 'copy':
      case 'move': {
        const from = pointer(op.from);
        const value = structuredClone(read(from));
        if (op.op === 'move') remove(from);
        add(path, value);
        break;
      }
      default:
        throw badRequest(`jsonpatch: unknown operation "${String(op.op)}"`);
    }
  }
  return root;
}

const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'];

function applyPatch(object: KObject, contentType: string, body: string): KObject {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (!PATCH_TYPES.includes(type)) {
    throw new StatusError(415, `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`);
  }
  let patch: unknown;
  try {
    patch = JSON.parse(body);
  } catch {
    throw badRequest('the body of the request is not valid JSON');
  }
  const out = type === 'application/json-patch+json' ? jsonPatch(object, patch) : mergePatch(structuredClone(object), patch);
  if (!isObject(out)) throw new StatusError(422, 'the patched object is not an object');
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------------

interface Reply {
  status: number;
  body: unknown;
}

const json = (status: number, body: unknown): Reply => ({ status, body });
const success = (code: number, details?: Record<string, unknown>) =>
  json(code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), code });

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new StatusError(413, 'Request entity too large', 'RequestEntityTooLarge'));
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

export async function startKubernetesApi(
  state: CloudState,
  faults: FaultInjector,
  options: KubernetesApiOptions,
): Promise<KubernetesApi> {
  const startedAt = options.startedAt ?? performance.now();
  const now = options.now ?? (() => new Date());
  const stsEndpoint = new URL(`http://${options.stsHost}`);
  const [genuine, impostor] = await Promise.all([
    makeCaAndServerCert(`${options.clusterName}-ca`),
    makeCaAndServerCert('not-the-cluster-ca'),
  ]);
  let resourceVersion = 1000;
  const stopping = new AbortController();
  const sockets = new Set<Socket>();

  const record = (action: string, status: number, error?: string) =>
    state.calls.push({ service: SERVICE, action, status, ...(error ? { error } : {}), at: Math.round(performance.now() - startedAt) });

  /** aws-iam-authenticator's checks, then what STS does when the URL is replayed: key, session, signature. */
  async function authenticate(header: string | undefined): Promise<KubernetesUser> {
    const parts = (header ?? '').trim().split(/\s+/);
    if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'bearer' || !parts[1]) return ANONYMOUS; // not a bearer token
    const token = parts[1];
    const unauthorized = (why: string) => new StatusError(401, 'Unauthorized', 'Unauthorized', undefined, why);
    if (!token.startsWith(TOKEN_PREFIX)) throw unauthorized('not a k8s-aws-v1 token');
    const at = now();
    const valid = validateEksToken(token, { region: options.region, now: at, stsEndpoint });
    if (!valid.ok) throw unauthorized(valid.reason);
    const q = valid.url.searchParams;
    const [accessKeyId = '', , scopeRegion, scopeService] = (q.get('X-Amz-Credential') ?? '').split('/');
    if (scopeService !== 'sts' || scopeRegion !== options.region) throw unauthorized('credential scope is not this region\'s STS');
    // What STS checks when EKS replays the URL: the key, its session token, its expiry.
    let credentials: LocalCredentials;
    try {
      credentials = authenticateCredentials(state, accessKeyId, q.get('X-Amz-Security-Token') ?? undefined, at);
    } catch (error) {
      throw unauthorized(error instanceof AwsError ? `${error.code}: ${error.message}` : String(error));
    }
    const signed = parseAmzDate(q.get('X-Amz-Date'));
    if (signed && signed.getTime() > at.getTime() + 15 * 60_000) throw unauthorized('SignatureDoesNotMatch: signature not yet current');
    const ok = await verifyEksTokenSignature(token, { clusterName: options.clusterName, secretAccessKey: credentials.secretAccessKey });
    if (!ok) throw unauthorized('SignatureDoesNotMatch: not signed for this cluster with this key');
    return kubernetesUserFor(credentials.principalArn, state);
  }

  function list(url: URL, source: Iterable<KObject>, kind: string, apiVersion: string, fields: string[]): Reply {
    const q = url.searchParams;
    const fieldReqs = parseSelector(q.get('fieldSelector') ?? '', 'field', fields);
    const labelReqs = parseSelector(q.get('labelSelector') ?? '', 'label');
    const limitRaw = q.get('limit');
    if (limitRaw !== null && !/^\d+$/.test(limitRaw)) throw badRequest(`invalid limit "${limitRaw}"`);
    const limit = limitRaw ? Number(limitRaw) : 0;
    const cont = q.get('continue');
    const start = cont ? decodeContinue(cont).start : undefined;
    const matching = [...source]
      .filter((o) => matchesAll(fieldReqs, (k) => field(o, k)))
      .filter((o) => matchesAll(labelReqs, (k) => ((metadataOf(o).labels ?? {}) as Record<string, string>)[k]))
      .map((o) => [keyOf(o), o] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .filter(([key]) => start === undefined || key >= start);
    const page = limit > 0 ? matching.slice(0, limit) : matching;
    const remaining = matching.length - page.length;
    const last = page.at(-1)?.[0];
    const metadata: Record<string, unknown> = { resourceVersion: String(resourceVersion) };
    if (remaining > 0 && last !== undefined) {
      metadata.continue = encodeContinue({ v: 'meta.k8s.io/v1', rv: resourceVersion, start: `${last}\u0000` });
      if (labelReqs.length === 0 && fieldReqs.length === 0) metadata.remainingItemCount = remaining;
    }
    return json(200, { apiVersion, kind, metadata, items: page.map(([, o]) => o) });
  }

  function patch(info: RequestInfo, map: Map<string, KObject>, key: string, contentType: string, body: string): Reply {
    const current = map.get(key);
    if (!current) throw notFound(info);
    const patched = applyPatch(current, contentType, body);
    const name = metadataOf(patched).name;
    if (name !== info.name) throw badRequest(`the name of the object (${String(name)}) does not match the name on the URL (${info.name})`);
    resourceVersion += 1;
    const updated = { ...patched, metadata: { ...metadataOf(patched), resourceVersion: String(resourceVersion) } };
    map.set(key, updated);
    return json(200, updated);
  }

  const pods = () => (state.pods ??= new Map());
  const podKey = (info: RequestInfo) => `${info.namespace}/${info.name}`;
  const deletedStatus = (info: RequestInfo, object: KObject) => {
    resourceVersion += 1;
    const uid = metadataOf(object).uid;
    return success(200, { ...detailsOf(info), ...(uid ? { uid } : {}) });
  };

  /**
   * The routes this server serves: (group, resource, subresource) → verbs. With `emptyLists` (an `empty`
   * fault), a list is answered as if no object existed.
   */
  async function serve(info: RequestInfo, url: URL, request: IncomingMessage, emptyLists = false): Promise<Reply> {
    const listed = <T>(source: Iterable<T>): Iterable<T> => (emptyLists ? [] : source);
    if (!info.isResourceRequest) {
      if (info.path === '/version' && info.verb === 'get') {
        return json(200, {
          major: '1',
          minor: '32',
          gitVersion: 'v1.32.3-eks-localcloud',
          gitCommit: '0000000000000000000000000000000000000000',
          gitTreeState: 'clean',
          buildDate: '2025-01-01T00:00:00Z',
          goVersion: 'go1.23.6',
          compiler: 'gc',
          platform: 'linux/amd64',
        });
      }
      throw new StatusError(404, 'the server could not find the requested resource');
    }
    const route = `${info.apiGroup}/${info.apiVersion}/${info.resource}${info.subresource ? `/${info.subresource}` : ''}`;
    const methodNotAllowed = () => new StatusError(405, 'the server does not allow this method on the requested resource');
    if (info.verb === 'watch') throw badRequest('watch is not served by the local cloud');
    switch (route) {
      case 'cilium.io/v2/ciliumnodes': {
        if (info.namespace) break; // cluster-scoped
        if (info.verb === 'list') return list(url, listed(state.ciliumNodes.values()), 'CiliumNodeList', 'cilium.io/v2', ['metadata.name']);
        const node = state.ciliumNodes.get(info.name);
        if (!node && (info.verb === 'get' || info.verb === 'delete')) throw notFound(info);
        if (info.verb === 'get') return json(200, node);
        if (info.verb === 'delete') {
          state.ciliumNodes.delete(info.name);
          return deletedStatus(info, node!);
        }
        throw methodNotAllowed();
      }
      case '/v1/nodes': {
        if (info.namespace) break;
        if (info.verb === 'list') return list(url, listed([...state.nodes.values()].map((n) => withKubeletStatus(state, n))), 'NodeList', 'v1', ['metadata.name', 'spec.unschedulable']);
        const node = state.nodes.get(info.name);
        if (!node && (info.verb === 'get' || info.verb === 'delete')) throw notFound(info);
        if (info.verb === 'get') return json(200, withKubeletStatus(state, node!));
        if (info.verb === 'patch') return patch(info, state.nodes, info.name, request.headers['content-type'] ?? '', await readBody(request));
        if (info.verb === 'delete') {
          state.nodes.delete(info.name);
          return deletedStatus(info, node!);
        }
        throw methodNotAllowed();
      }
      case '/v1/pods': {
        if (info.verb === 'list') {
          const all = [...pods().values()].filter((p) => !info.namespace || metadataOf(p).namespace === info.namespace);
          return list(url, listed(all), 'PodList', 'v1', ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase']);
        }
        if (!info.namespace) break;
        const pod = pods().get(podKey(info));
        if (!pod && (info.verb === 'get' || info.verb === 'delete')) throw notFound(info);
        if (info.verb === 'get') return json(200, pod);
        if (info.verb === 'delete') {
          pods().delete(podKey(info));
          state.blockedEvictions?.delete(podKey(info));
          resourceVersion += 1;
          return json(200, pod!); // pods return the deleted object
        }
        throw methodNotAllowed();
      }
      case '/v1/pods/eviction': {
        if (!info.namespace) break;
        if (info.verb !== 'create') throw methodNotAllowed();
        const body = await readBody(request);
        let eviction: unknown;
        try {
          eviction = body ? JSON.parse(body) : {};
        } catch {
          throw badRequest('the body of the request is not valid JSON');
        }
        const name = isObject(eviction) && isObject(eviction.metadata) ? eviction.metadata.name : undefined;
        if (name !== undefined && name !== info.name) throw badRequest('name in URL does not match name in Eviction object');
        if (!pods().has(podKey(info))) throw notFound({ ...info, subresource: '' });
        const budget = state.blockedEvictions?.get(podKey(info));
        if (budget !== undefined) {
          throw new StatusError(429, "Cannot evict pod as it would violate the pod's disruption budget.", 'TooManyRequests', {
            causes: [{ reason: 'DisruptionBudget', message: `The disruption budget ${budget} needs 1 healthy pods and has 1 currently` }],
          });
        }
        pods().delete(podKey(info)); // eviction deletes the pod (at once here: no grace period)
        state.blockedEvictions?.delete(podKey(info));
        resourceVersion += 1;
        return success(201);
      }
    }
    throw new StatusError(404, 'the server could not find the requested resource', 'NotFound');
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'https://127.0.0.1');
    const info = requestInfo(request.method ?? 'GET', url);
    const action = actionOf(info);
    const send = (reply: Reply, error?: string) => {
      record(action, reply.status, error);
      if (response.destroyed) return;
      const body = JSON.stringify(reply.body);
      response.writeHead(reply.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'audit-id': randomUUID(),
        'cache-control': 'no-cache, private',
      });
      response.end(body);
    };
    try {
      const interception = await faults.intercept(SERVICE, action, request.socket, (status, error) => record(action, status, error), stopping.signal);
      if (interception.kind === 'dropped') return;
      if (interception.kind === 'error') {
        const { fault } = interception;
        const code = fault.status ?? 500;
        throw new StatusError(code, fault.message ?? 'Internal error occurred: injected fault', fault.code ?? REASONS[code] ?? 'InternalError');
      }
      const user = await authenticate(request.headers.authorization);
      if (!isAllowed(user, info)) {
        const details = info.isResourceRequest ? detailsOf(info) : undefined;
        throw new StatusError(403, forbiddenMessage(user, info), 'Forbidden', details);
      }
      send(await serve(info, url, request, interception.kind === 'empty'));
    } catch (error) {
      if (stopping.signal.aborted) return;
      const err = error instanceof StatusError ? error : new StatusError(500, `Internal error occurred: ${error instanceof Error ? error.message : String(error)}`);
      send(json(err.code, err.body()), err.logDetail ? `${err.reason}: ${err.logDetail}` : err.reason);
    }
  }

  const genuineContext = { key: genuine.server.private, cert: genuine.server.cert };
  const impostorContext = { key: impostor.server.private, cert: impostor.server.cert };
  const server = createServer(genuineContext, (request, response) => void handle(request, response));
  // The certificate is chosen per TLS connection (clients send no SNI for an IP address, so SNICallback would not
  // run): before tls.Server's own 'connection' listener wraps the socket, point its shared context at the right pair.
  let presenting: 'genuine' | 'impostor' = 'genuine';
  server.prependListener('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const want = faults.active(SERVICE, 'wrong-ca') ? 'impostor' : 'genuine';
    if (want !== presenting) {
      server.setSecureContext(want === 'impostor' ? impostorContext : genuineContext);
      presenting = want;
    }
  });
  server.on('tlsClientError', () => {
    // a client that refuses our certificate (the wrong-ca fault) ends the handshake: nothing to do
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    endpoint: `https://127.0.0.1:${port}`,
    caPem: genuine.ca.cert,
    async stop() {
      stopping.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
