/**
 * The teardown's Kubernetes client, with the teardown role's token: lists, cordons and deletes Nodes, lists and
 * evicts their Pods, and deletes CiliumNodes, through @kubernetes/client-node's KubeConfig and generated
 * CoreV1Api/CustomObjectsApi. Its reads of CiliumNodes and Node statuses are the reconciler's reader
 * (kubernetes.ts), and so are its error handling and token redaction. A module of its own so that the
 * reconcile bundle does not carry the KubeConfig and its fetch library (kubernetes.ts says why).
 * The kubeconfig lives in memory only; the server certificate is always verified against the cluster's CA.
 */
import type { AgentOptions } from 'node:https';
import type { Cluster, ConfigurationOptions, RequestContext, ResponseContext, V1ListMeta, V1Node, V1Pod } from '@kubernetes/client-node';
// The values come from the modules that define them, not from the package index (client-node 2.0.1 has no
// "exports" map, and its index.js re-exports everything): the index also loads exec/attach/cp/port-forward,
// and with them ws, tar-fs, tar-stream and streamx (≈ 110 KiB of bundle, evaluated at module init) that this
// controller never uses. Its only other effect, a `File` global polyfill for Node 18, is a no-op on Node 22.
// Pinned: test/unit/adapters/kubernetes-imports.test.ts fails if a path moves or stops being the class the
// package exports (and tsc fails if a path disappears).
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { CoreV1Api, CustomObjectsApi, Observable } from '@kubernetes/client-node/dist/gen/index.js';
import { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
import type { ClusterNodesPort, ClusterNodesPortFactory, KubeNodeRecord, PodRecord, TokenPort } from '../core/ports.js';
import type { ClusterInfo } from '../core/types.js';
import {
  DEFAULT_PAGE_SIZE,
  DEFAULT_REQUEST_TIMEOUT_MS,
  KubernetesApiError,
  createCiliumNodeReader,
  internalIpsOf,
  perTokenClient,
  request,
  requestOrNotFound,
} from './kubernetes.js';

/**
 * client-node leaves `rejectUnauthorized` unset when skipTLSVerify is false, so NODE_TLS_REJECT_UNAUTHORIZED=0
 * in the environment would silently turn verification off. Pin it on.
 */
class VerifyingKubeConfig extends KubeConfig {
  override createDispatcherOptions(cluster: Cluster | null, agentOptions: AgentOptions) {
    return super.createDispatcherOptions(cluster, { ...agentOptions, rejectUnauthorized: true });
  }
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

/** The annotation the kubelet puts on the API mirror of a static pod. */
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

export interface ClusterNodesClientOptions {
  cluster: ClusterInfo;
  token: string;
  pageSize?: number;
  /** Per request (each page), default 15 s. */
  requestTimeoutMs?: number;
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
