/**
 * Scenario files: the starting world of the local cloud, as JSON. The zod schema here is the one source;
 * `scenario.schema.json` beside it is generated from it (a test keeps the two equal). A bad scenario is
 * refused with the path of the bad field.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { fieldPath } from '../../functions/shared/field-path.js';
import type { CloudState, LocalRoute, RouteTargetKind } from './state.js';

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

export const scenarioSchema = z
  .object({
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/).default('us-west-2'),
    accountId: z.string().regex(/^\d{12}$/).default('123456789012'),
    quotas: z.object({ routesPerRouteTable: z.number().int().min(1).max(1000).default(50) }).strict().default({ routesPerRouteTable: 50 }),
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
          })
          .strict(),
      )
      .default([]),
    managedInstances: z
      .array(z.object({ id: z.string().regex(/^mi-[0-9a-f]{17}$/, 'must be mi- and 17 hex digits'), ipAddress: ipv4, activationId: z.string().optional() }).strict())
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
  scenario.instances.forEach((instance, i) => {
    const subnet = state.subnets.get(instance.subnetId) ?? fail(`instances[${i}].subnetId`, `unknown subnet ${instance.subnetId}`);
    state.instances.set(instance.id, { ...instance });
    if (instance.state !== 'terminated') {
      state.networkInterfaces.set(instance.networkInterfaceId, {
        id: instance.networkInterfaceId,
        vpcId: subnet.vpcId,
        subnetId: subnet.id,
        privateIp: instance.privateIp,
        ipv6Addresses: [],
        instanceId: instance.id,
        sourceDestCheck: instance.sourceDestCheck,
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
  for (const node of state.ciliumNodes.values()) {
    const name = (node.metadata as { name: string }).name;
    state.nodes.set(name, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'eks.amazonaws.com/compute-type': 'hybrid', 'kubernetes.io/hostname': name } },
      spec: { providerID: `eks-hybrid:///${state.region}/${state.cluster.name}/${name}` },
    });
  }
  return state;
}

/** The scenario as a JSON Schema document (what `scenario.schema.json` holds). */
export function scenarioJsonSchema(): unknown {
  return z.toJSONSchema(scenarioSchema, { io: 'input' });
}

export function loadScenario(input?: ScenarioInput | string): CloudState {
  if (input === undefined) return buildState(defaultScenario());
  return buildState(typeof input === 'string' ? readScenarioFile(input) : parseScenario(input));
}
