/**
 * The local cloud's control plane, on the same port under `/_localcloud/`:
 *
 *   GET    /_localcloud/state                       the whole world as JSON (the contract in the README)
 *   POST   /_localcloud/scenario/<step>             a scenario step (body: JSON, see STEPS below)
 *   POST   /_localcloud/faults                      add a fault rule (faults.ts FaultRule); DELETE clears all
 *   PUT    /_localcloud/latency                     replace the latency rules (LatencyRule[])
 *   PUT    /_localcloud/throttling                  {"enabled": true|false} EC2 token buckets
 *   PUT    /_localcloud/quotas                      {"routesPerRouteTable": 1-1000} the quotas in force from now on
 *   DELETE /_localcloud/calls                       forget the call log
 *
 * Steps go through the same functions the APIs use, so a step and an API call change the world alike.
 */
import * as z from 'zod';
import { addRoute, startInstance, stopInstance, terminateInstance } from './ec2.js';
import { type FaultRule, LIST_ACTIONS, type LatencyRule, isListAction } from './faults.js';
import type { AwsResponse } from './protocol.js';
import type { LocalCloud } from './server.js';
import { disruptionBudgetName, hybridNode, routesPerRouteTableSchema } from './scenario.js';
import { deregisterManagedInstance, registerManagedInstance, silenceAgent } from './ssm.js';
import { type CloudState, kubernetesTime, placeKubelet, routeState, wholeSeconds } from './state.js';

const json = (status: number, body: unknown): AwsResponse => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body, null, 2) });

/** The `GET /_localcloud/state` document. Field names are a contract: extend, never rename. */
export function stateSnapshot(state: CloudState) {
  return {
    region: state.region,
    accountId: state.accountId,
    cluster: { name: state.cluster.name, endpoint: state.cluster.endpoint, remoteNodeNetworks: state.cluster.remoteNodeNetworks, remotePodNetworks: state.cluster.remotePodNetworks },
    quotas: state.quotas,
    routeTables: [...state.routeTables.values()].map((table) => ({
      id: table.id,
      vpcId: table.vpcId,
      tags: table.tags,
      routes: table.routes.map((route) => ({ destination: route.destination, target: route.target.id, targetType: route.target.kind, state: routeState(state, route), origin: route.origin })),
    })),
    networkInterfaces: [...state.networkInterfaces.values()].map((eni) => ({
      id: eni.id,
      privateIp: eni.privateIp,
      vpcId: eni.vpcId,
      subnetId: eni.subnetId,
      instanceId: eni.instanceId ?? null,
      sourceDestCheck: eni.sourceDestCheck,
      tags: eni.tags,
    })),
    instances: [...state.instances.values()],
    managedInstances: [...state.managedInstances.values()],
    activations: [...state.activations.values()],
    ciliumNodes: [...state.ciliumNodes.values()],
    nodes: [...state.nodes.values()],
    pods: [...(state.pods?.values() ?? [])],
    /** Pods a PodDisruptionBudget keeps from being evicted: `[{namespace, name, budget}]`. */
    blockedEvictions: [...(state.blockedEvictions?.entries() ?? [])].map(([key, budget]) => {
      const [namespace, name] = key.split('/');
      return { namespace, name, budget };
    }),
    rules: [...state.rules.values()],
    calls: state.calls.map(({ service, action, status, error }) => ({ service, action, status, ...(error ? { error } : {}) })),
  };
}

const instanceId = z.object({ instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/) }).strict();
const ipv4 = z.string().regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, 'must be an IPv4 address');
const cidr = z.string().regex(/^[0-9a-fA-F.:]+\/\d{1,3}$/, 'must be a CIDR such as 10.30.4.0/24');
const ciliumNodeName = z.string().min(1);

const STEPS = {
  /**
   * A new EC2 instance (and its ENI) in a subnet, running; source/dest check on as EC2 defaults. `joinsAs`: the
   * instance is that existing node's machine from now on (a node replaced under the same name): its kubelet
   * reports from the instance's IP, and Cilium writes that IP into its CiliumNode.
   */
  'launch-instance': z
    .object({
      instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/),
      subnetId: z.string(),
      privateIp: ipv4,
      networkInterfaceId: z.string().regex(/^eni-[0-9a-f]{8,17}$/),
      joinsAs: z.string().min(1).optional(),
    })
    .strict(),
  'terminate-instance': instanceId,
  'stop-instance': instanceId,
  'start-instance': instanceId,
  'register-managed-instance': z.object({ managedInstanceId: z.string().regex(/^mi-[0-9a-f]{17}$/).optional(), ipAddress: ipv4, activationId: z.string().optional() }).strict(),
  'deregister-managed-instance': z.object({ managedInstanceId: z.string() }).strict(),
  /** The node's SSM agent stops answering: Run Command is still accepted, every invocation stays InProgress. */
  'silence-agent': z.object({ managedInstanceId: z.string().regex(/^mi-[0-9a-f]{17}$/) }).strict(),
  /** A PodDisruptionBudget starts (blocked: true, the default) or stops refusing the pod's eviction (429). */
  'block-eviction': z.object({ namespace: z.string().min(1).default('default'), name: z.string().min(1), blocked: z.boolean().default(true) }).strict(),
  /** What the Cilium operator does: the node's CiliumNode (created if new) gets a pod CIDR. */
  'allocate-cidr': z.object({ node: ciliumNodeName, cidr, nodeIp: ipv4.optional() }).strict(),
  /** The CiliumNode (and its Node) goes away, as when a node is deleted from the cluster. */
  'remove-ciliumnode': z.object({ node: ciliumNodeName }).strict(),
  /** A person adds or overwrites a route by hand (console/CLI): origin CreateRoute. */
  'add-route': z
    .object({
      routeTableId: z.string(),
      destination: z.string(),
      networkInterfaceId: z.string().optional(),
      transitGatewayId: z.string().optional(),
      gatewayId: z.string().optional(),
      natGatewayId: z.string().optional(),
      vpcPeeringConnectionId: z.string().optional(),
    })
    .strict(),
} as const;

type Step = keyof typeof STEPS;

/** The body, parsed by `schema`; else an error naming the control and the bad field (answered with 400). */
function validated<T extends z.ZodType>(control: string, schema: T, input: unknown): { data: z.output<T> } {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${control}: ${issue.path.join('.') || '(body)'}: ${issue.message}`);
  }
  return { data: parsed.data };
}

/**
 * A fault rule (faults.ts FaultRule). Fields other than these are kept as sent (GET /_localcloud/faults shows
 * them). `empty` answers a Kubernetes list with no items, so it needs one of the list actions the fake serves.
 */
const faultRule = z
  .looseObject({
    service: z.string().min(1).optional(),
    action: z.string().min(1).optional(),
    kind: z.enum(['error', 'timeout', 'reset', 'wrong-ca', 'empty']),
    status: z.number().int().min(100).max(599).optional(),
    code: z.string().optional(),
    message: z.string().optional(),
    times: z.number().int().min(0).optional(),
    afterCalls: z.number().int().min(0).optional(),
  })
  .superRefine((rule, ctx) => {
    if (rule.kind !== 'empty') return;
    if (rule.service !== undefined && rule.service !== 'kubernetes') {
      ctx.addIssue({ code: 'custom', path: ['service'], message: `kind "empty" answers Kubernetes lists: service must be "kubernetes" (or left out), not "${rule.service}"` });
    } else if (!isListAction(rule.action ?? '')) {
      const got = rule.action === undefined ? 'none' : `"${rule.action}", not a list`;
      ctx.addIssue({ code: 'custom', path: ['action'], message: `kind "empty" answers a list with no items: action must be one of ${LIST_ACTIONS.map((a) => `"${a}"`).join(', ')} (got ${got})` });
    }
  });

/** The quotas in force (state.quotas); the route quota is the one EC2's RouteLimitExceeded enforces. */
const quotas = z.object({ routesPerRouteTable: routesPerRouteTableSchema }).strict();

function runStep(state: CloudState, step: Step, input: unknown): unknown {
  const parsed = validated(step, STEPS[step], input);
  const body = parsed.data as Record<string, string | undefined>;
  switch (step) {
    case 'launch-instance': {
      const subnet = state.subnets.get(body.subnetId!);
      if (!subnet) throw new Error(`launch-instance: subnetId: unknown subnet ${body.subnetId}`);
      if (state.instances.has(body.instanceId!)) throw new Error(`launch-instance: instanceId: ${body.instanceId} already exists`);
      if (state.networkInterfaces.has(body.networkInterfaceId!)) throw new Error(`launch-instance: networkInterfaceId: ${body.networkInterfaceId} already exists`);
      if (body.joinsAs !== undefined && !state.nodes.has(body.joinsAs)) throw new Error(`launch-instance: joinsAs: no Node ${body.joinsAs}`);
      state.instances.set(body.instanceId!, { id: body.instanceId!, subnetId: subnet.id, privateIp: body.privateIp!, networkInterfaceId: body.networkInterfaceId!, state: 'running', tags: {}, instanceType: 'm5.large' });
      state.networkInterfaces.set(body.networkInterfaceId!, { id: body.networkInterfaceId!, vpcId: subnet.vpcId, subnetId: subnet.id, privateIp: body.privateIp!, ipv6Addresses: [], instanceId: body.instanceId!, attachTime: wholeSeconds(), sourceDestCheck: true, tags: {} });
      if (body.joinsAs !== undefined) joinAs(state, body.joinsAs, body.privateIp!);
      return { instanceId: body.instanceId };
    }
    case 'terminate-instance':
      return terminateInstance(state, body.instanceId!);
    case 'stop-instance':
      return stopInstance(state, body.instanceId!);
    case 'start-instance':
      return startInstance(state, body.instanceId!);
    case 'register-managed-instance':
      return { managedInstanceId: registerManagedInstance(state, { ...(body.managedInstanceId ? { id: body.managedInstanceId } : {}), ipAddress: body.ipAddress!, ...(body.activationId ? { activationId: body.activationId } : {}) }) };
    case 'deregister-managed-instance':
      return deregisterManagedInstance(state, body.managedInstanceId!);
    case 'silence-agent':
      return silenceAgent(state, body.managedInstanceId!);
    case 'block-eviction':
      return blockEviction(state, parsed.data as { namespace: string; name: string; blocked: boolean });
    case 'allocate-cidr':
      return allocateCidr(state, body.node!, body.cidr!, body.nodeIp);
    case 'remove-ciliumnode':
      state.ciliumNodes.delete(body.node!);
      state.nodes.delete(body.node!);
      return { removed: body.node };
    case 'add-route': {
      const { routeTableId, destination, ...targets } = body;
      return addRoute(state, routeTableId!, { destination: destination!, ...targets });
    }
  }
}

/** The node's kubelet and Cilium agent now run at `ip`: its Node and CiliumNode say so, and its kubelet reports. */
function joinAs(state: CloudState, name: string, ip: string) {
  const node = state.nodes.get(name)!;
  const status = ((node.status ??= {}) as { addresses?: { type: string; address: string }[] });
  status.addresses = [{ type: 'InternalIP', address: ip }, ...(status.addresses ?? []).filter((a) => a.type !== 'InternalIP')];
  const spec = (state.ciliumNodes.get(name)?.spec ?? undefined) as { addresses?: { type: string; ip: string }[] } | undefined;
  if (spec) spec.addresses = [{ type: 'InternalIP', ip }, ...(spec.addresses ?? []).filter((a) => a.type !== 'InternalIP')];
  placeKubelet(state, name, ip);
}

/** Gives a node a pod CIDR the way the Cilium operator does (creating its CiliumNode and Node if new). */
export function allocateCidr(state: CloudState, name: string, cidr: string, nodeIp?: string) {
  let node = state.ciliumNodes.get(name) as { spec?: { addresses?: { ip: string; type: string }[]; ipam?: { podCIDRs?: string[] } } } | undefined;
  if (!node) {
    if (!nodeIp) throw new Error(`allocate-cidr: nodeIp: required for a new CiliumNode ${name}`);
    node = {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNode',
      metadata: { name, creationTimestamp: kubernetesTime(wholeSeconds()), labels: { 'eks.amazonaws.com/compute-type': 'hybrid', 'kubernetes.io/hostname': name } },
      spec: { addresses: [{ ip: nodeIp, type: 'InternalIP' }], ipam: { podCIDRs: [] } },
    } as never;
    state.ciliumNodes.set(name, node as Record<string, unknown>);
    state.nodes.set(name, hybridNode(state, node as Record<string, unknown>));
    placeKubelet(state, name, nodeIp);
  }
  const spec = (node.spec ??= {});
  const ipam = (spec.ipam ??= {});
  ipam.podCIDRs = [...new Set([...(ipam.podCIDRs ?? []), cidr])];
  return { node: name, podCIDRs: ipam.podCIDRs };
}

/** Makes a PodDisruptionBudget refuse (or stop refusing) the eviction of one pod. */
export function blockEviction(state: CloudState, input: { namespace: string; name: string; blocked: boolean }) {
  const key = `${input.namespace}/${input.name}`;
  const pod = state.pods?.get(key) as { metadata: Record<string, unknown> } | undefined;
  if (!pod) throw new Error(`block-eviction: name: no pod ${key}`);
  const blocked = (state.blockedEvictions ??= new Map());
  if (input.blocked) blocked.set(key, blocked.get(key) ?? disruptionBudgetName(pod));
  else blocked.delete(key);
  return { namespace: input.namespace, name: input.name, blocked: input.blocked };
}

export function handleControl(cloud: LocalCloud, method: string, url: URL, body: string): AwsResponse {
  const path = url.pathname.replace(/^\/_localcloud\//, '');
  const parse = () => (body.trim() === '' ? {} : (JSON.parse(body) as unknown));
  try {
    if (method === 'GET' && path === 'state') return json(200, stateSnapshot(cloud.state));
    if (method === 'POST' && path.startsWith('scenario/')) {
      const step = path.slice('scenario/'.length);
      if (!(step in STEPS)) return json(404, { error: `unknown scenario step "${step}"; steps: ${Object.keys(STEPS).join(', ')}` });
      return json(200, runStep(cloud.state, step as Step, parse()) ?? {});
    }
    if (method === 'POST' && path === 'faults') return json(200, { id: cloud.faults.addFault(validated('faults', faultRule, parse()).data as FaultRule) });
    if (method === 'DELETE' && path === 'faults') {
      cloud.faults.clear();
      return json(200, {});
    }
    if (method === 'GET' && path === 'faults') return json(200, cloud.faults.list());
    if (method === 'PUT' && path === 'latency') {
      cloud.faults.setLatency(parse() as LatencyRule[]);
      return json(200, {});
    }
    if (method === 'PUT' && path === 'throttling') {
      const { enabled } = parse() as { enabled?: unknown };
      if (typeof enabled !== 'boolean') throw new Error('throttling: enabled: must be true or false');
      cloud.throttling.enabled = enabled;
      cloud.throttling.reset();
      return json(200, { enabled: cloud.throttling.enabled });
    }
    if (method === 'PUT' && path === 'quotas') {
      const { routesPerRouteTable } = validated('quotas', quotas, parse()).data;
      cloud.state.quotas.routesPerRouteTable = routesPerRouteTable;
      return json(200, cloud.state.quotas);
    }
    if (method === 'DELETE' && path === 'calls') {
      cloud.state.calls.length = 0;
      return json(200, {});
    }
    return json(404, { error: `no control endpoint ${method} /_localcloud/${path}` });
  } catch (error) {
    return json(400, { error: error instanceof Error ? error.message : String(error) });
  }
}
