/**
 * Shared pieces of the end-to-end suites (not a test file): pointing the process's environment at a local
 * cloud and back, building the real reconcile handler, larger scenarios, the control plane, and reading
 * the cloud's route tables and call log.
 */
import { fakeLambdaContext } from '../support/fakes.js';
import type { LocalCloud } from '../localcloud/server.js';
import { type ScenarioInput, defaultScenario } from '../localcloud/scenario.js';
import type { CloudState } from '../localcloud/state.js';
// Type only (erased): the modules themselves are imported lazily, see makeHandler.
import type { ControllerDeps } from '../../functions/service/dependencies.js';

export const MANAGED_TAG = 'eks-hybrid-routes/managed';
export const ROUTE_TABLE_TAG = `${MANAGED_TAG}=true`;
export const TABLES = ['rtb-0a1b2c3d4e5f60101', 'rtb-0a1b2c3d4e5f60102', 'rtb-0a1b2c3d4e5f60103'];
/** The EC2 actions that change something; a refused run must make none of them. */
export const MUTATING_EC2_ACTIONS = new Set(['CreateRoute', 'ReplaceRoute', 'DeleteRoute', 'ModifyNetworkInterfaceAttribute', 'ModifyInstanceAttribute']);

/**
 * Points process.env at `cloud` (the SDK reads AWS_ENDPOINT_URL, AWS_REGION and the credentials from it; the
 * project's clients set no endpoint) and returns a function that puts the environment back exactly.
 */
export function useCloudEnv(cloud: LocalCloud, extra: Record<string, string> = {}): () => void {
  const saved = { ...process.env };
  Object.assign(process.env, cloud.env, {
    ROUTE_TABLE_TAG,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    ...extra,
  });
  return () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  };
}

/** The environment a CLI run gets: the cloud's, plus the managed-table tag. */
export function cliEnv(cloud: LocalCloud, extra: Record<string, string> = {}): Record<string, string | undefined> {
  return { ...cloud.env, ROUTE_TABLE_TAG, ...extra };
}

type Handler = (event: unknown, context: unknown) => Promise<unknown>;
export interface HandlerResult {
  status: string;
  mode: string;
  counts: Record<string, number>;
}

/**
 * The real reconcile handler with a fresh container (its own configuration and clients), configured from
 * process.env as in Lambda, with the real createControllerDeps unless `wrapDeps` adjusts what it built.
 * Imported lazily so the Powertools singletons are made after useCloudEnv set their log level.
 */
export async function makeHandler(
  wrapDeps: (deps: ControllerDeps) => ControllerDeps | Promise<ControllerDeps> = (deps) => deps,
): Promise<(event: unknown) => Promise<HandlerResult>> {
  const { createHandler } = await import('../../functions/handlers/reconcile.js');
  const { ENV_LABELS, parseControllerConfig, rawConfigFromEnv } = await import('../../functions/core/config.js');
  const { createControllerDeps } = await import('../../functions/service/dependencies.js');
  const handler = createHandler({
    loadConfig: () => parseControllerConfig(rawConfigFromEnv(process.env), ENV_LABELS),
    createDeps: async (config) => wrapDeps(await createControllerDeps(config)),
  }) as unknown as Handler;
  return async (event) => (await handler(event, lambdaContext())) as HandlerResult;
}

export function lambdaContext() {
  return fakeLambdaContext({ awsRequestId: `e2e-${crypto.randomUUID()}` });
}

export { sampleEvent } from '../localcloud/demo.js';

export const DIRECT_RECONCILE = { action: 'reconcile' };

/** One control-plane request; the answer's JSON (or text) and status. */
export async function control(cloud: LocalCloud, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${cloud.endpoint}/_localcloud/${path}`, {
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text
  }
  return { status: response.status, body: parsed };
}

const hex = (prefix: string, i: number) => `${prefix}${i.toString(16).padStart(13, '0')}`;

export interface NodeSpec {
  name: string;
  instanceId: string;
  eni: string;
  ip: string;
  cidr: string;
}

/** The i-th extra hybrid node: spread over the three node subnets, a /26 each from 10.30.16.0 up. */
export function extraNode(i: number): NodeSpec {
  const subnet = i % 3;
  const offset = i * 64;
  return {
    name: `mi-${hex('0e2e', i)}`,
    instanceId: `i-${hex('0e2e', i)}`,
    eni: `eni-${hex('0e2e', i)}`,
    ip: `10.20.${subnet + 1}.${20 + Math.floor(i / 3)}`,
    cidr: `10.30.${16 + Math.floor(offset / 256)}.${offset % 256}/26`,
  };
}

/**
 * The default scenario plus `count` running hybrid nodes (EC2 instance, ENI, managed instance, CiliumNode),
 * the route quota raised to 1000, and only the first `tables` managed tables kept.
 */
export function scenarioWithNodes(count: number, options: { tables?: number } = {}): ScenarioInput {
  const base = defaultScenario();
  const nodes = Array.from({ length: count }, (_, i) => extraNode(i));
  return {
    ...base,
    quotas: { routesPerRouteTable: 1000 },
    routeTables: base.routeTables.slice(0, options.tables ?? base.routeTables.length),
    instances: [
      ...base.instances,
      ...nodes.map((node, i) => ({
        id: node.instanceId,
        subnetId: `subnet-0a1b2c3d4e5f6000${(i % 3) + 1}`,
        privateIp: node.ip,
        networkInterfaceId: node.eni,
        state: 'running' as const,
        sourceDestCheck: true,
        instanceType: 'm5.large',
        tags: { Name: `hybrid-node-x${i}` },
      })),
    ],
    managedInstances: [...base.managedInstances, ...nodes.map((node) => ({ id: node.name, ipAddress: node.ip, activationId: base.activations[0]!.id }))],
    ciliumNodes: [
      ...base.ciliumNodes,
      ...nodes.map((node) => ({
        apiVersion: 'cilium.io/v2' as const,
        kind: 'CiliumNode' as const,
        metadata: { name: node.name, labels: { 'eks.amazonaws.com/compute-type': 'hybrid', 'kubernetes.io/hostname': node.name } },
        spec: { addresses: [{ ip: node.ip, type: 'InternalIP' }], ipam: { podCIDRs: [node.cidr] } },
      })),
    ],
  };
}

/** Every node's pod CIDRs → its ENI, from the cloud's own state (what the tables must hold). */
export function expectedPodRoutes(state: CloudState): Map<string, string> {
  const expected = new Map<string, string>();
  for (const node of state.ciliumNodes.values() as Iterable<any>) {
    const ip = node.spec?.addresses?.find((a: { type: string }) => a.type === 'InternalIP')?.ip;
    const eni = [...state.networkInterfaces.values()].find((e) => e.privateIp === ip);
    if (!eni) continue;
    for (const cidr of node.spec.ipam.podCIDRs as string[]) expected.set(cidr, eni.id);
  }
  return expected;
}

/** A table's routes inside the pod network (10.30.0.0/16), destination → target id. */
export function podRoutes(state: CloudState, tableId: string): Map<string, string> {
  const table = state.routeTables.get(tableId);
  if (!table) throw new Error(`no route table ${tableId}`);
  return new Map(table.routes.filter((r) => r.destination.startsWith('10.30.')).map((r) => [r.destination, r.target.id]));
}

/** How often each `service action status` occurs in the call log. */
export function callCounts(state: CloudState, filter: (call: CloudState['calls'][number]) => boolean = () => true): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of state.calls.filter(filter)) {
    const key = `${call.service} ${call.action} ${call.status}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export function mutatingCalls(state: CloudState) {
  return state.calls.filter((call) => call.service === 'ec2' && MUTATING_EC2_ACTIONS.has(call.action));
}
