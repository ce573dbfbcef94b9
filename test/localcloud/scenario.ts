/**
 * Scenario files: the starting world of the local cloud, as JSON. The zod schema here is the one source;
 * `scenario.schema.json` beside it is generated from it (a test keeps the two equal). A bad scenario is
 * refused with the path of the bad field.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { fieldPath } from '../../functions/shared/field-path.js';
import { type CloudState, type LocalRoute, type RouteTargetKind, kubernetesTime, nodeInternalIps, placeKubelet, wholeSeconds } from './state.js';

const HOUR_MS = 3_600_000;

const id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}-[0-9a-f]{8,17}$`), `must look like ${prefix}-0123456789abcdef0`);
const cidr = z.string().regex(/^[0-9a-fA-F.:]+\/\d{1,3}$/, 'must be a CIDR such as 10.30.0.0/16');
const ipv4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'must be an IPv4 address');
const tags = z.record(z.string(), z.string()).default({});

const routeSchema = z
  .object({
    destination: cidr,
    networkInterfaceId: id('eni').optional(),
    transitGatewayId: id('tgw').optional(),
    gatewayId: z.string().optional(),
    natGatewayId: id('nat').optional(),
    vpcPeeringConnectionId: id('pcx').optional(),
  })
  .strict()
  .refine(
    (route) => [route.networkInterfaceId, route.transitGatewayId, route.gatewayId, route.natGatewayId, route.vpcPeeringConnectionId].filter(Boolean).length === 1,
    'a route needs exactly one target (networkInterfaceId, transitGatewayId, gatewayId, natGatewayId or vpcPeeringConnectionId)',
  );

/**
 * EventBridge API Reference, PutRule: Name 1–64 of `[\.\-_A-Za-z0-9]+`; "You must specify at least one of
 * EventPattern or ScheduleExpression"; ScheduleExpression `rate(…)` or `cron(…)`; State ENABLED | DISABLED;
 * Description ≤ 512. An event pattern may be written as JSON text (as the API carries it) or as an object.
 */
const ruleSchema = z
  .object({
    name: z.string().min(1).max(64).regex(/^[.\-_A-Za-z0-9]+$/, 'must be 1-64 of letters, digits, ".", "-", "_"'),
    state: z.enum(['ENABLED', 'DISABLED']).default('ENABLED'),
    scheduleExpression: z
      .string()
      .regex(/^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$/, 'must be rate(<n> <unit>) or cron(<fields>)')
      .optional(),
    eventPattern: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
    description: z.string().max(512).optional(),
  })
  .strict()
  .refine((rule) => rule.scheduleExpression !== undefined || rule.eventPattern !== undefined, 'a rule needs an eventPattern or a scheduleExpression (or both)')
  .refine((rule) => typeof rule.eventPattern !== 'string' || isJsonObjectText(rule.eventPattern), { message: 'must be a JSON object', path: ['eventPattern'] });

function isJsonObjectText(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

const wholeFrom1To1000 = 'must be a whole number from 1 to 1000';
/**
 * Amazon VPC quotas, "Routes per route table (non-propagated routes)": 50 by default, adjustable up to 1,000.
 * Shared by the scenario file (`quotas.routesPerRouteTable`) and the `PUT /_localcloud/quotas` control.
 */
export const routesPerRouteTableSchema = z.number({ error: wholeFrom1To1000 }).int(wholeFrom1To1000).min(1, wholeFrom1To1000).max(1000, wholeFrom1To1000);

export const scenarioSchema = z
  .object({
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/).default('us-west-2'),
    accountId: z.string().regex(/^\d{12}$/).default('123456789012'),
    quotas: z.object({ routesPerRouteTable: routesPerRouteTableSchema.default(50) }).strict().default({ routesPerRouteTable: 50 }),
    cluster: z
      .object({
        name: z.string().regex(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/),
        remoteNodeNetworks: z.array(cidr).min(1),
        remotePodNetworks: z.array(cidr).min(1),
        readerRoleArn: z.string().regex(/^arn:aws:iam::\d{12}:role\/.+$/).optional(),
      })
      .strict(),
    vpcs: z.array(z.object({ id: id('vpc'), cidr }).strict()).default([]),
    subnets: z.array(z.object({ id: id('subnet'), vpcId: id('vpc'), cidr, az: z.string() }).strict()).default([]),
    routeTables: z.array(z.object({ id: id('rtb'), vpcId: id('vpc'), tags, routes: z.array(routeSchema).default([]) }).strict()).default([]),
    instances: z
      .array(
        z
          .object({
            id: id('i'),
            subnetId: id('subnet'),
            privateIp: ipv4,
            networkInterfaceId: id('eni'),
            state: z.enum(['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated']).default('running'),
            sourceDestCheck: z.boolean().default(true),
            instanceType: z.string().default('m5.large'),
            tags,
            /** Tags of the instance's primary ENI (DescribeNetworkInterfaces `tagSet`, `tag:` filters). */
            networkInterfaceTags: tags,
            /**
             * When it was launched, so since when its primary ENI is attached (`attachment.attachTime`). Default:
             * two hours before the cloud starts, one before the CiliumNodes were created (as nodes join from
             * running machines).
             */
            launchTime: z.iso.datetime({ offset: true }).optional(),
          })
          .strict(),
      )
      .default([]),
    managedInstances: z
      .array(
        z
          .object({
            id: z.string().regex(/^mi-[0-9a-f]{17}$/, 'must be mi- and 17 hex digits'),
            ipAddress: ipv4,
            activationId: z.string().optional(),
            /** `silent`: the SSM agent accepts Run Command but never reports back (see ssm.ts). */
            agent: z.enum(['responsive', 'silent']).default('responsive'),
          })
          .strict(),
      )
      .default([]),
    activations: z.array(z.object({ id: z.string().min(1), tags }).strict()).default([]),
    ciliumNodes: z
      .array(
        z.looseObject({
          apiVersion: z.literal('cilium.io/v2'),
          kind: z.literal('CiliumNode'),
          metadata: z.looseObject({ name: z.string().min(1) }),
        }),
      )
      .default([]),
    /**
     * `v1` Pods, bound to nodes by `spec.nodeName`. `evictionBlocked: true` (not part of the object the API
     * serves) makes the Eviction API refuse the pod as a PodDisruptionBudget would: 429 TooManyRequests.
     */
    pods: z
      .array(
        z.looseObject({
          apiVersion: z.literal('v1'),
          kind: z.literal('Pod'),
          metadata: z.looseObject({ name: z.string().min(1), namespace: z.string().min(1).default('default') }),
          evictionBlocked: z.boolean().optional(),
        }),
      )
      .default([]),
    /** EventBridge rules on the default event bus (DescribeRule, EnableRule, DisableRule, ListRules). */
    rules: z.array(ruleSchema).default([]),
  })
  .strict();

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

export function parseScenario(input: unknown, source = 'scenario'): Scenario {
  const parsed = scenarioSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ScenarioError(`${source}: ${fieldPath(issue.path, '(root)')}: ${issue.message}`);
  }
  return parsed.data;
}

export function readScenarioFile(path: string): Scenario {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ScenarioError(`${path}: not readable JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  return parseScenario(json, path);
}

export const DEFAULT_SCENARIO_PATH = new URL('./scenarios/default.json', import.meta.url);

export function defaultScenario(): Scenario {
  return readScenarioFile(DEFAULT_SCENARIO_PATH.pathname);
}

const TARGET_FIELDS: [keyof z.infer<typeof routeSchema>, RouteTargetKind][] = [
  ['networkInterfaceId', 'networkInterface'],
  ['transitGatewayId', 'transitGateway'],
  ['gatewayId', 'gateway'],
  ['natGatewayId', 'natGateway'],
  ['vpcPeeringConnectionId', 'vpcPeeringConnection'],
];

/** The in-memory world a scenario describes; references between resources are checked. */
export function buildState(scenario: Scenario): CloudState {
  const state: CloudState = {
    region: scenario.region,
    accountId: scenario.accountId,
    quotas: { routesPerRouteTable: scenario.quotas.routesPerRouteTable },
    cluster: {
      name: scenario.cluster.name,
      arn: `arn:aws:eks:${scenario.region}:${scenario.accountId}:cluster/${scenario.cluster.name}`,
      remoteNodeNetworks: scenario.cluster.remoteNodeNetworks,
      remotePodNetworks: scenario.cluster.remotePodNetworks,
      ...(scenario.cluster.readerRoleArn ? { readerRoleArn: scenario.cluster.readerRoleArn } : {}),
      endpoint: '',
      caPem: '',
    },
    vpcs: new Map(scenario.vpcs.map((vpc) => [vpc.id, vpc])),
    subnets: new Map(scenario.subnets.map((subnet) => [subnet.id, subnet])),
    routeTables: new Map(),
    networkInterfaces: new Map(),
    instances: new Map(),
    managedInstances: new Map(scenario.managedInstances.map((mi) => [mi.id, { ...mi, pingStatus: 'Online' as const }])),
    activations: new Map(scenario.activations.map((activation) => [activation.id, activation])),
    ciliumNodes: new Map(scenario.ciliumNodes.map((node) => [node.metadata.name, node as Record<string, unknown>])),
    nodes: new Map(),
    rules: new Map(),
    credentials: new Map([
      [
        'AKIDLOCALCLOUD',
        { accessKeyId: 'AKIDLOCALCLOUD', secretAccessKey: 'localcloud-secret', principalArn: `arn:aws:iam::${scenario.accountId}:user/localcloud-admin` },
      ],
    ]),
    calls: [],
  };
  const fail = (path: string, message: string): never => {
    throw new ScenarioError(`scenario: ${path}: ${message}`);
  };
  scenario.subnets.forEach((subnet, i) => state.vpcs.has(subnet.vpcId) || fail(`subnets[${i}].vpcId`, `unknown VPC ${subnet.vpcId}`));
  const started = wholeSeconds();
  const defaultLaunchTime = new Date(started.getTime() - 2 * HOUR_MS);
  const defaultCreationTime = new Date(started.getTime() - HOUR_MS);
  scenario.instances.forEach((instance, i) => {
    const subnet = state.subnets.get(instance.subnetId) ?? fail(`instances[${i}].subnetId`, `unknown subnet ${instance.subnetId}`);
    const { networkInterfaceTags: _eniTags, launchTime, ...fields } = instance;
    state.instances.set(instance.id, fields);
    if (instance.state !== 'terminated') {
      state.networkInterfaces.set(instance.networkInterfaceId, {
        id: instance.networkInterfaceId,
        vpcId: subnet.vpcId,
        subnetId: subnet.id,
        privateIp: instance.privateIp,
        ipv6Addresses: [],
        instanceId: instance.id,
        attachTime: wholeSeconds(launchTime ? new Date(launchTime) : defaultLaunchTime),
        sourceDestCheck: instance.sourceDestCheck,
        tags: { ...instance.networkInterfaceTags },
      });
    }
  });
  scenario.routeTables.forEach((table, t) => {
    const vpc = state.vpcs.get(table.vpcId) ?? fail(`routeTables[${t}].vpcId`, `unknown VPC ${table.vpcId}`);
    const local: LocalRoute = { destination: vpc.cidr, family: 'ipv4', origin: 'CreateRouteTable', target: { kind: 'local', id: 'local' } };
    const routes = table.routes.map((route): LocalRoute => {
      const [field, kind] = TARGET_FIELDS.find(([name]) => route[name] !== undefined)!;
      return { destination: route.destination, family: route.destination.includes(':') ? 'ipv6' : 'ipv4', origin: 'CreateRoute', target: { kind, id: String(route[field]) } };
    });
    state.routeTables.set(table.id, { id: table.id, vpcId: table.vpcId, tags: table.tags, routes: [local, ...routes] });
  });
  // Each CiliumNode's Kubernetes Node, as a hybrid node registers it: named like the managed instance.
  for (const node of state.ciliumNodes.values()) {
    const metadata = node.metadata as { name: string; creationTimestamp?: unknown };
    // The API server sets it on every object; a scenario may give its own.
    metadata.creationTimestamp ??= kubernetesTime(defaultCreationTime);
    const kubeNode = hybridNode(state, node);
    state.nodes.set(metadata.name, kubeNode);
    // Its kubelet runs on the instance at its address; with none (or one that is down) it is silent, last heard of
    // when its CiliumNode was created.
    placeKubelet(state, metadata.name, nodeInternalIps(kubeNode)[0], defaultCreationTime);
  }
  state.pods = new Map();
  state.blockedEvictions = new Map();
  scenario.pods.forEach((pod, i) => {
    const { evictionBlocked, ...object } = pod;
    const key = `${object.metadata.namespace}/${object.metadata.name}`;
    if (state.pods!.has(key)) fail(`pods[${i}].metadata.name`, `duplicate pod ${key}`);
    state.pods!.set(key, object as Record<string, unknown>);
    if (evictionBlocked) state.blockedEvictions!.set(key, disruptionBudgetName(object));
  });
  for (const rule of scenario.rules) {
    state.rules.set(rule.name, {
      name: rule.name,
      state: rule.state,
      ...(rule.eventPattern !== undefined ? { eventPattern: typeof rule.eventPattern === 'string' ? rule.eventPattern : JSON.stringify(rule.eventPattern) } : {}),
      ...(rule.scheduleExpression !== undefined ? { scheduleExpression: rule.scheduleExpression } : {}),
      ...(rule.description !== undefined ? { description: rule.description } : {}),
    });
  }
  return state;
}

/**
 * The `v1` Node of a hybrid node with this CiliumNode: the labels and `eks-hybrid:///<region>/<cluster>/<name>`
 * providerID EKS hybrid nodes carry, the uid the CiliumNode's owner reference names, and the InternalIP.
 */
export function hybridNode(state: Pick<CloudState, 'region' | 'cluster'>, ciliumNode: Record<string, unknown>): Record<string, unknown> {
  // Scenario CiliumNodes may be malformed on purpose (the reader must refuse them): read them defensively.
  const objects = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null) : []);
  const metadata = (ciliumNode.metadata ?? {}) as { name: string; ownerReferences?: unknown };
  const spec = (typeof ciliumNode.spec === 'object' && ciliumNode.spec !== null ? ciliumNode.spec : {}) as { addresses?: unknown };
  const name = metadata.name;
  const owner = objects(metadata.ownerReferences).find((ref) => ref.kind === 'Node')?.uid;
  const uid = typeof owner === 'string' ? owner : undefined;
  const internalIps = objects(spec.addresses)
    .filter((a) => a.type === 'InternalIP' && typeof a.ip === 'string' && a.ip !== '')
    .map((a) => a.ip as string);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, ...(uid ? { uid } : {}), labels: { 'eks.amazonaws.com/compute-type': 'hybrid', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
    spec: { providerID: `eks-hybrid:///${state.region}/${state.cluster.name}/${name}` },
    status: { addresses: [...internalIps.map((address) => ({ type: 'InternalIP', address })), { type: 'Hostname', address: name }] },
  };
}

/** The PodDisruptionBudget a blocked pod is said to be protected by: its app label, else its own name. */
export function disruptionBudgetName(pod: { metadata: Record<string, unknown> }): string {
  const labels = (pod.metadata.labels ?? {}) as Record<string, string>;
  return labels['app.kubernetes.io/name'] ?? labels.app ?? labels['k8s-app'] ?? String(pod.metadata.name);
}

/** The scenario as a JSON Schema document (what `scenario.schema.json` holds). */
export function scenarioJsonSchema(): unknown {
  return z.toJSONSchema(scenarioSchema, { io: 'input' });
}

export function loadScenario(input?: ScenarioInput | string): CloudState {
  if (input === undefined) return buildState(defaultScenario());
  return buildState(typeof input === 'string' ? readScenarioFile(input) : parseScenario(input));
}
