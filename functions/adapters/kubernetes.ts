/**
 * Reads the cluster's API server with an EKS bearer token: CiliumNodes (`cilium.io/v2`) and, for nodes whose address
 * may have moved, Nodes. This is all the reconciler reads; the teardown's writes (cordon, evict, delete) are
 * kubernetes-teardown.ts, which reuses the reading and the error handling here.
 * The server certificate is always verified against the cluster's CA, and the token only ever goes to an https
 * endpoint. Any failed page or malformed item aborts the whole listing: a partial node list must never reach the
 * planner.
 *
 * The transport is the AWS SDK's NodeHttpHandler (node:https underneath), the HTTP client the reconciler already
 * loads for EC2 and EKS, and not @kubernetes/client-node's KubeConfig and fetch library: both of those import
 * undici, ≈ 950 KiB of CommonJS that esbuild cannot tree-shake, and the KubeConfig brings its YAML, JSONPath,
 * proxy and auth-provider modules too (≈ 230 KiB) for a kubeconfig that here is one token and one CA. Together
 * that was ≈ 40 % of the reconcile bundle and most of its module init above the EC2+EKS floor
 * (`npm run bench -- --only bundle`). A status other than 2xx is still client-node's ApiException, the error its
 * generated APIs throw, so one error path (toKubernetesError) serves the reader and the teardown client alike.
 */
import type { AgentOptions } from 'node:https';
import { createRequire } from 'node:module';
// The one value taken from @kubernetes/client-node, from the module that defines it (client-node 2.0.1 has no
// "exports" map): its index, like its KubeConfig, imports undici. Pinned by
// test/unit/adapters/kubernetes-imports.test.ts.
import { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
import { NodeHttpHandler, streamCollector } from '@smithy/node-http-handler';
import { HttpRequest } from '@smithy/protocol-http';
import pLimit from 'p-limit';
import * as z from 'zod';
import type { CiliumNodePort, CiliumNodePortFactory, TokenPort } from '../core/ports.js';
import type { CiliumNodeRecord, ClusterInfo, NodeStatusRecord } from '../core/types.js';
import { fieldPath } from '../shared/field-path.js';

/**
 * The HTTP reason phrases, through `require`, not `import … from 'node:http'`: an ES module import of a built-in
 * reads every one of its exports, and node:http's WebSocket, CloseEvent and MessageEvent are getters that load
 * Node's own undici, ≈ 15-25 ms of every cold start for a table of strings (test/bench/bundle.ts; nothing else in
 * the reconcile bundle imports node:http at module init). `require` reads just this one property.
 */
const { STATUS_CODES } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

export const DEFAULT_PAGE_SIZE = 500;
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
/** Node reads in flight at once (readNodeStatuses); only nodes whose address may have moved are read at all. */
const NODE_READ_CONCURRENCY = 16;
/**
 * A kept-alive connection idle this long is closed (the agent's socket timeout closes free sockets only; a call
 * in progress is bounded by its deadline). A container that sleeps between runs then does not send its next
 * read down a connection the API server may have dropped meanwhile, and an earlier token's reader does not
 * keep its connections open.
 */
const IDLE_CONNECTION_MS = 15_000;

/** An API call that failed; `statusCode` is the HTTP status when the server answered. Never carries the token. */
export class KubernetesApiError extends Error {
  override readonly name = 'KubernetesApiError';
  constructor(
    message: string,
    readonly statusCode?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

// The objects are untyped JSON. Absent or null fields mean "nothing allocated yet"; a field of the wrong
// type means we do not understand the object, and the run stops.
const stringList = z.array(z.string()).nullish();
const CiliumNodeSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string().min(1), creationTimestamp: z.string().nullish() }),
  spec: z
    .looseObject({
      addresses: z.array(z.looseObject({ type: z.string().nullish(), ip: z.string().nullish() })).nullish(),
      ipam: z
        .looseObject({
          podCIDRs: stringList,
          pools: z
            .looseObject({
              allocated: z.array(z.looseObject({ pool: z.string().min(1), cidrs: stringList })).nullish(),
            })
            .nullish(),
        })
        .nullish(),
    })
    .nullish(),
});

const ListSchema = z.looseObject({
  items: z.array(z.unknown()),
  metadata: z.looseObject({ continue: z.string().nullish() }).nullish(),
});

function describeIssue(issue: z.core.$ZodIssue): string {
  return `${fieldPath(issue.path, '(object)')}: ${issue.message}`;
}

/** One CiliumNode → CiliumNodeRecord; throws naming the item's index and the offending field. */
export function toCiliumNodeRecord(item: unknown, index: number): CiliumNodeRecord {
  const parsed = CiliumNodeSchema.safeParse(item);
  if (!parsed.success) {
    const name = (item as { metadata?: { name?: unknown } } | null)?.metadata?.name;
    const label = typeof name === 'string' && name ? ` ("${name}")` : '';
    const issues = parsed.error.issues.map(describeIssue).join('; ');
    throw new Error(`malformed CiliumNode items[${index}]${label}: ${issues}`);
  }
  const { metadata, spec } = parsed.data;
  return {
    name: metadata.name,
    ...(metadata.creationTimestamp ? { createdAt: metadata.creationTimestamp } : {}),
    // Address pairs are omitempty on both fields in Cilium: a missing one reads as '' (and says nothing), but the
    // entry stays, so a refusal names the entry's real index in spec.addresses.
    addresses: (spec?.addresses ?? []).map((a) => ({ type: a.type ?? '', ip: a.ip ?? '' })),
    podCIDRs: spec?.ipam?.podCIDRs ?? [],
    poolCIDRs: (spec?.ipam?.pools?.allocated ?? []).map((p) => ({ pool: p.pool, cidrs: p.cidrs ?? [] })),
  };
}

/** Wraps any failure of `call` into a KubernetesApiError with the HTTP status, minus the token. */
function toKubernetesError(call: string, err: unknown, token: string): KubernetesApiError {
  const redact = (s: string) => (token ? s.split(token).join('[redacted]') : s).slice(0, 500);
  if (err instanceof ApiException) {
    const status = err.code;
    let detail: unknown = err.body;
    if (typeof detail === 'string') {
      try {
        detail = JSON.parse(detail);
      } catch {
        // plain-text body: keep it as is
      }
    }
    const message =
      typeof detail === 'string' ? detail : (detail as { message?: unknown } | undefined)?.message;
    const suffix = typeof message === 'string' && message ? `: ${redact(message)}` : '';
    const statusLine = `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
    return new KubernetesApiError(`${call} failed: ${statusLine}${suffix}`, status);
  }
  // Network and TLS failures. node:https (the reader) puts the code on the error itself
  // (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `ECONNRESET`); undici (the teardown's generated APIs) reports
  // "fetch failed" with the reason in `cause`.
  const e = err as { name?: unknown; message?: unknown; code?: unknown; cause?: { name?: unknown; code?: unknown; message?: unknown } } | undefined;
  const cause = e?.cause;
  // The request deadline (AbortSignal.timeout) ends the call with a TimeoutError and no code: the server never
  // answered, like a reset connection, so it gets a code too and counts as transient (handlers/teardown.ts).
  const timedOut = e?.name === 'TimeoutError' || cause?.name === 'TimeoutError';
  const code = typeof e?.code === 'string' ? e.code : typeof cause?.code === 'string' ? cause.code : timedOut ? 'TimeoutError' : undefined;
  const reason = [code, typeof cause?.message === 'string' ? cause.message : undefined].filter(Boolean).join(': ');
  const text = `${typeof e?.message === 'string' ? e.message : String(err)}${reason ? ` (${reason})` : ''}`;
  return new KubernetesApiError(`${call} failed: ${redact(text)}`, undefined, code);
}

export interface CiliumNodeReaderOptions {
  cluster: ClusterInfo;
  token: string;
  pageSize?: number;
  /** Per request (each page), default 15 s. */
  requestTimeoutMs?: number;
}

const NodeStatusSchema = z.looseObject({
  status: z
    .looseObject({
      addresses: z.array(z.looseObject({ type: z.string().nullish(), address: z.string().nullish() })).nullish(),
      conditions: z.array(z.looseObject({ type: z.string().nullish(), lastHeartbeatTime: z.string().nullish() })).nullish(),
    })
    .nullish(),
});

/** `status.addresses[type=InternalIP]` of a Node, in order. */
export function internalIpsOf(addresses: readonly { type?: string | null; address?: string | null }[] | null | undefined): string[] {
  return (addresses ?? []).flatMap((a) => (a.type === 'InternalIP' && a.address ? [a.address] : []));
}

/** A Node (its JSON) → what it says of its kubelet: its InternalIPs and the Ready condition's last heartbeat. */
export function toNodeStatusRecord(node: unknown): NodeStatusRecord {
  const parsed = NodeStatusSchema.safeParse(node);
  if (!parsed.success) return { state: 'unreadable', error: `malformed Node: ${parsed.error.issues.map(describeIssue).join('; ')}` };
  const status = parsed.data.status;
  const heartbeat = status?.conditions?.find((condition) => condition.type === 'Ready')?.lastHeartbeatTime;
  // A time that cannot be read is left out: it proves nothing.
  const time = heartbeat ? Date.parse(heartbeat) : NaN;
  return {
    state: 'found',
    internalIps: internalIpsOf(status?.addresses),
    ...(Number.isFinite(time) ? { readyHeartbeat: new Date(time).toISOString() } : {}),
  };
}

/**
 * The TLS settings of the connection to the API server: the cluster's CA and nothing else is trusted, and
 * verification is pinned on, so NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment cannot turn it off.
 * Connections are kept alive across the pages and node reads of a run.
 */
export function apiServerAgentOptions(cluster: ClusterInfo): AgentOptions {
  return {
    ca: Buffer.from(cluster.certificateAuthorityData, 'base64').toString('utf8'),
    rejectUnauthorized: true,
    keepAlive: true,
    timeout: IDLE_CONNECTION_MS,
    maxSockets: NODE_READ_CONCURRENCY,
  };
}

/** The API server's base URL; refused unless it is https, so the bearer token never travels in the clear. */
export function apiServerUrl(cluster: ClusterInfo): URL {
  let url: URL;
  try {
    url = new URL(cluster.endpoint);
  } catch {
    throw new KubernetesApiError(`cluster ${cluster.name}: endpoint is not a URL`);
  }
  if (url.protocol !== 'https:') throw new KubernetesApiError(`cluster ${cluster.name}: endpoint must be https://, got ${url.protocol}//`);
  return url;
}

interface GetRequest {
  call: string;
  path: string;
  query?: Record<string, string>;
  timeoutMs: number;
}

/**
 * GET one path of the API server and parse the JSON. The deadline covers the whole exchange, body included:
 * without one, an API server that never answers would hold the run until the Lambda times out. A status other
 * than 2xx is client-node's ApiException, as from a generated API.
 */
async function getJson(transport: NodeHttpHandler, server: URL, token: string, request: GetRequest): Promise<unknown> {
  const deadline = AbortSignal.timeout(request.timeoutMs);
  let status: number;
  let headers: Record<string, string>;
  let text: string;
  try {
    const { response } = await transport.handle(
      new HttpRequest({
        protocol: server.protocol,
        hostname: server.hostname,
        ...(server.port ? { port: Number(server.port) } : {}),
        method: 'GET',
        path: `${server.pathname.replace(/\/+$/, '')}${request.path}`,
        query: request.query ?? {},
        headers: { accept: 'application/json', authorization: `Bearer ${token}` },
      }),
      { abortSignal: deadline },
    );
    status = response.statusCode;
    headers = response.headers;
    text = Buffer.from(await streamCollector(response.body)).toString('utf8');
  } catch (err) {
    // The deadline aborts the request or the body wherever it is; either way the server did not answer in time.
    throw deadline.aborted ? deadline.reason : err;
  }
  if (status < 200 || status > 299) throw new ApiException(status, request.call, text, headers);
  return JSON.parse(text) as unknown;
}

export function createCiliumNodeReader(options: CiliumNodeReaderOptions): CiliumNodePort {
  const { cluster, token, pageSize = DEFAULT_PAGE_SIZE, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS } = options;
  const server = apiServerUrl(cluster);
  const transport = new NodeHttpHandler({ httpsAgent: apiServerAgentOptions(cluster) });

  return {
    async readNodeStatuses(names) {
      const limit = pLimit(NODE_READ_CONCURRENCY);
      const read = (name: string) =>
        limit(async (): Promise<[string, NodeStatusRecord]> => {
          try {
            const call = `read node ${name}`;
            const path = `/api/v1/nodes/${encodeURIComponent(name)}`;
            const node = await requestOrNotFound(call, token, () => getJson(transport, server, token, { call, path, timeoutMs: requestTimeoutMs }));
            return [name, node === 'not-found' ? { state: 'not-found' } : toNodeStatusRecord(node)];
          } catch (err) {
            return [name, { state: 'unreadable', error: err instanceof Error ? err.message : String(err) }];
          }
        });
      return new Map(await Promise.all([...new Set(names)].map(read)));
    },

    async listCiliumNodes() {
      const records: CiliumNodeRecord[] = [];
      let cont: string | undefined;
      do {
        let page: unknown;
        try {
          page = await getJson(transport, server, token, {
            call: 'list ciliumnodes',
            path: '/apis/cilium.io/v2/ciliumnodes',
            query: { limit: String(pageSize), ...(cont ? { continue: cont } : {}) },
            timeoutMs: requestTimeoutMs,
          });
        } catch (err) {
          throw toKubernetesError('list ciliumnodes', err, token);
        }
        const list = ListSchema.safeParse(page);
        if (!list.success) {
          throw new Error(`list ciliumnodes: malformed response: ${list.error.issues.map(describeIssue).join('; ')}`);
        }
        for (const item of list.data.items) records.push(toCiliumNodeRecord(item, records.length));
        const next = list.data.metadata?.continue || undefined;
        if (next !== undefined && next === cont) throw new Error('list ciliumnodes: server repeated a continue token');
        cont = next;
      } while (cont);
      return records;
    },
  };
}

/**
 * A client per cluster, built with a fresh-enough token: `tokens` is asked on every call (the provider caches
 * and refreshes it), and the client is reused while the token, endpoint and CA are unchanged.
 */
export function perTokenClient<T>(tokens: TokenPort, build: (cluster: ClusterInfo, token: string) => T): (cluster: ClusterInfo) => Promise<T> {
  const clients = new Map<string, { token: string; endpoint: string; ca: string; client: T }>();
  return async (cluster) => {
    const { token } = await tokens.getToken(cluster.name);
    const cached = clients.get(cluster.name);
    const { endpoint, certificateAuthorityData: ca } = cluster;
    if (cached && cached.token === token && cached.endpoint === endpoint && cached.ca === ca) return cached.client;
    const client = build(cluster, token);
    clients.set(cluster.name, { token, endpoint, ca, client });
    return client;
  };
}

/** The reconciler's CiliumNode reader, per cluster and token. */
export function createCiliumNodePortFactory(tokens: TokenPort, options: { pageSize?: number } = {}): CiliumNodePortFactory {
  return perTokenClient(tokens, (cluster, token) => createCiliumNodeReader({ cluster, token, ...options }));
}

/** Runs one API call; any failure becomes a KubernetesApiError named after `call`, minus the token. */
export async function request<T>(call: string, token: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    throw toKubernetesError(call, err, token);
  }
}

/** Like `request`, but HTTP 404 (the object, or its namespace, does not exist) is `'not-found'`. */
export async function requestOrNotFound<T>(call: string, token: string, send: () => Promise<T>): Promise<T | 'not-found'> {
  try {
    return await request(call, token, send);
  } catch (err) {
    if (err instanceof KubernetesApiError && err.statusCode === 404) return 'not-found';
    throw err;
  }
}

