/**
 * Reads CiliumNodes (`cilium.io/v2`) from the cluster's API server with an EKS bearer token; for teardown also
 * lists, cordons and deletes Nodes, lists and evicts their Pods, and deletes CiliumNodes.
 * The kubeconfig lives in memory only; the server certificate is always verified against the cluster's CA.
 * Any failed page or malformed item aborts the whole listing: a partial node list must never reach the planner.
 */
import { STATUS_CODES } from 'node:http';
import type { AgentOptions } from 'node:https';
import type { Cluster, ConfigurationOptions, RequestContext, ResponseContext, V1ListMeta, V1Node, V1Pod } from '@kubernetes/client-node';
// The values come from the modules that define them, not from the package index (client-node 2.0.1 has no
// "exports" map, and its index.js re-exports everything): the index also loads exec/attach/cp/port-forward,
// and with them ws, tar-fs, tar-stream and streamx (≈ 110 KiB of bundle, evaluated at module init) that this
// controller never uses. Its only other effect, a `File` global polyfill for Node 18, is a no-op on Node 22.
// Pinned: test/unit/adapters/kubernetes-imports.test.ts fails if a path moves or stops being the class the
// package exports (and tsc fails if a path disappears).
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  Observable,
  ServerConfiguration,
} from '@kubernetes/client-node/dist/gen/index.js';
import { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
import pLimit from 'p-limit';
import * as z from 'zod';
import type {
  CiliumNodePort,
  CiliumNodePortFactory,
  ClusterNodesPort,
  ClusterNodesPortFactory,
  KubeNodeRecord,
  PodRecord,
  TokenPort,
} from '../core/ports.js';
import type { CiliumNodeRecord, ClusterInfo, NodeStatusRecord } from '../core/types.js';
import { fieldPath } from '../shared/field-path.js';

const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
/** Node reads in flight at once (readNodeStatuses); only nodes whose address may have moved are read at all. */
const NODE_READ_CONCURRENCY = 16;

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

/**
 * client-node leaves `rejectUnauthorized` unset when skipTLSVerify is false, so NODE_TLS_REJECT_UNAUTHORIZED=0
 * in the environment would silently turn verification off. Pin it on.
 */
class VerifyingKubeConfig extends KubeConfig {
  override createDispatcherOptions(cluster: Cluster | null, agentOptions: AgentOptions) {
    return super.createDispatcherOptions(cluster, { ...agentOptions, rejectUnauthorized: true });
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
  // Network and TLS failures: undici reports "fetch failed" with the reason in `cause`.
  const e = err as { name?: unknown; message?: unknown; cause?: { name?: unknown; code?: unknown; message?: unknown } } | undefined;
  const cause = e?.cause;
  // The request deadline (AbortSignal.timeout) ends the call with a TimeoutError and no code: the server never
  // answered, like a reset connection, so it gets a code too and counts as transient (handlers/teardown.ts).
  const timedOut = e?.name === 'TimeoutError' || cause?.name === 'TimeoutError';
  const code = typeof cause?.code === 'string' ? cause.code : timedOut ? 'TimeoutError' : undefined;
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

/** The in-memory kubeconfig: one cluster (server, CA, TLS verified), one token user, one context. */
export function buildKubeConfig(cluster: ClusterInfo, token: string): KubeConfig {
  const kc = new VerifyingKubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: cluster.name,
        server: cluster.endpoint,
        caData: cluster.certificateAuthorityData,
        skipTLSVerify: false,
      },
    ],
    users: [{ name: 'eks-hybrid-routes', token }],
    contexts: [{ name: cluster.name, cluster: cluster.name, user: 'eks-hybrid-routes' }],
    currentContext: cluster.name,
  });
  return kc;
}

/**
 * A per-request deadline: without one, an API server that never answers would hold the run until the
 * Lambda times out. The abort surfaces as a failed read, so the run changes nothing.
 */
function withTimeout(ms: number): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context: RequestContext) => {
          context.setSignal(AbortSignal.timeout(ms));
          return new Observable(Promise.resolve(context));
        },
        post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
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
function internalIpsOf(addresses: readonly { type?: string | null; address?: string | null }[] | null | undefined): string[] {
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
 * GET one path of the API server through client-node's own request layer: its request context, the kubeconfig's
 * authentication and TLS (applySecurityAuthentication: the token, the cluster CA, verification pinned on) and its
 * fetch library; a status other than 2xx is client-node's ApiException, as from a generated API. Not the generated
 * CustomObjectsApi or CoreV1Api: for a custom resource they return the JSON untyped anyway, and either one brings
 * client-node's ObjectSerializer, which references all 759 generated models, so the bundle plugin that leaves
 * unreferenced models out (infra/bundling.ts) could leave out none (≈ 570 KiB of bundle, ≈ 40 ms of module init,
 * which is mostly V8 compiling the bundle; test/bench/bundle.ts measures it), for two GETs whose answers are
 * validated here with zod anyway.
 */
async function getJson(
  kc: KubeConfig,
  server: ServerConfiguration<Record<string, string>>,
  request: { call: string; path: string; query?: Record<string, string>; timeoutMs: number },
): Promise<unknown> {
  const context = server.makeRequestContext(request.path, HttpMethod.GET);
  for (const [name, value] of Object.entries(request.query ?? {})) context.setQueryParam(name, value);
  context.setHeaderParam('Accept', 'application/json');
  context.setSignal(AbortSignal.timeout(request.timeoutMs));
  await kc.applySecurityAuthentication(context);
  const response = await new IsomorphicFetchHttpLibrary().send(context).toPromise();
  const text = await response.body.text();
  if (response.httpStatusCode < 200 || response.httpStatusCode > 299) throw new ApiException(response.httpStatusCode, request.call, text, response.headers);
  return JSON.parse(text) as unknown;
}

export function createCiliumNodeReader(options: CiliumNodeReaderOptions): CiliumNodePort {
  const { cluster, token, pageSize = DEFAULT_PAGE_SIZE, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS } = options;
  const kc = buildKubeConfig(cluster, token);
  const server = new ServerConfiguration<Record<string, string>>(cluster.endpoint, {});

  return {
    async readNodeStatuses(names) {
      const limit = pLimit(NODE_READ_CONCURRENCY);
      const read = (name: string) =>
        limit(async (): Promise<[string, NodeStatusRecord]> => {
          try {
            const call = `read node ${name}`;
            const path = `/api/v1/nodes/${encodeURIComponent(name)}`;
            const node = await requestOrNotFound(call, token, () => getJson(kc, server, { call, path, timeoutMs: requestTimeoutMs }));
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
          page = await getJson(kc, server, {
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
function perTokenClient<T>(tokens: TokenPort, build: (cluster: ClusterInfo, token: string) => T): (cluster: ClusterInfo) => Promise<T> {
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

// ---------------------------------------------------------------------------------------------------------
// Teardown: Nodes, their Pods and CiliumNodes, with the teardown role's token.
// ---------------------------------------------------------------------------------------------------------

/** The annotation the kubelet puts on the API mirror of a static pod. */
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

export interface ClusterNodesClientOptions {
  cluster: ClusterInfo;
  token: string;
  pageSize?: number;
  /** Per request (each page), default 15 s. */
  requestTimeoutMs?: number;
}

/** Runs one API call; any failure becomes a KubernetesApiError named after `call`, minus the token. */
async function request<T>(call: string, token: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    throw toKubernetesError(call, err, token);
  }
}

/** Like `request`, but HTTP 404 (the object, or its namespace, does not exist) is `'not-found'`. */
async function requestOrNotFound<T>(call: string, token: string, send: () => Promise<T>): Promise<T | 'not-found'> {
  try {
    return await request(call, token, send);
  } catch (err) {
    if (err instanceof KubernetesApiError && err.statusCode === 404) return 'not-found';
    throw err;
  }
}

/**
 * Every item of a typed list, following `continue` tokens. Like the CiliumNode reader: a failed page, a page
 * without an items array or a repeated token rejects, so a partial list is never returned.
 */
async function listAll<T>(
  call: string,
  token: string,
  fetchPage: (cont: string | undefined) => Promise<{ items?: T[]; metadata?: V1ListMeta }>,
): Promise<T[]> {
  const items: T[] = [];
  let cont: string | undefined;
  do {
    const page = await request(call, token, () => fetchPage(cont));
    if (!Array.isArray(page?.items)) throw new Error(`${call}: malformed response: items: not an array`);
    items.push(...page.items);
    const next = page.metadata?._continue || undefined;
    if (next !== undefined && next === cont) throw new Error(`${call}: server repeated a continue token`);
    cont = next;
  } while (cont);
  return items;
}

/** One Node → KubeNodeRecord; throws naming the item's index when it has no name (it could not be acted on). */
export function toKubeNodeRecord(node: V1Node, index: number): KubeNodeRecord {
  const name = node.metadata?.name;
  if (!name) throw new Error(`malformed Node items[${index}]: metadata.name: missing`);
  return {
    name,
    providerID: node.spec?.providerID,
    labels: { ...node.metadata?.labels },
    unschedulable: node.spec?.unschedulable ?? false,
    internalIPs: internalIpsOf(node.status?.addresses),
  };
}

/** One Pod → PodRecord; throws naming the item's index when it has no name or namespace (it could not be evicted). */
export function toPodRecord(pod: V1Pod, index: number): PodRecord {
  const { name, namespace } = pod.metadata ?? {};
  if (!name || !namespace) {
    throw new Error(`malformed Pod items[${index}]: metadata.${name ? 'namespace' : 'name'}: missing`);
  }
  return {
    namespace,
    name,
    ownerKinds: (pod.metadata?.ownerReferences ?? []).map((owner) => owner.kind),
    // The annotation's value (a hash) does not matter, only its presence.
    mirror: pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined,
    terminating: pod.metadata?.deletionTimestamp != null,
    phase: pod.status?.phase,
  };
}

export function createClusterNodesClient(options: ClusterNodesClientOptions): ClusterNodesPort {
  const { cluster, token, pageSize = DEFAULT_PAGE_SIZE, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS } = options;
  const kc = buildKubeConfig(cluster, token);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  // The same listing and parsing code as the reconciler's reader.
  const ciliumNodes = createCiliumNodeReader({ cluster, token, pageSize, requestTimeoutMs });
  const timeout = () => withTimeout(requestTimeoutMs);
  const page = (cont: string | undefined) => ({ limit: pageSize, ...(cont ? { _continue: cont } : {}) });

  return {
    listCiliumNodes: () => ciliumNodes.listCiliumNodes(),
    readNodeStatuses: (names) => ciliumNodes.readNodeStatuses(names),

    async listNodes(labelSelector) {
      const nodes = await listAll('list nodes', token, (cont) =>
        core.listNode({ ...(labelSelector ? { labelSelector } : {}), ...page(cont) }, timeout()),
      );
      return nodes.map(toKubeNodeRecord);
    },

    async cordonNode(name) {
      // Read first, so a node that is already cordoned is reported as such (and not patched again).
      const node = await requestOrNotFound(`read node ${name}`, token, () => core.readNode({ name }, timeout()));
      if (node === 'not-found') return 'not-found';
      if (node.spec?.unschedulable) return 'already-cordoned';
      // A JSON merge patch touches spec.unschedulable only. client-node picks the JSON Patch content type for
      // every patch by default, so the header is overridden by a middleware that runs after the request is built.
      const patched = await requestOrNotFound(`cordon node ${name}`, token, () =>
        core.patchNode(
          { name, body: { spec: { unschedulable: true } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch, timeout()),
        ),
      );
      return patched === 'not-found' ? 'not-found' : 'cordoned';
    },

    async listPodsOnNode(name) {
      const pods = await listAll(`list pods on node ${name}`, token, (cont) =>
        core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}`, ...page(cont) }, timeout()),
      );
      return pods.map(toPodRecord);
    },

    async evictPod(namespace, name) {
      const call = `evict pod ${namespace}/${name}`;
      try {
        const outcome = await requestOrNotFound(call, token, () =>
          core.createNamespacedPodEviction(
            { name, namespace, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } } },
            timeout(),
          ),
        );
        return outcome === 'not-found' ? 'not-found' : 'evicted';
      } catch (err) {
        // 429 TooManyRequests: a PodDisruptionBudget allows no disruption right now; the caller tries again later.
        if (err instanceof KubernetesApiError && err.statusCode === 429) return 'blocked';
        throw err;
      }
    },

    async deleteNode(name) {
      const outcome = await requestOrNotFound(`delete node ${name}`, token, () => core.deleteNode({ name }, timeout()));
      return outcome === 'not-found' ? 'not-found' : 'deleted';
    },

    async deleteCiliumNode(name) {
      // 404 also when the CiliumNode CRD is not installed: either way there is no such object to delete.
      const outcome = await requestOrNotFound(`delete ciliumnode ${name}`, token, () =>
        custom.deleteClusterCustomObject({ group: 'cilium.io', version: 'v2', plural: 'ciliumnodes', name }, timeout()),
      );
      return outcome === 'not-found' ? 'not-found' : 'deleted';
    },
  };
}

/** The teardown's Kubernetes client (cordon, drain, delete), per cluster and token. */
export function createClusterNodesPortFactory(
  tokens: TokenPort,
  options: { pageSize?: number; requestTimeoutMs?: number } = {},
): ClusterNodesPortFactory {
  return perTokenClient(tokens, (cluster, token) => createClusterNodesClient({ cluster, token, ...options }));
}
