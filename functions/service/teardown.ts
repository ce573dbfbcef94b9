/**
 * The teardown workflow's task steps: each reads what it needs, acts (unless the request is a dry run) and
 * returns a small JSON result for the state machine. Every step is idempotent — "already gone" is success —
 * so a retried or re-run execution converges. The order is the state machine's; the decisions are the core's
 * (functions/core/teardown.ts), and route removal goes through the reconciler's own planner and guards.
 */
import pLimit from 'p-limit';
import { collectClaims } from '../core/claims.js';
import type { ControllerConfig } from '../core/config.js';
import { IncompleteReadError } from '../core/errors.js';
import { checkRouteTableRead } from '../core/guards.js';
import { managedDestination, mutationsOf, planRoutes, routeTarget } from '../core/plan.js';
import type {
  AutoHealingPort,
  ClusterNodesPortFactory,
  ClusterPort,
  ManagedInstanceRecord,
  TeardownEc2Port,
  TeardownSsmPort,
} from '../core/ports.js';
import { canonicalIpText, sameIpAddress } from '../core/cidr.js';
import { buildScope } from '../core/scope.js';
import { PAUSE_TAG_KEY } from '../core/teardown-steps.js';
import {
  MANAGED_INSTANCE_ID,
  agentOffline,
  checkTeardownFits,
  internalIpsOf,
  type NodeResult,
  type NodeTarget,
  type TeardownRequest,
  nodeResultsOf,
  parseTeardownRequest,
  podsToDrain,
  resolveTargets,
  routesOfRemovedNodes,
  sameHost,
  type SharedNodeIp,
  stepError,
  uninstallProgress,
} from '../core/teardown.js';
import type { NetworkInterfaceRecord, RouteTableRecord } from '../core/types.js';
import { observe } from './reconcile.js';

/** The tag the seed's procedure (and `aws ssm create-activation --tags`) puts on the cluster's hybrid activations. */
export const ACTIVATION_CLUSTER_TAG = 'EKSClusterARN';

export interface TeardownDeps {
  cluster: ClusterPort;
  /** Kubernetes access with the teardown role's token. */
  clusterNodes: ClusterNodesPortFactory;
  ec2: TeardownEc2Port;
  ssm: TeardownSsmPort;
  rules: AutoHealingPort;
  now?: () => number;
}

export interface TeardownSettings {
  config: ControllerConfig;
  /** The reconciler's EventBridge rules (triggers and schedule). */
  ruleNames: string[];
}

/** A failure that ends one node's teardown (the Map's Catch records it; the other nodes go on). */
export class TeardownStepError extends Error {
  constructor(
    override readonly name: 'DrainTimedOut' | 'UninstallFailed' | 'ClusterArnUnknown',
    message: string,
  ) {
    super(message);
  }
}

const names = (pods: { namespace: string; name: string }[]) => pods.map((pod) => `${pod.namespace}/${pod.name}`);

export class TeardownService {
  private readonly now: () => number;

  constructor(
    private readonly deps: TeardownDeps,
    private readonly settings: TeardownSettings,
  ) {
    this.now = deps.now ?? Date.now;
  }

  private get config(): ControllerConfig {
    return this.settings.config;
  }

  /** The cluster this teardown is deployed for. */
  get clusterName(): string {
    return this.config.clusterName;
  }

  private async kubernetes() {
    const cluster = await this.deps.cluster.describeCluster(this.config.clusterName);
    return { cluster, api: await this.deps.clusterNodes(cluster) };
  }

  private async remoteVpc(): Promise<string> {
    return this.vpcOf(await this.deps.ec2.describeRouteTables(this.config.routeTables, this.config.vpcId));
  }

  /** The remote VPC, from the managed tables (checked against the configuration). */
  private vpcOf(tables: RouteTableRecord[]): string {
    return checkRouteTableRead(this.config.routeTables, tables, this.config.vpcId);
  }

  /** 1. Validate the input and record what exists. Changes nothing. */
  async snapshot(input: unknown) {
    const request = parseTeardownRequest(input, this.config.clusterName);
    const { cluster, api } = await this.kubernetes();
    const scope = buildScope(cluster.remoteNetworks, this.config.scope);
    const [kubeNodes, ciliumNodes, routeTables, activations] = await Promise.all([
      api.listNodes(),
      api.listCiliumNodes(),
      this.deps.ec2.describeRouteTables(this.config.routeTables, this.config.vpcId),
      this.deps.ssm.listActivations(),
    ]);
    const vpcId = this.vpcOf(routeTables);
    const clusterActivations = activations.filter((activation) => cluster.arn !== undefined && activation.tags[ACTIVATION_CLUSTER_TAG] === cluster.arn);

    const namedManagedInstances = [...request.nodes, ...kubeNodes.map((node) => node.name), ...ciliumNodes.map((node) => node.name)].filter((id) =>
      MANAGED_INSTANCE_ID.test(id),
    );
    const [byId, byActivation] = await Promise.all([
      this.deps.ssm.describeManagedInstances(namedManagedInstances),
      clusterActivations.length > 0
        ? this.deps.ssm.listManagedInstancesByActivation(clusterActivations.map((activation) => activation.activationId))
        : Promise.resolve([] as ManagedInstanceRecord[]),
    ]);
    // For "all", every instance of the cluster's activations goes. For named nodes they are evidence: an agent
    // online on a machine a node claims (by any of the machine's addresses) that is not the node's own (a
    // machine re-activated under a new id, before it joined) shows that the machine is not the node's. Offline
    // registrations say nothing of the kind, except an offline agent that is a hostname Node's own (its computer
    // name that host, its address the Node's): without it, that node's agent would be neither uninstalled nor
    // deregistered.
    const hostnameNodes = [
      ...kubeNodes.map((node) => ({ name: node.name, ips: node.internalIPs })),
      ...ciliumNodes.map((node) => ({ name: node.name, ips: internalIpsOf(node) })),
    ].filter((node) => !MANAGED_INSTANCE_ID.test(node.name));
    const ownAgentOfHostnameNode = (mi: ManagedInstanceRecord) =>
      hostnameNodes.some(
        (node) => sameHost(mi.computerName, node.name) && mi.ipAddress !== undefined && node.ips.some((ip) => sameIpAddress(ip, mi.ipAddress!)),
      );
    const evidence = request.all ? byActivation : byActivation.filter((mi) => mi.pingStatus === 'Online' || ownAgentOfHostnameNode(mi));
    const managedInstances = uniqueBy([...byId, ...evidence], (mi) => mi.instanceId);
    // Once each, in canonical form, as EC2 lists them (an IPv6 address has several spellings).
    const ips = [
      ...new Set(
        [
          ...kubeNodes.flatMap((node) => node.internalIPs),
          ...ciliumNodes.flatMap(internalIpsOf),
          ...managedInstances.flatMap((mi) => (mi.ipAddress ? [mi.ipAddress] : [])),
        ].map(canonicalIpText),
      ),
    ];
    const instanceIds = request.nodes.filter((id) => id.startsWith('i-'));
    const [byIp, paused, byInstance] = await Promise.all([
      this.deps.ec2.findNetworkInterfaces(vpcId, ips),
      this.deps.ec2.findTaggedNetworkInterfaces(vpcId, PAUSE_TAG_KEY),
      instanceIds.length > 0 ? this.deps.ec2.findInstanceNetworkInterfaces(vpcId, instanceIds) : Promise.resolve([] as NetworkInterfaceRecord[]),
    ]);
    const networkInterfaces = uniqueBy([...byIp, ...paused, ...byInstance], (eni) => eni.networkInterfaceId);
    const { nodes, notFound, sharedIps } = resolveTargets(request, { kubeNodes, ciliumNodes, managedInstances, networkInterfaces, scope, pauseTagKey: PAUSE_TAG_KEY });
    checkTeardownFits(request, nodes.length);

    return {
      request,
      nodes,
      snapshot: {
        clusterArn: cluster.arn ?? null,
        vpcId,
        notFound,
        // Addresses of machines with no provable owner (several claimants, or one on two instances): left alone.
        sharedIps,
        kubernetesNodes: kubeNodes.length,
        ciliumNodes: ciliumNodes.length,
        managedInstances: managedInstances.map((mi) => mi.instanceId),
        routeTables: routeTables.map((table) => ({
          routeTableId: table.routeTableId,
          managedRoutes: table.routes.filter((route) => managedDestination(route, scope) !== undefined).length,
        })),
        activations: clusterActivations.map((activation) => activation.activationId),
        rules: await this.deps.rules.describeRules(this.settings.ruleNames),
      },
    };
  }

  /**
   * 2. Pause auto-healing: tag each node's ENIs so the reconciler leaves them alone, and when everything goes,
   * disable the reconciler's rules too. A failure halfway undoes what this step did before it reports.
   */
  async pause(request: TeardownRequest, nodes: NodeTarget[]) {
    const rules = request.all ? await this.deps.rules.describeRules(this.settings.ruleNames) : [];
    const toDisable = rules.filter((rule) => rule.state.startsWith('ENABLED')).map((rule) => rule.name);
    const enis = nodes.flatMap((node) => node.networkInterfaceIds.map((id) => ({ id, node: node.name })));
    if (request.dryRun) return { dryRun: true, wouldTag: enis.map((eni) => eni.id), wouldDisableRules: toDisable, tagged: [], disabledRules: [] };

    // ENIs an earlier run left paused keep their tag whatever happens here: it may be all that still links
    // them to their node. Only what this run adds is undone on failure.
    const vpcId = enis.length > 0 ? await this.remoteVpc() : undefined;
    const pausedBefore = new Set(vpcId ? (await this.deps.ec2.findTaggedNetworkInterfaces(vpcId, PAUSE_TAG_KEY)).map((eni) => eni.networkInterfaceId) : []);
    const tagged: string[] = [];
    const added: string[] = [];
    const alreadyGone: string[] = [];
    const disabled: string[] = [];
    try {
      for (const node of nodes) {
        if (node.networkInterfaceIds.length === 0) continue;
        // An ENI deleted since the snapshot (its instance terminated) carries no traffic and can be re-healed by
        // nobody: there is nothing to pause, and its node's teardown goes on.
        const { gone } = await this.deps.ec2.tagNetworkInterfaces(node.networkInterfaceIds, { [PAUSE_TAG_KEY]: node.name });
        const marked = node.networkInterfaceIds.filter((id) => !gone.includes(id));
        alreadyGone.push(...gone);
        tagged.push(...marked);
        added.push(...marked.filter((id) => !pausedBefore.has(id)));
      }
      for (const name of toDisable) {
        await this.deps.rules.disableRule(name);
        disabled.push(name);
      }
    } catch (error) {
      await Promise.allSettled([
        ...disabled.map((name) => this.deps.rules.enableRule(name)),
        added.length > 0 ? this.deps.ec2.untagNetworkInterfaces(added, [PAUSE_TAG_KEY]) : Promise.resolve(),
      ]);
      throw error;
    }
    return {
      tagged,
      ...(alreadyGone.length > 0 ? { alreadyGone } : {}),
      disabledRules: disabled,
      rulesAlreadyDisabled: rules.filter((rule) => rule.state === 'DISABLED').map((rule) => rule.name),
      missingRules: rules.filter((rule) => rule.state === 'MISSING').map((rule) => rule.name),
    };
  }

  /** 3a. Cordon, then evict every pod that must go (not DaemonSet, not mirror). Called again until done or the deadline. */
  async drain(request: TeardownRequest, node: NodeTarget, previous?: { deadline: number; evicted?: string[] }) {
    const deadline = previous?.deadline ?? this.now() + request.timeouts.drainSeconds * 1000;
    const evictedBefore = previous?.evicted ?? [];
    const { api } = await this.kubernetes();
    if (request.dryRun) {
      const exists = (await api.listNodes()).some((kubeNode) => kubeNode.name === node.name);
      if (!exists) return { done: true, deadline, cordon: 'not-found', evicted: [], blocked: [], remaining: [] };
      const { evict, terminating } = podsToDrain(await api.listPodsOnNode(node.name));
      return { done: true, deadline, cordon: 'would-cordon', wouldEvict: names(evict), waitingFor: names(terminating), evicted: [], blocked: [], remaining: [] };
    }
    const cordon = await api.cordonNode(node.name);
    if (cordon === 'not-found') return { done: true, deadline, cordon, evicted: evictedBefore, blocked: [], remaining: [] };

    const { evict } = podsToDrain(await api.listPodsOnNode(node.name));
    const outcomes = await Promise.all(evict.map(async (pod) => ({ pod, outcome: await api.evictPod(pod.namespace, pod.name) })));
    const evicted = [...evictedBefore, ...names(outcomes.filter((entry) => entry.outcome === 'evicted').map((entry) => entry.pod))];
    const blocked = names(outcomes.filter((entry) => entry.outcome === 'blocked').map((entry) => entry.pod));
    // Evicted pods may take their grace period to leave: look again rather than assume.
    const after = podsToDrain(await api.listPodsOnNode(node.name));
    const remaining = names([...after.evict, ...after.terminating]);
    const done = remaining.length === 0;
    if (!done && this.now() >= deadline) {
      throw new TeardownStepError(
        'DrainTimedOut',
        `${node.name} still has pods that must leave after ${request.timeouts.drainSeconds} s: ${remaining.join(', ')}` +
          (blocked.length > 0 ? ` (eviction refused, PodDisruptionBudget: ${blocked.join(', ')})` : ''),
      );
    }
    return { done, deadline, cordon, evicted, blocked, remaining };
  }

  /** 3b. `nodeadm uninstall` through Run Command, then (called again) its progress. */
  async uninstall(request: TeardownRequest, node: NodeTarget, previous?: { commandId?: string; deadline?: number }) {
    const command = `${request.nodeadmPath} uninstall`;
    const mi = node.managedInstanceId;
    if (previous?.commandId && mi) {
      const [invocation, registered] = await Promise.all([
        this.deps.ssm.getCommandInvocation(previous.commandId, mi),
        this.deps.ssm.describeManagedInstances([mi]),
      ]);
      const deadline = previous.deadline ?? this.now();
      const progress = uninstallProgress({ ...(invocation ? { invocationStatus: invocation.status } : {}), managedInstance: registered[0], deadline, now: this.now() });
      if (progress.outcome === 'failed') {
        const detail = (invocation?.standardError || invocation?.standardOutput || invocation?.statusDetails || '').trim().slice(-400);
        throw new TeardownStepError('UninstallFailed', `${command} on ${mi} ended ${invocation?.status} (exit ${invocation?.responseCode ?? 'unknown'})${detail ? `: ${detail}` : ''}`);
      }
      return { done: progress.done, outcome: progress.outcome, commandId: previous.commandId, deadline, command, status: invocation?.status ?? null };
    }
    if (!mi) return { done: true, outcome: 'not-registered', command };
    const [registered] = await this.deps.ssm.describeManagedInstances([mi]);
    if (!registered) return { done: true, outcome: 'not-registered', command };
    // Run Command needs a live agent; the next step deregisters an offline instance instead.
    if (agentOffline(registered)) return { done: true, outcome: 'agent-offline', command };
    if (request.dryRun) return { done: true, outcome: 'would-run', command };
    const comment = `eks-hybrid-routes teardown of ${node.name}`;
    const deadline = this.now() + request.timeouts.uninstallSeconds * 1000;
    // SendCommand has no idempotency token. This step runs again when an attempt failed after the command was
    // sent (the answer lost, the invocation timed out): it then follows the command already running rather
    // than start a second `nodeadm uninstall` beside it.
    const running = await this.deps.ssm.findExecutingCommand(mi, [command], comment);
    if (running) return { done: false, outcome: 'in-progress', commandId: running, deadline, command, adopted: true };
    const commandId = await this.deps.ssm.runShellScript(mi, [command], { comment, executionTimeoutSeconds: request.timeouts.uninstallSeconds });
    return { done: false, outcome: 'in-progress', commandId, deadline, command };
  }

  /** 3c. The Kubernetes Node (nodeadm leaves it) and the CiliumNode. */
  async deleteObjects(request: TeardownRequest, node: NodeTarget) {
    const { api } = await this.kubernetes();
    if (request.dryRun) return { node: 'would-delete', ciliumNode: 'would-delete' };
    const [kubeNode, ciliumNode] = await Promise.all([api.deleteNode(node.name), api.deleteCiliumNode(node.name)]);
    return { node: kubeNode, ciliumNode };
  }

  /** 3d. Deregister the managed instance when `nodeadm uninstall` did not (agent silent, offline, or timed out). */
  async deregister(request: TeardownRequest, node: NodeTarget) {
    const mi = node.managedInstanceId;
    if (!mi) return { managedInstance: 'none' };
    const [registered] = await this.deps.ssm.describeManagedInstances([mi]);
    if (!registered) return { managedInstance: 'already-gone' };
    if (request.dryRun) return { managedInstance: 'would-deregister' };
    return { managedInstance: await this.deps.ssm.deregisterManagedInstance(mi) };
  }

  /** 3e. Source/dest check back on: the ENI no longer forwards pod traffic. */
  async restoreSourceDestCheck(request: TeardownRequest, node: NodeTarget) {
    if (request.dryRun) return { wouldEnable: node.networkInterfaceIds, enabled: [], alreadyGone: [] };
    const outcomes = await Promise.all(node.networkInterfaceIds.map(async (id) => ({ id, outcome: await this.deps.ec2.enableSourceDestCheck(id) })));
    return {
      enabled: outcomes.filter((entry) => entry.outcome === 'enabled').map((entry) => entry.id),
      alreadyGone: outcomes.filter((entry) => entry.outcome === 'already-gone').map((entry) => entry.id),
    };
  }

  /**
   * 3f. Terminate the EC2 instance, only when asked, only when the snapshot showed it to be the node's
   * (instanceProof), and only while EC2 shows it on the node's paused ENI.
   */
  async terminate(request: TeardownRequest, node: NodeTarget) {
    if (!request.terminateInstances) return { instance: 'not-requested' };
    if (!node.instanceId) return { instance: 'none' };
    // An unproven instance is not even looked up: a read that could fail here would fail a node whose every step
    // is done. Whether the instance is still there is for verify to say.
    if (!node.instanceProof) return { instance: request.dryRun ? 'would-keep' : 'kept', instanceId: node.instanceId, reason: unprovenInstance(node, request) };
    // The proof is from the snapshot, carried in this step's payload; EC2 must still show the instance on the
    // node's ENI in the remote VPC, paused by this teardown for this node, right before the one step nothing
    // undoes. So neither a payload written by hand (a direct invoke) nor an ENI re-used since the snapshot can
    // point the termination at another instance.
    const instanceId = node.instanceId;
    // The configured remote VPC when there is one (the stack always sets it): no route-table read per node.
    const vpcId = this.config.vpcId ?? (await this.remoteVpc());
    const onNodeEni = (await this.deps.ec2.findInstanceNetworkInterfaces(vpcId, [instanceId])).filter(
      (eni) => eni.instanceId === instanceId && node.networkInterfaceIds.includes(eni.networkInterfaceId),
    );
    if (onNodeEni.length === 0) {
      // A terminated instance has no ENI left: that is the re-run of a termination, not a reason to refuse.
      const [instance] = await this.deps.ec2.describeInstances([instanceId]);
      if (!instance || GONE_STATES.includes(instance.state)) return { instance: instance?.state ?? 'already-gone', instanceId };
      const reason = `${instanceId} is not attached to ${node.name}'s ENI (${node.networkInterfaceIds.join(', ') || 'none known'}) in the remote VPC`;
      return { instance: request.dryRun ? 'would-keep' : 'kept', instanceId, reason };
    }
    // A dry run tagged nothing, so there is no pause tag to look for.
    if (!request.dryRun && !onNodeEni.some((eni) => eni.tags?.[PAUSE_TAG_KEY] === node.name)) {
      return { instance: 'kept', instanceId, reason: `no ENI of ${instanceId} carries this teardown's pause tag (${PAUSE_TAG_KEY}=${node.name})` };
    }
    if (request.dryRun) return { instance: 'would-terminate', instanceId };
    const [state] = await this.deps.ec2.terminateInstances([instanceId]);
    return { instance: state?.state ?? 'already-gone', instanceId };
  }

  /**
   * 4. Remove the routes of the removed nodes with the reconciler's planner: the same scope (only managed
   * routes inside the remote pod networks) and the same guards. The removed nodes' CiliumNodes are left out
   * of the claims (they are gone, or in a dry run would be); the operator's request is the approval to go
   * past the deletion budget, and `all` is the approval for an empty node list. Nodes that failed keep their
   * paused tag, so the planner protects their routes. Once `signal` aborts (the invocation is about to time out)
   * no further deletion starts: a step that outlived its invocation must not delete later, when a new node may
   * have been given the same pod CIDR. The re-run (or the summary) takes what is left.
   */
  async routes(request: TeardownRequest, nodes: NodeTarget[], nodeResults: unknown, signal?: AbortSignal) {
    const results = nodeResultsOf(nodeResults);
    const removedNames = new Set(results.filter((result) => result.status === 'done').map((result) => result.node));
    const removed = nodes.filter((node) => removedNames.has(node.name));
    const state = await observe({ cluster: this.deps.cluster, ciliumNodes: this.deps.clusterNodes, ec2: this.deps.ec2 }, this.config);
    const claims = collectClaims(state.ciliumNodes.filter((node) => !removedNames.has(node.name)), state.scope);
    const plan = planRoutes({
      scope: state.scope,
      claims,
      ...(state.vpcId ? { vpcId: state.vpcId } : {}),
      networkInterfaces: state.networkInterfaces,
      routeTables: state.routeTables,
      guards: { ...this.config.guards, allowEmpty: request.all || this.config.guards.allowEmpty, force: true },
      releasedNetworkInterfaceIds: releasedNetworkInterfaces(removed, state.networkInterfaces),
      nodeStatuses: state.nodeStatuses,
      now: state.observedAt,
    });
    const deletions = routesOfRemovedNodes(mutationsOf(plan).deletions, removed, request.all);
    const describe = (action: { routeTableId: string; destination: string; previousTarget?: string }) => ({
      routeTableId: action.routeTableId,
      destination: action.destination,
      ...(action.previousTarget ? { target: action.previousTarget } : {}),
    });
    // Only the removed nodes' vetoes are this teardown's: another route the guards hold back is the reconciler's
    // to report, and counting it here would keep the removed nodes' ENIs paused at resume.
    const vetoed = routesOfRemovedNodes(plan.vetoed, removed, request.all).map((veto) => ({ ...describe(veto), guard: veto.guard, reason: veto.reason }));
    if (request.dryRun) return { wouldRemove: deletions.map(describe), removed: [], failed: [], vetoed };

    const limit = pLimit(this.config.applyConcurrency);
    const removedRoutes: ReturnType<typeof describe>[] = [];
    const failed: (ReturnType<typeof describe> & { error: string })[] = [];
    const notStarted: ReturnType<typeof describe>[] = [];
    await Promise.all(
      deletions.map((deletion) =>
        limit(async () => {
          if (signal?.aborted) {
            notStarted.push(describe(deletion));
            return;
          }
          try {
            await this.deps.ec2.deleteRoute(deletion.routeTableId, deletion.destination);
            removedRoutes.push(describe(deletion));
          } catch (error) {
            failed.push({ ...describe(deletion), error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
          }
        }),
      ),
    );
    return { removed: removedRoutes, failed, vetoed, ...(notStarted.length > 0 ? { notStarted } : {}) };
  }

  /** 5. Delete the cluster's hybrid activations (tagged EKSClusterARN=<cluster ARN>), when asked. */
  async activations(request: TeardownRequest) {
    if (!request.deleteActivations) return { skipped: 'not requested', deleted: [] };
    const cluster = await this.deps.cluster.describeCluster(this.config.clusterName);
    if (!cluster.arn) throw new TeardownStepError('ClusterArnUnknown', 'EKS did not report the cluster ARN, so its activations cannot be told apart');
    const mine = (await this.deps.ssm.listActivations()).filter((activation) => activation.tags[ACTIVATION_CLUSTER_TAG] === cluster.arn);
    if (request.dryRun) return { wouldDelete: mine.map((activation) => activation.activationId), deleted: [] };
    const outcomes = await Promise.all(mine.map(async (activation) => ({ id: activation.activationId, outcome: await this.deps.ssm.deleteActivation(activation.activationId) })));
    return {
      deleted: outcomes.filter((entry) => entry.outcome === 'deleted').map((entry) => entry.id),
      alreadyGone: outcomes.filter((entry) => entry.outcome === 'already-gone').map((entry) => entry.id),
    };
  }

  /**
   * 6. Resume auto-healing: remove the pause tags, so the reconciler looks after these ENIs again. A tag stays
   * where it is the only thing left that links an ENI to its node, so that the next run can find and finish
   * it: on a node that failed after its Kubernetes Node and CiliumNode were deleted, and on every removed node
   * when the route step did not finish (the summary lists them). Rules disabled for a full teardown stay
   * disabled — unless a node that failed is still in the cluster and needs healing; any other rule this
   * execution disabled is enabled again.
   */
  async resume(request: TeardownRequest, nodes: NodeTarget[], pause: unknown, nodeResults: unknown, routes: unknown) {
    const paused = stepError(pause) ? undefined : (pause as { tagged?: string[]; disabledRules?: string[] } | undefined);
    const disabledRules = paused?.disabledRules ?? [];
    const done = new Set(nodeResultsOf(nodeResults).filter((result) => result.status === 'done').map((result) => result.node));
    const unfinished = nodes.filter((node) => !done.has(node.name));
    let present = new Set<string>();
    if (unfinished.length > 0) {
      const { api } = await this.kubernetes();
      const [kubeNodes, ciliumNodes] = await Promise.all([api.listNodes(), api.listCiliumNodes()]);
      present = new Set([...kubeNodes.map((node) => node.name), ...ciliumNodes.map((node) => node.name)]);
    }
    const routeReport = routes as { failed?: unknown[]; vetoed?: unknown[]; notStarted?: unknown[] } | undefined;
    const routesLeft = (routeReport?.failed?.length ?? 0) + (routeReport?.vetoed?.length ?? 0) + (routeReport?.notStarted?.length ?? 0);
    const routesFinished = routes !== undefined && !stepError(routes) && routesLeft === 0;
    const keepFor = nodes.filter((node) => (done.has(node.name) ? !routesFinished : !present.has(node.name)));
    const keep = new Set(keepFor.flatMap((node) => node.networkInterfaceIds));
    const enis = [...new Set([...nodes.flatMap((node) => node.networkInterfaceIds), ...(paused?.tagged ?? [])])].filter((id) => !keep.has(id));
    const liveFailures = unfinished.some((node) => present.has(node.name));
    const enable = request.all && !liveFailures ? [] : disabledRules;
    if (request.dryRun) return { dryRun: true, wouldUntag: enis, untagged: [], keptPaused: [], enabledRules: [], rulesLeftDisabled: [] };
    if (enis.length > 0) await this.deps.ec2.untagNetworkInterfaces(enis, [PAUSE_TAG_KEY]);
    for (const name of enable) await this.deps.rules.enableRule(name);
    return { untagged: enis, keptPaused: [...keep], enabledRules: enable, rulesLeftDisabled: disabledRules.filter((name) => !enable.includes(name)) };
  }

  /** 7. Look again and say what was done and what remains. */
  async verify(state: Record<string, unknown>) {
    const request = state.request as TeardownRequest;
    const nodes = (state.nodes as NodeTarget[] | undefined) ?? [];
    const snapshot = (state.snapshot as { notFound?: string[]; sharedIps?: SharedNodeIp[] } | undefined) ?? {};
    const results = nodeResultsOf(state.nodeResults);
    const errors: { step: string; error: string; cause: string }[] = [];
    for (const step of ['pause', 'nodeResults', 'routes', 'activations', 'resume']) {
      const failure = stepError(state[step]);
      if (failure) errors.push({ step, ...failure, cause: readableCause(failure.cause) });
    }

    const { cluster, api } = await this.kubernetes();
    const scope = buildScope(cluster.remoteNetworks, this.config.scope);
    const [kubeNodes, ciliumNodes, routeTablesRead, registered, instances, rules] = await Promise.all([
      api.listNodes(),
      api.listCiliumNodes(),
      // A named table deleted meanwhile fails the read (IncompleteReadError): reported below, not thrown.
      this.deps.ec2
        .describeRouteTables(this.config.routeTables, this.config.vpcId)
        .catch((error: unknown) => (error instanceof IncompleteReadError ? error : Promise.reject(error))),
      this.deps.ssm.describeManagedInstances(nodes.flatMap((node) => (node.managedInstanceId ? [node.managedInstanceId] : []))),
      this.deps.ec2.describeInstances(nodes.flatMap((node) => (node.instanceId ? [node.instanceId] : []))),
      this.deps.rules.describeRules(this.settings.ruleNames),
    ]);
    // The route tables no longer match the configuration (a tag taken off mid-teardown, a table deleted): this is
    // said in the summary, not thrown, since a Verify that fails leaves the operator no summary at all. The routes
    // of the tables that did come back are still checked, and the ENIs too when the remote VPC is configured.
    let vpcId = this.config.vpcId;
    let unverified: string | undefined;
    const routeTables = routeTablesRead instanceof IncompleteReadError ? [] : routeTablesRead;
    try {
      if (routeTablesRead instanceof IncompleteReadError) throw routeTablesRead;
      vpcId = this.vpcOf(routeTables);
    } catch (error) {
      if (!(error instanceof IncompleteReadError)) throw error;
      unverified = error.message;
      errors.push({ step: 'verify', error: error.name, cause: error.message });
    }
    const lookups = vpcId
      ? await Promise.all([
          this.deps.ec2.findNetworkInterfaces(vpcId, nodes.flatMap((node) => (node.ip ? [canonicalIpText(node.ip)] : []))),
          this.deps.ec2.findTaggedNetworkInterfaces(vpcId, PAUSE_TAG_KEY),
        ])
      : [];
    const enis = uniqueBy(lookups.flat(), (eni) => eni.networkInterfaceId);
    const managedRoutes = routeTables.flatMap((table) =>
      table.routes
        .filter((route) => managedDestination(route, scope) !== undefined)
        .map((route) => ({ routeTableId: table.routeTableId, destination: route.destination, target: routeTarget(route), state: route.state })),
    );

    // Instances the terminate step kept (or in a dry run would keep) for want of proof that they are the node's.
    const keptInstances: { node: string; instanceId: string; state: string; reason: string; terminateWith?: string }[] = [];
    const nodeSummaries = nodes.map((node) => {
      const result: NodeResult | undefined = results.find((entry) => entry.node === node.name);
      const remains: string[] = [];
      if (kubeNodes.some((kubeNode) => kubeNode.name === node.name)) remains.push('Kubernetes Node');
      if (ciliumNodes.some((ciliumNode) => ciliumNode.name === node.name)) remains.push('CiliumNode');
      if (node.managedInstanceId && registered.some((mi) => mi.instanceId === node.managedInstanceId)) remains.push(`managed instance ${node.managedInstanceId}`);
      for (const eni of enis.filter((entry) => node.networkInterfaceIds.includes(entry.networkInterfaceId))) {
        if (!eni.sourceDestCheck) remains.push(`source/dest check off on ${eni.networkInterfaceId}`);
        if (eni.tags?.[PAUSE_TAG_KEY] !== undefined) remains.push(`pause tag on ${eni.networkInterfaceId}`);
      }
      // Left alone for want of a provable owner (naming every claimant, or a re-run once the others are gone, takes
      // a claimed one; pause tags that disagree on an unclaimed one are for the operator to settle).
      for (const shared of snapshot.sharedIps ?? []) {
        if (!shared.nodes.includes(node.name)) continue;
        const others = shared.nodes.filter((name) => name !== node.name);
        remains.push(`ENI of ${shared.ip}${others.length > 0 ? ` (also claimed by ${others.join(', ')})` : ' (its data points at another instance too)'}`);
      }
      const instance = instances.find((entry) => entry.instanceId === node.instanceId);
      if (request.terminateInstances && instance && !GONE_STATES.includes(instance.state)) {
        const kept = !node.instanceProof && result?.status === 'done';
        remains.push(`instance ${instance.instanceId} ${instance.state}${kept ? ' (kept: not shown to be this node\'s machine)' : ''}`);
        // No command in a dry run: the node is still in service then.
        const terminateWith = request.dryRun ? {} : { terminateWith: `aws ec2 terminate-instances --instance-ids ${instance.instanceId}` };
        if (kept) keptInstances.push({ node: node.name, instanceId: instance.instanceId, state: instance.state, reason: unprovenInstance(node, request), ...terminateWith });
      }
      for (const route of managedRoutes) {
        if (node.networkInterfaceIds.includes(route.target) || node.cidrs.includes(route.destination)) remains.push(`route ${route.destination} in ${route.routeTableId}`);
      }
      // Not shown to be gone is not gone: the node is incomplete until a read shows its ENIs and routes.
      if (unverified !== undefined) remains.push(`${vpcId ? 'routes' : 'ENIs and routes'} not verified (${unverified})`);
      const status = !result ? 'not-run' : result.status === 'failed' ? 'failed' : request.dryRun ? 'planned' : remains.length > 0 ? 'incomplete' : 'removed';
      return {
        node: node.name,
        status,
        ...(node.managedInstanceId ? { managedInstanceId: node.managedInstanceId } : {}),
        ...(node.instanceId ? { instanceId: node.instanceId } : {}),
        ...(result?.status === 'failed' ? { error: result.error ?? 'unknown', cause: readableCause(result.cause ?? '') } : {}),
        ...(request.dryRun ? {} : { remains }),
        ...(result && result.status === 'done' ? { steps: stepsOf(result) } : {}),
      };
    });

    const remains: string[] = [];
    if (request.all && !request.dryRun) {
      for (const route of managedRoutes) remains.push(`managed route ${route.destination} in ${route.routeTableId} -> ${route.target}`);
    }
    // ENIs still paused that "all" took for no node (a tag naming a Node by hostname whose objects are gone, tags
    // that disagree, a machine whose owner could not be shown). A tag alone is said, not counted as left behind:
    // this workflow cannot settle it, and the run would otherwise fail every time. An ENI that still forwards
    // (source/dest check off) is left behind, and the run is incomplete.
    const taken = new Set(nodes.flatMap((node) => node.networkInterfaceIds));
    const leftPaused =
      request.all && !request.dryRun
        ? enis.flatMap((eni) => {
            const pausedFor = eni.tags?.[PAUSE_TAG_KEY];
            if (pausedFor === undefined || pausedFor === '' || taken.has(eni.networkInterfaceId)) return [];
            return [{ networkInterfaceId: eni.networkInterfaceId, pausedFor, sourceDestCheck: eni.sourceDestCheck }];
          })
        : [];
    for (const eni of leftPaused) {
      if (!eni.sourceDestCheck) remains.push(`source/dest check off on ${eni.networkInterfaceId} (paused for ${eni.pausedFor}, taken for no node)`);
    }
    if (request.deleteActivations && !request.dryRun && cluster.arn) {
      const left = (await this.deps.ssm.listActivations()).filter((activation) => activation.tags[ACTIVATION_CLUSTER_TAG] === cluster.arn);
      for (const activation of left) remains.push(`activation ${activation.activationId}`);
    }
    const routes = state.routes as { removed?: unknown[]; wouldRemove?: unknown[]; failed?: unknown[]; vetoed?: unknown[] } | undefined;
    const failedNodes = nodeSummaries.filter((node) => node.status === 'failed' || node.status === 'not-run');
    const incompleteNodes = nodeSummaries.filter((node) => node.status === 'incomplete');
    const complete = errors.length === 0 && failedNodes.length === 0 && (request.dryRun || (incompleteNodes.length === 0 && remains.length === 0));

    const parts = [
      request.dryRun ? `dry run: ${nodes.length} node(s) would be torn down` : `${nodeSummaries.filter((node) => node.status === 'removed').length} of ${nodes.length} node(s) torn down`,
      ...(request.dryRun ? [`${routes?.wouldRemove?.length ?? 0} route(s) would be removed`] : [`${routes?.removed?.length ?? 0} route(s) removed`]),
      ...failedNodes.map((node) => `${node.node} failed${'error' in node ? `: ${node.error}` : ''}`),
      ...incompleteNodes.map((node) => `${node.node} left: ${(node.remains ?? []).join(', ')}`),
      ...errors.map((error) => `${error.step} failed: ${error.error}`),
      ...(remains.length > 0 ? [`${remains.length} item(s) remain`] : []),
      ...(snapshot.notFound?.length ? [`not found (already gone?): ${snapshot.notFound.join(', ')}`] : []),
      ...(snapshot.sharedIps ?? []).map(
        ({ ip, nodes: names }) => `${ip} is claimed by ${names.join(' and ')}, and whose machine it is could not be shown: its ENI and instance were left alone`,
      ),
      ...keptInstances.map((kept) => `${kept.instanceId} ${request.dryRun ? 'would not be' : 'was not'} terminated: ${kept.reason}`),
      ...leftPaused.map(
        ({ networkInterfaceId, pausedFor }) =>
          `${networkInterfaceId} is still paused for ${pausedFor} and was left alone (whose it is could not be shown): tear that node down by name, or settle it by hand (aws ec2 modify-network-interface-attribute --network-interface-id ${networkInterfaceId} --source-dest-check; aws ec2 delete-tags --resources ${networkInterfaceId} --tags Key=${PAUSE_TAG_KEY})`,
      ),
    ];
    const rulesLeftDisabled = rules.filter((rule) => rule.state === 'DISABLED').map((rule) => rule.name);
    return {
      complete,
      status: request.dryRun ? 'dry-run' : complete ? 'complete' : 'incomplete',
      message: parts.join('; '),
      clusterName: request.clusterName,
      dryRun: request.dryRun,
      all: request.all,
      nodes: nodeSummaries,
      notFound: snapshot.notFound ?? [],
      sharedIps: snapshot.sharedIps ?? [],
      routes: {
        removed: routes?.removed ?? [],
        ...(request.dryRun ? { wouldRemove: routes?.wouldRemove ?? [] } : {}),
        failed: routes?.failed ?? [],
        vetoed: routes?.vetoed ?? [],
      },
      activations: state.activations ?? null,
      autoHealing: {
        rules,
        paused: rulesLeftDisabled.length > 0,
        ...(rulesLeftDisabled.length > 0
          ? { resumeWith: rulesLeftDisabled.map((name) => `aws events enable-rule --name ${name}`) }
          : {}),
      },
      keptInstances,
      leftPaused,
      remains,
      errors,
    };
  }
}

/** Instance states in which there is nothing left to terminate. */
const GONE_STATES = ['shutting-down', 'terminated'];

/**
 * Why a node's instance is not terminated, and what the operator can do about it. Before the teardown runs
 * (a dry run), naming the instance in the request settles it; `"all"` names nothing, so there the node is torn
 * down by name first. Once it has run, the node's objects are gone and nothing links the instance to it any
 * more: the operator terminates it, if it is the node's.
 */
function unprovenInstance(node: NodeTarget, request: Pick<TeardownRequest, 'dryRun' | 'all'>): string {
  const why = `nothing shows that it is ${node.name}'s machine (no online agent of the node reported its address; an address alone may now be another instance's)`;
  if (!request.dryRun) return `${why}: if it is, terminate it yourself (aws ec2 terminate-instances --instance-ids ${node.instanceId})`;
  return request.all
    ? `${why}: to have a teardown terminate it, tear ${node.name} down by name first, with ${node.instanceId} in \`nodes\``
    : `${why}: to have the teardown terminate it, name ${node.instanceId} in \`nodes\` with the node`;
}

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}

/** Lambda puts `{"errorType","errorMessage",...}` in a Catch's Cause; the message is what an operator needs. */
function readableCause(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: keep it as it is
  }
  return cause;
}

function stepsOf(result: NodeResult): Record<string, unknown> {
  const { node: _node, status: _status, ...steps } = result;
  return steps;
}

/**
 * The ENIs whose refused-node protection the route step lifts: the removed nodes' own ENIs, and those carrying a
 * removed node's address. A refused CiliumNode there (a stale one beside the node, or the live one beside a
 * stale node being torn down, which was given no ENI) would otherwise keep the removed node's routes past the
 * teardown. A partial teardown takes only the removed nodes' routes from the plan (routesOfRemovedNodes), so
 * what else points at those ENIs stays.
 */
function releasedNetworkInterfaces(removed: NodeTarget[], interfaces: NetworkInterfaceRecord[]): string[] {
  const removedIps = new Set(removed.flatMap((node) => (node.ip ? [canonicalIpText(node.ip)] : [])));
  const carrying = interfaces.filter((eni) => [...eni.privateIpAddresses, ...eni.ipv6Addresses].some((ip) => removedIps.has(canonicalIpText(ip))));
  return [...new Set([...removed.flatMap((node) => node.networkInterfaceIds), ...carrying.map((eni) => eni.networkInterfaceId)])];
}
