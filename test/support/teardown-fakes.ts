/**
 * An in-memory world behind every port the teardown service uses (functions/core/ports.ts, the teardown
 * part): the cluster, its Kubernetes Nodes, Pods and CiliumNodes, SSM managed instances with their command
 * invocations and hybrid activations, EC2 ENIs (tags, source/dest check), instances and route tables, and
 * the reconciler's EventBridge rules. All ports share one state, so what one step does the next one sees.
 *
 * Every call is recorded in order (`calls`); the mutating ones are listed by `mutations()`. `failOn` makes a
 * method throw a chosen error (once, a number of times, or always; optionally only for some arguments),
 * after the call is recorded and before it has any effect. No SDK, no network.
 */
import { KubernetesApiError } from '../../functions/adapters/kubernetes.js';
import type {
  ActivationRecord,
  AutoHealingPort,
  ClusterNodesPort,
  ClusterNodesPortFactory,
  ClusterPort,
  CommandInvocationRecord,
  CreateRouteOutcome,
  DeleteRouteOutcome,
  InstanceRecord,
  KubeNodeRecord,
  ManagedInstanceRecord,
  PodRecord,
  ReplaceRouteOutcome,
  RuleRecord,
  TeardownEc2Port,
  TeardownSsmPort,
} from '../../functions/core/ports.js';
import { HYBRID_NODE_LABEL, type NodeTarget, type TeardownRequest } from '../../functions/core/teardown.js';
import { PAUSE_TAG_KEY } from '../../functions/core/teardown-steps.js';
import type { CiliumNodeRecord, ClusterInfo, NetworkInterfaceRecord, RouteRecord, RouteTableRecord, RouteTableSelector } from '../../functions/core/types.js';
import type { TeardownDeps } from '../../functions/service/teardown.js';
import { REMOTE_VPC, ciliumNode, detachedEni as eni, eniId, foreignRoutes, nodeName, route, table } from './builders.js';
import { LAB_CLUSTER, labClusterInfo } from './fakes.js';

const copy = <T>(value: T): T => structuredClone(value);

export type PortName = 'cluster' | 'kubernetes' | 'ec2' | 'ssm' | 'rules';

export interface WorldCall {
  port: PortName;
  method: string;
  args: unknown[];
  /** Present (true) when a failure knob made this call throw. */
  failed?: true;
}

/** The methods that change something; everything else only reads. */
export const TEARDOWN_MUTATIONS = [
  'cordonNode',
  'evictPod',
  'deleteNode',
  'deleteCiliumNode',
  'createRoute',
  'replaceRoute',
  'deleteRoute',
  'disableSourceDestCheck',
  'tagNetworkInterfaces',
  'untagNetworkInterfaces',
  'enableSourceDestCheck',
  'terminateInstances',
  'deleteActivation',
  'deregisterManagedInstance',
  'runShellScript',
  'disableRule',
  'enableRule',
] as const;

/** A pod and the node it is bound to. */
export interface WorldPod extends PodRecord {
  node: string;
}

interface Failure {
  method: string;
  error: () => unknown;
  remaining: number;
  when?: (...args: any[]) => boolean;
}

export interface FailOptions {
  /** How many calls fail: 'once' (default), 'always', or a count. */
  times?: 'once' | 'always' | number;
  /** Only calls whose arguments match fail (and count). */
  when?: (...args: any[]) => boolean;
}

/** What AWS SDK v3 throws when throttled: an error with the code as name and the HTTP metadata. */
export function throttlingError(message = 'Rate exceeded'): Error {
  return Object.assign(new Error(message), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
}

/** An AWS service error by code. */
export function awsError(name: string, message: string, httpStatusCode = 400): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });
}

/** A Kubernetes API failure as the adapter reports it (status, or a network code when no answer came). */
export function kubernetesError(message: string, statusCode?: number, code?: string): KubernetesApiError {
  return new KubernetesApiError(message, statusCode, code);
}

export interface TeardownWorldInit {
  cluster?: ClusterInfo;
  kubeNodes?: KubeNodeRecord[];
  pods?: WorldPod[];
  ciliumNodes?: CiliumNodeRecord[];
  managedInstances?: ManagedInstanceRecord[];
  invocations?: CommandInvocationRecord[];
  interfaces?: NetworkInterfaceRecord[];
  instances?: InstanceRecord[];
  tables?: (RouteTableRecord & { tags?: Record<string, string> })[];
  activations?: ActivationRecord[];
  /** The rules that exist (a name not listed is MISSING). */
  rules?: RuleRecord[];
  /** The clock (ms), read by `deps().now`. */
  time?: number;
}

/** Everything the world holds, as plain data (for comparing end states). */
export interface WorldState {
  kubeNodes: KubeNodeRecord[];
  pods: WorldPod[];
  ciliumNodes: CiliumNodeRecord[];
  managedInstances: ManagedInstanceRecord[];
  invocations: CommandInvocationRecord[];
  interfaces: NetworkInterfaceRecord[];
  instances: InstanceRecord[];
  tables: (RouteTableRecord & { tags?: Record<string, string> })[];
  activations: ActivationRecord[];
  rules: RuleRecord[];
}

export class TeardownWorld implements WorldState {
  cluster: ClusterInfo;
  kubeNodes: KubeNodeRecord[];
  pods: WorldPod[];
  ciliumNodes: CiliumNodeRecord[];
  managedInstances: ManagedInstanceRecord[];
  invocations: CommandInvocationRecord[];
  interfaces: NetworkInterfaceRecord[];
  instances: InstanceRecord[];
  tables: (RouteTableRecord & { tags?: Record<string, string> })[];
  activations: ActivationRecord[];
  rules: RuleRecord[];
  time: number;

  readonly calls: WorldCall[] = [];
  private failures: Failure[] = [];
  private commandCount = 0;
  /** What each command sent through runShellScript carried, for findExecutingCommand. */
  private readonly sentCommands = new Map<string, { commands: string[]; comment: string }>();

  /** Pods (`namespace/name`) whose eviction a PodDisruptionBudget refuses (the adapter's `blocked`, HTTP 429). */
  readonly pdbBlocked = new Set<string>();
  /** Evicted pods stay, terminating, instead of vanishing at once (a grace period). */
  evictionLeavesTerminating = false;
  /** How a new command invocation starts out; default InProgress. */
  onRunShellScript: (instanceId: string, commands: string[]) => Partial<CommandInvocationRecord> = () => ({ status: 'InProgress' });

  constructor(init: TeardownWorldInit = {}) {
    this.cluster = copy(init.cluster ?? labClusterInfo());
    this.kubeNodes = copy(init.kubeNodes ?? []);
    this.pods = copy(init.pods ?? []);
    this.ciliumNodes = copy(init.ciliumNodes ?? []);
    this.managedInstances = copy(init.managedInstances ?? []);
    this.invocations = copy(init.invocations ?? []);
    this.interfaces = copy(init.interfaces ?? []);
    this.instances = copy(init.instances ?? []);
    this.tables = copy(init.tables ?? []);
    this.activations = copy(init.activations ?? []);
    this.rules = copy(init.rules ?? []);
    this.time = init.time ?? Date.UTC(2025, 5, 3, 14, 0, 0);
  }

  // ---- knobs and records --------------------------------------------------------------------------------

  /** Makes `method` throw `error` (an Error, or a function building one per call). */
  failOn(method: string, error: unknown, options: FailOptions = {}): this {
    const times = options.times ?? 'once';
    this.failures.push({
      method,
      error: typeof error === 'function' ? (error as () => unknown) : () => error,
      remaining: times === 'once' ? 1 : times === 'always' ? Number.POSITIVE_INFINITY : times,
      ...(options.when ? { when: options.when } : {}),
    });
    return this;
  }

  clearFailures(): void {
    this.failures = [];
  }

  /** The mutating calls so far, in order (`{method, args}`, plus `failed: true` for one that threw). */
  mutations(): Omit<WorldCall, 'port'>[] {
    return this.calls
      .filter((call) => (TEARDOWN_MUTATIONS as readonly string[]).includes(call.method))
      .map(({ port: _port, ...rest }) => rest);
  }

  /** The names of the methods called so far (reads and writes), in order. */
  methods(): string[] {
    return this.calls.map((call) => call.method);
  }

  clearCalls(): void {
    this.calls.length = 0;
  }

  /** A deep copy of everything the world holds. */
  state(): WorldState {
    return copy({
      kubeNodes: this.kubeNodes,
      pods: this.pods,
      ciliumNodes: this.ciliumNodes,
      managedInstances: this.managedInstances,
      invocations: this.invocations,
      interfaces: this.interfaces,
      instances: this.instances,
      tables: this.tables,
      activations: this.activations,
      rules: this.rules,
    });
  }

  advance(ms: number): void {
    this.time += ms;
  }

  /** Pods that were left terminating finish leaving. */
  finishTerminating(): void {
    this.pods = this.pods.filter((pod) => !pod.terminating);
  }

  /** Instances shutting down are terminated; their ENIs go with them. */
  finishTermination(): void {
    for (const instance of this.instances) {
      if (instance.state !== 'shutting-down') continue;
      instance.state = 'terminated';
      this.interfaces = this.interfaces.filter((candidate) => candidate.instanceId !== instance.instanceId);
    }
  }

  eni(id: string): NetworkInterfaceRecord | undefined {
    return this.interfaces.find((candidate) => candidate.networkInterfaceId === id);
  }

  routesOf(routeTableId: string): RouteRecord[] {
    return this.tables.find((candidate) => candidate.routeTableId === routeTableId)?.routes ?? [];
  }

  rule(name: string): string {
    return this.rules.find((candidate) => candidate.name === name)?.state ?? 'MISSING';
  }

  private async call<T>(port: PortName, method: string, args: unknown[], body: () => T): Promise<T> {
    const entry: WorldCall = { port, method, args: copy(args) };
    this.calls.push(entry);
    // Each call yields once, as a network call would.
    await Promise.resolve();
    const failure = this.failures.find((candidate) => candidate.method === method && candidate.remaining > 0 && (!candidate.when || candidate.when(...args)));
    if (failure) {
      failure.remaining -= 1;
      entry.failed = true;
      throw failure.error();
    }
    return copy(body());
  }

  // ---- the ports ----------------------------------------------------------------------------------------

  readonly clusterPort: ClusterPort = {
    describeCluster: (clusterName: string) =>
      this.call('cluster', 'describeCluster', [clusterName], () => {
        if (clusterName !== this.cluster.name) throw awsError('ResourceNotFoundException', `No cluster found for name: ${clusterName}.`, 404);
        return this.cluster;
      }),
    forget: (clusterName: string) => {
      this.calls.push({ port: 'cluster', method: 'forget', args: [clusterName] });
    },
  };

  private readonly kubernetesPort: ClusterNodesPort = {
    listCiliumNodes: () => this.call('kubernetes', 'listCiliumNodes', [], () => this.ciliumNodes),
    readNodeStatuses: (names: string[]) =>
      this.call('kubernetes', 'readNodeStatuses', [...names], () => new Map(names.map((name) => [name, { state: 'not-found' as const }]))),
    listNodes: (labelSelector?: string) =>
      this.call('kubernetes', 'listNodes', labelSelector === undefined ? [] : [labelSelector], () => {
        if (!labelSelector) return this.kubeNodes;
        const [key, value] = labelSelector.split('=') as [string, string | undefined];
        return this.kubeNodes.filter((node) => (value === undefined ? key in node.labels : node.labels[key] === value));
      }),
    cordonNode: (name: string) =>
      this.call('kubernetes', 'cordonNode', [name], () => {
        const node = this.kubeNodes.find((candidate) => candidate.name === name);
        if (!node) return 'not-found' as const;
        if (node.unschedulable) return 'already-cordoned' as const;
        node.unschedulable = true;
        return 'cordoned' as const;
      }),
    listPodsOnNode: (name: string) =>
      this.call('kubernetes', 'listPodsOnNode', [name], () => this.pods.filter((pod) => pod.node === name).map(({ node: _node, ...pod }) => pod)),
    evictPod: (namespace: string, name: string) =>
      this.call('kubernetes', 'evictPod', [namespace, name], () => {
        const index = this.pods.findIndex((pod) => pod.namespace === namespace && pod.name === name);
        if (index < 0) return 'not-found' as const;
        if (this.pdbBlocked.has(`${namespace}/${name}`)) return 'blocked' as const;
        if (this.evictionLeavesTerminating) this.pods[index]!.terminating = true;
        else this.pods.splice(index, 1);
        return 'evicted' as const;
      }),
    deleteNode: (name: string) =>
      this.call('kubernetes', 'deleteNode', [name], () => {
        const before = this.kubeNodes.length;
        this.kubeNodes = this.kubeNodes.filter((node) => node.name !== name);
        return this.kubeNodes.length < before ? ('deleted' as const) : ('not-found' as const);
      }),
    deleteCiliumNode: (name: string) =>
      this.call('kubernetes', 'deleteCiliumNode', [name], () => {
        const before = this.ciliumNodes.length;
        this.ciliumNodes = this.ciliumNodes.filter((node) => node.name !== name);
        return this.ciliumNodes.length < before ? ('deleted' as const) : ('not-found' as const);
      }),
  };

  readonly clusterNodes: ClusterNodesPortFactory = async (cluster: ClusterInfo) => {
    await this.call('kubernetes', 'connect', [cluster.name, cluster.endpoint], () => undefined);
    return this.kubernetesPort;
  };

  private table(routeTableId: string) {
    const found = this.tables.find((candidate) => candidate.routeTableId === routeTableId);
    if (!found) throw awsError('InvalidRouteTableID.NotFound', `The routeTable ID '${routeTableId}' does not exist`);
    return found;
  }

  private eniRoute(destination: string, networkInterfaceId: string): RouteRecord {
    return {
      destination,
      destinationType: destination.includes(':') ? 'ipv6' : 'ipv4',
      origin: 'CreateRoute',
      state: this.eni(networkInterfaceId) ? 'active' : 'blackhole',
      networkInterfaceId,
    };
  }

  readonly ec2: TeardownEc2Port = {
    describeRouteTables: (selector: RouteTableSelector, vpcId?: string) =>
      this.call('ec2', 'describeRouteTables', [selector, ...(vpcId ? [vpcId] : [])], () =>
        (selector.kind === 'ids'
          ? this.tables.filter((candidate) => selector.routeTableIds.includes(candidate.routeTableId))
          : this.tables.filter((candidate) => candidate.tags?.[selector.key] === selector.value && (vpcId === undefined || candidate.vpcId === vpcId))
        ).map(({ tags: _tags, ...record }) => record),
      ),
    findNetworkInterfaces: (vpcId: string, ips: string[]) =>
      this.call('ec2', 'findNetworkInterfaces', [vpcId, ips], () =>
        this.interfaces.filter(
          (candidate) => candidate.vpcId === vpcId && [...candidate.privateIpAddresses, ...candidate.ipv6Addresses].some((ip) => ips.includes(ip)),
        ),
      ),
    findTaggedNetworkInterfaces: (vpcId: string, tagKey: string) =>
      this.call('ec2', 'findTaggedNetworkInterfaces', [vpcId, tagKey], () =>
        this.interfaces.filter((candidate) => candidate.vpcId === vpcId && candidate.tags?.[tagKey] !== undefined),
      ),
    findInstanceNetworkInterfaces: (vpcId: string, instanceIds: string[]) =>
      this.call('ec2', 'findInstanceNetworkInterfaces', [vpcId, instanceIds], () =>
        this.interfaces.filter((candidate) => candidate.vpcId === vpcId && candidate.instanceId !== undefined && instanceIds.includes(candidate.instanceId)),
      ),
    createRoute: (routeTableId: string, destination: string, networkInterfaceId: string) =>
      this.call('ec2', 'createRoute', [routeTableId, destination, networkInterfaceId], (): CreateRouteOutcome => {
        const routes = this.table(routeTableId).routes;
        const index = routes.findIndex((candidate) => candidate.destination === destination);
        if (index >= 0) {
          routes[index] = this.eniRoute(destination, networkInterfaceId);
          return 'replaced';
        }
        routes.push(this.eniRoute(destination, networkInterfaceId));
        return 'created';
      }),
    replaceRoute: (routeTableId: string, destination: string, networkInterfaceId: string) =>
      this.call('ec2', 'replaceRoute', [routeTableId, destination, networkInterfaceId], (): ReplaceRouteOutcome => {
        const routes = this.table(routeTableId).routes;
        const index = routes.findIndex((candidate) => candidate.destination === destination);
        if (index < 0) {
          routes.push(this.eniRoute(destination, networkInterfaceId));
          return 'created';
        }
        routes[index] = this.eniRoute(destination, networkInterfaceId);
        return 'replaced';
      }),
    deleteRoute: (routeTableId: string, destination: string) =>
      this.call('ec2', 'deleteRoute', [routeTableId, destination], (): DeleteRouteOutcome => {
        const routes = this.table(routeTableId).routes;
        const index = routes.findIndex((candidate) => candidate.destination === destination);
        if (index < 0) return 'already-gone';
        routes.splice(index, 1);
        return 'deleted';
      }),
    disableSourceDestCheck: (networkInterfaceId: string) =>
      this.call('ec2', 'disableSourceDestCheck', [networkInterfaceId], () => {
        const found = this.eni(networkInterfaceId);
        if (!found) throw awsError('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${networkInterfaceId}' does not exist`);
        found.sourceDestCheck = false;
      }),
    tagNetworkInterfaces: (networkInterfaceIds: string[], tags: Record<string, string>) =>
      this.call('ec2', 'tagNetworkInterfaces', [networkInterfaceIds, tags], () => {
        const gone = networkInterfaceIds.filter((id) => !this.eni(id)).sort();
        for (const id of networkInterfaceIds) {
          const found = this.eni(id);
          if (found) found.tags = { ...(found.tags ?? {}), ...tags };
        }
        return { gone };
      }),
    untagNetworkInterfaces: (networkInterfaceIds: string[], tagKeys: string[]) =>
      this.call('ec2', 'untagNetworkInterfaces', [networkInterfaceIds, tagKeys], () => {
        for (const id of networkInterfaceIds) {
          const found = this.eni(id);
          if (!found?.tags) continue;
          for (const key of tagKeys) delete found.tags[key];
          if (Object.keys(found.tags).length === 0) delete found.tags;
        }
      }),
    enableSourceDestCheck: (networkInterfaceId: string) =>
      this.call('ec2', 'enableSourceDestCheck', [networkInterfaceId], () => {
        const found = this.eni(networkInterfaceId);
        if (!found) return 'already-gone' as const;
        found.sourceDestCheck = true;
        return 'enabled' as const;
      }),
    describeInstances: (instanceIds: string[]) =>
      this.call('ec2', 'describeInstances', [instanceIds], () => this.instances.filter((instance) => instanceIds.includes(instance.instanceId))),
    terminateInstances: (instanceIds: string[]) =>
      this.call('ec2', 'terminateInstances', [instanceIds], () =>
        this.instances
          .filter((instance) => instanceIds.includes(instance.instanceId))
          .map((instance) => {
            if (instance.state !== 'terminated') instance.state = 'shutting-down';
            return instance;
          }),
      ),
  };

  readonly ssm: TeardownSsmPort = {
    describeManagedInstances: (instanceIds: string[]) =>
      this.call('ssm', 'describeManagedInstances', [instanceIds], () => this.managedInstances.filter((mi) => instanceIds.includes(mi.instanceId))),
    listManagedInstancesByActivation: (activationIds: string[]) =>
      this.call('ssm', 'listManagedInstancesByActivation', [activationIds], () =>
        this.managedInstances.filter((mi) => mi.activationId !== undefined && activationIds.includes(mi.activationId)),
      ),
    listActivations: () => this.call('ssm', 'listActivations', [], () => this.activations),
    deleteActivation: (activationId: string) =>
      this.call('ssm', 'deleteActivation', [activationId], () => {
        const before = this.activations.length;
        this.activations = this.activations.filter((activation) => activation.activationId !== activationId);
        return this.activations.length < before ? ('deleted' as const) : ('already-gone' as const);
      }),
    deregisterManagedInstance: (instanceId: string) =>
      this.call('ssm', 'deregisterManagedInstance', [instanceId], () => {
        const before = this.managedInstances.length;
        this.managedInstances = this.managedInstances.filter((mi) => mi.instanceId !== instanceId);
        return this.managedInstances.length < before ? ('deregistered' as const) : ('already-gone' as const);
      }),
    runShellScript: (instanceId: string, commands: string[], options: { comment: string; executionTimeoutSeconds: number }) =>
      this.call('ssm', 'runShellScript', [instanceId, commands, options], () => {
        if (!this.managedInstances.some((mi) => mi.instanceId === instanceId)) throw awsError('InvalidInstanceId', `Instance ${instanceId} is not registered`);
        this.commandCount += 1;
        const commandId = `0000000${this.commandCount}-aaaa-bbbb-cccc-000000000000`;
        this.invocations.push({ commandId, instanceId, status: 'InProgress', ...this.onRunShellScript(instanceId, commands) });
        this.sentCommands.set(commandId, { commands: [...commands], comment: options.comment });
        return commandId;
      }),
    findExecutingCommand: (instanceId: string, commands: string[], comment: string) =>
      this.call('ssm', 'findExecutingCommand', [instanceId, commands, comment], () =>
        this.invocations.find((invocation) => {
          const sent = this.sentCommands.get(invocation.commandId);
          return (
            invocation.instanceId === instanceId &&
            ['Pending', 'InProgress', 'Delayed'].includes(invocation.status) &&
            sent?.comment === comment &&
            JSON.stringify(sent.commands) === JSON.stringify(commands)
          );
        })?.commandId,
      ),
    getCommandInvocation: (commandId: string, instanceId: string) =>
      this.call('ssm', 'getCommandInvocation', [commandId, instanceId], () =>
        this.invocations.find((invocation) => invocation.commandId === commandId && invocation.instanceId === instanceId),
      ),
  };

  readonly autoHealing: AutoHealingPort = {
    describeRules: (names: string[]) =>
      this.call('rules', 'describeRules', [names], () => names.map((name) => ({ name, state: this.rule(name) }))),
    disableRule: (name: string) => this.call('rules', 'disableRule', [name], () => this.setRule(name, 'DISABLED')),
    enableRule: (name: string) => this.call('rules', 'enableRule', [name], () => this.setRule(name, 'ENABLED')),
  };

  private setRule(name: string, state: string): void {
    const found = this.rules.find((candidate) => candidate.name === name);
    if (!found) throw awsError('ResourceNotFoundException', `Rule ${name} does not exist.`);
    found.state = state;
  }

  /** The ports as the service takes them; the clock is `time`. */
  deps(): TeardownDeps {
    return {
      cluster: this.clusterPort,
      clusterNodes: this.clusterNodes,
      ec2: this.ec2,
      ssm: this.ssm,
      rules: this.autoHealing,
      now: () => this.time,
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// The teardown lab: three hybrid nodes on EC2 in the remote VPC, one EKS (cloud) node, two managed route
// tables that hold each hybrid node's route plus the routes the controller must never touch.
// ---------------------------------------------------------------------------------------------------------

export const TD_CLUSTER = LAB_CLUSTER;
export const TD_CLUSTER_ARN = labClusterInfo().arn!;
export const TD_TABLE_A = 'rtb-0a0a0a0a0a0a0a0a1';
export const TD_TABLE_B = 'rtb-0b0b0b0b0b0b0b0b2';
export const TD_RULES = ['eks-hybrid-routes-ec2-state', 'eks-hybrid-routes-ssm-registration', 'eks-hybrid-routes-schedule'];
export const TD_ACTIVATION = '11111111-2222-3333-4444-555555555555';
export const TD_OTHER_ACTIVATION = '66666666-7777-8888-9999-000000000000';
export const TD_UNTAGGED_ACTIVATION = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
export const CLOUD_NODE = 'ip-10-10-1-5.us-west-2.compute.internal';

/** `i-` + 17 hex digits. */
export function instanceId(index: number): string {
  return `i-${index.toString(16).padStart(17, '0')}`;
}

/** Lab node `i` (1-based): name, IP, pod CIDR, ENI and instance. */
export function labNode(i: number) {
  return {
    name: nodeName(i),
    ip: `10.20.1.${10 + i}`,
    cidr: `10.30.${i}.0/24`,
    eni: eniId(i),
    instance: instanceId(i),
  };
}

export function hybridKubeNode(name: string, ip: string | undefined, labels: Record<string, string> = { [HYBRID_NODE_LABEL]: 'hybrid' }): KubeNodeRecord {
  return { name, labels, unschedulable: false, internalIPs: ip === undefined ? [] : [ip] };
}

export function pod(node: string, name: string, options: Partial<PodRecord> = {}): WorldPod {
  return { node, namespace: options.namespace ?? 'default', name, ownerKinds: ['ReplicaSet'], mirror: false, terminating: false, phase: 'Running', ...options };
}

/** The pods every lab node runs: one app pod that must go, and the kinds that stay. */
export function labPods(node: string): WorldPod[] {
  return [
    pod(node, `web-${node.slice(-1)}`),
    pod(node, `cilium-${node.slice(-1)}`, { namespace: 'kube-system', ownerKinds: ['DaemonSet'] }),
    pod(node, `kube-proxy-mirror-${node.slice(-1)}`, { namespace: 'kube-system', ownerKinds: ['Node'], mirror: true }),
    pod(node, `job-${node.slice(-1)}`, { ownerKinds: ['Job'], phase: 'Succeeded' }),
  ];
}

export interface TeardownLabOptions {
  /** How many hybrid nodes (default 3). */
  nodes?: number;
  /** Extra routes in both tables. */
  extraRoutes?: RouteRecord[];
  time?: number;
}

export function teardownLab(options: TeardownLabOptions = {}): TeardownWorld {
  const count = options.nodes ?? 3;
  const nodes = Array.from({ length: count }, (_, index) => labNode(index + 1));
  const routes = () => [...foreignRoutes(), ...nodes.map((node) => route.managed(node.cidr, node.eni)), ...(options.extraRoutes ?? [])];
  return new TeardownWorld({
    cluster: labClusterInfo(),
    kubeNodes: [
      ...nodes.map((node) => hybridKubeNode(node.name, node.ip)),
      hybridKubeNode(CLOUD_NODE, '10.10.1.5', { 'kubernetes.io/os': 'linux', 'eks.amazonaws.com/nodegroup': 'system' }),
    ],
    pods: nodes.flatMap((node) => labPods(node.name)),
    ciliumNodes: nodes.map((node) => ciliumNode(node.name, node.ip, [node.cidr])),
    managedInstances: nodes.map((node) => ({ instanceId: node.name, ipAddress: node.ip, pingStatus: 'Online', activationId: TD_ACTIVATION, computerName: `hybrid-${node.ip}` })),
    interfaces: nodes.map((node) => eni(node.eni, node.ip, { instanceId: node.instance, vpcId: REMOTE_VPC, sourceDestCheck: false })),
    instances: nodes.map((node) => ({ instanceId: node.instance, state: 'running' })),
    tables: [table(TD_TABLE_A, routes()), table(TD_TABLE_B, routes())],
    activations: [
      { activationId: TD_ACTIVATION, tags: { EKSClusterARN: TD_CLUSTER_ARN }, defaultInstanceName: 'hybrid', registrationsCount: count },
      { activationId: TD_OTHER_ACTIVATION, tags: { EKSClusterARN: 'arn:aws:eks:us-west-2:123456789012:cluster/other' }, registrationsCount: 1 },
      { activationId: TD_UNTAGGED_ACTIVATION, tags: {}, registrationsCount: 0 },
    ],
    rules: TD_RULES.map((name) => ({ name, state: 'ENABLED' })),
    ...(options.time !== undefined ? { time: options.time } : {}),
  });
}

/** The NodeTarget the snapshot resolves for lab node `i` (as `resolveTargets` builds it; its agent is online). */
export function labTarget(i: number): NodeTarget {
  const node = labNode(i);
  return { name: node.name, managedInstanceId: node.name, instanceId: node.instance, ip: node.ip, networkInterfaceIds: [node.eni], cidrs: [node.cidr], instanceProof: 'online-agent' };
}

/** Lab node `i`'s ENI as the pause step leaves it: tagged for the node. */
export function pauseLabNode(world: TeardownWorld, i: number): void {
  const { eni: id, name } = labNode(i);
  const found = world.eni(id)!;
  found.tags = { ...found.tags, [PAUSE_TAG_KEY]: name };
}

/** `target` as resolved when nothing showed its instance to be its own (no online agent of it at its address). */
export function unproven(target: NodeTarget): NodeTarget {
  const { instanceProof: _proof, ...rest } = target;
  return rest;
}

/** A validated request (what `parseTeardownRequest` returns), with overrides. */
export function teardownRequest(overrides: Partial<TeardownRequest> = {}): TeardownRequest {
  return {
    clusterName: TD_CLUSTER,
    all: false,
    nodes: [],
    terminateInstances: false,
    deleteActivations: false,
    dryRun: false,
    concurrency: 5,
    timeouts: { drainSeconds: 300, uninstallSeconds: 600, pollSeconds: 10 },
    nodeadmPath: 'nodeadm',
    ...overrides,
  };
}
