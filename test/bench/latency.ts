/**
 * Timeliness, through the real handler under the latency model and EC2 throttling:
 *
 * - event → route: a node that already has its pod CIDR joins (instance launched, managed instance
 *   registered, CiliumNode allocated); its EC2 `running` or SSM registration event is delivered to a warm handler;
 *   measured from the delivery to the moment its route is in every managed table.
 * - CIDR allocated → route: nodes register with no pod CIDR yet; one SSM registration event starts the handler's
 *   pending follow-up loop (PENDING_FOLLOW_UP_SECONDS = 180, the stack's default; the interval left at its
 *   default, 10 s); the Cilium operator allocates their CIDRs one by one at spread-out times; measured from each
 *   allocation to the moment that node's route is in every managed table.
 *
 * Delivery by EventBridge / SQS / Lambda is not part of what is measured: the clock starts at the handler.
 */
import { sampleEvent } from '../localcloud/demo.js';
import { hybridNode } from '../localcloud/scenario.js';
import type { CloudState } from '../localcloud/state.js';
import { type BenchCloud, controlOk, startBenchCloud } from './cloud.js';
import { distribution } from './measure.js';
import { createProductHandler } from './product.js';
import { type BenchNode, type World, benchWorld, ciliumNode, worldScenario } from './scenarios.js';
import type { LatencyResult, LatencySample } from './types.js';

const WORLD_NODES = 50;
const WORLD_TABLES = 3;
const POLL_MS = 2;
/** The stack's default pending window (infra/context.ts pendingWindowSeconds). */
const PENDING_WINDOW_SECONDS = '180';

/** Whether `node`'s route, to its ENI, is in every managed table. */
export function routeInPlace(state: CloudState, world: World, node: BenchNode): boolean {
  return world.tableIds.every((id) => state.routeTables.get(id)?.routes.some((route) => route.destination === node.cidr && route.target.id === node.eni));
}

async function launch(bench: BenchCloud, node: BenchNode): Promise<void> {
  const { cloud } = bench;
  const activationId = [...cloud.state.activations.keys()][0];
  await controlOk(cloud, 'POST', 'scenario/launch-instance', { instanceId: node.instanceId, subnetId: node.subnetId, privateIp: node.ip, networkInterfaceId: node.eni });
  await controlOk(cloud, 'POST', 'scenario/register-managed-instance', { managedInstanceId: node.name, ipAddress: node.ip, ...(activationId ? { activationId } : {}) });
}

function arrivalEvent(state: CloudState, node: BenchNode, kind: 'ec2-running' | 'ssm-registration') {
  if (kind === 'ec2-running') {
    return sampleEvent('ec2-instance-running.json', (event) => {
      event.detail['instance-id'] = node.instanceId;
      event.resources = [`arn:aws:ec2:${state.region}:${state.accountId}:instance/${node.instanceId}`];
    });
  }
  return sampleEvent('ssm-managed-instance-registration.json', (event) => {
    event.detail['instance-id'] = node.name;
    event.resources = [`arn:aws:ssm:${state.region}:${state.accountId}:managed-instance/${node.name}`];
  });
}

/** Runs `check` every POLL_MS until `stop()`. */
function poll(check: () => void): { stop: () => void } {
  const timer = setInterval(check, POLL_MS);
  return { stop: () => clearInterval(timer) };
}

export async function measureEventToRoute(options: { samples: number; log: (line: string) => void }): Promise<LatencyResult> {
  const world = benchWorld(WORLD_NODES, WORLD_TABLES, { spare: options.samples });
  const bench = await startBenchCloud(worldScenario(world, 'converged'));
  const samples: LatencySample[] = [];
  const missing: string[] = [];
  try {
    const handle = await createProductHandler();
    await handle(sampleEvent('scheduled-reconcile.json')); // a warm container
    for (const [j, node] of world.spare.entries()) {
      await launch(bench, node);
      await controlOk(bench.cloud, 'POST', 'scenario/allocate-cidr', { node: node.name, cidr: node.cidr, nodeIp: node.ip });
      await bench.refillBuckets();
      const trigger = j % 2 === 0 ? 'ec2-running' : 'ssm-registration';
      const event = arrivalEvent(bench.cloud.state, node, trigger);
      let routedAt: number | undefined;
      const started = performance.now();
      const poller = poll(() => {
        if (routedAt === undefined && routeInPlace(bench.cloud.state, world, node)) routedAt = performance.now();
      });
      const outcome = await handle(event);
      poller.stop();
      if (routedAt === undefined && routeInPlace(bench.cloud.state, world, node)) routedAt = performance.now();
      if (routedAt === undefined) missing.push(`${node.name}${outcome.error ? ` (${outcome.error})` : ''}`);
      else samples.push({ node: node.name, trigger, ms: routedAt - started });
    }
  } finally {
    await bench.stop();
  }
  const result = {
    samples,
    distribution: distribution(samples.map((s) => s.ms)),
    missing,
    setup: `${WORLD_NODES} nodes × ${WORLD_TABLES} tables, warm handler; per sample a new node with its CIDR, then its EC2 running / SSM registration event (alternating); buckets refilled before each`,
  };
  options.log(`  event → route: ${samples.length} samples, p50 ${result.distribution.p50?.toFixed(0)} ms, p99 ${result.distribution.p99?.toFixed(0)} ms`);
  return result;
}

export async function measureCidrToRoute(options: { samples: number; spreadSeconds: number; log: (line: string) => void }): Promise<LatencyResult> {
  const world = benchWorld(WORLD_NODES, WORLD_TABLES, { spare: options.samples });
  const bench = await startBenchCloud(worldScenario(world, 'converged'), { env: { PENDING_FOLLOW_UP_SECONDS: PENDING_WINDOW_SECONDS } });
  const samples: LatencySample[] = [];
  const missing: string[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    const { state } = bench.cloud;
    for (const node of world.spare) {
      await launch(bench, node);
      // The Cilium agent has created the node's CiliumNode; the operator has not allocated a CIDR yet.
      const object = ciliumNode(node, []) as unknown as Record<string, unknown>;
      state.ciliumNodes.set(node.name, object);
      state.nodes.set(node.name, hybridNode(state, object));
    }
    const handle = await createProductHandler();
    await handle(sampleEvent('scheduled-reconcile.json')); // a warm container
    await bench.refillBuckets();

    const allocatedAt = new Map<string, number>();
    const routedAt = new Map<string, number>();
    const allocations: Promise<void>[] = [];
    const count = world.spare.length;
    world.spare.forEach((node, j) => {
      const offset = 2_000 + (count > 1 ? (j * options.spreadSeconds * 1000) / (count - 1) : 0) + ((j * 7919) % 997);
      allocations.push(
        new Promise<void>((resolve, reject) => {
          timers.push(
            setTimeout(() => {
              allocatedAt.set(node.name, performance.now());
              controlOk(bench.cloud, 'POST', 'scenario/allocate-cidr', { node: node.name, cidr: node.cidr }).then(() => resolve(), reject);
            }, offset),
          );
        }),
      );
    });
    const poller = poll(() => {
      for (const node of world.spare) {
        if (allocatedAt.has(node.name) && !routedAt.has(node.name) && routeInPlace(state, world, node)) routedAt.set(node.name, performance.now());
      }
    });
    const outcome = await handle(arrivalEvent(state, world.spare[0]!, 'ssm-registration'));
    await Promise.all(allocations);
    poller.stop();
    for (const node of world.spare) {
      if (!routedAt.has(node.name) && routeInPlace(state, world, node)) routedAt.set(node.name, performance.now());
      const allocated = allocatedAt.get(node.name);
      const routed = routedAt.get(node.name);
      if (allocated === undefined || routed === undefined) missing.push(`${node.name}${outcome.error ? ` (${outcome.error})` : ''}`);
      else samples.push({ node: node.name, trigger: 'allocate-cidr', ms: routed - allocated });
    }
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await bench.stop();
  }
  const result = {
    samples,
    distribution: distribution(samples.map((s) => s.ms)),
    missing,
    setup: `${WORLD_NODES} nodes × ${WORLD_TABLES} tables; ${options.samples} nodes registered without a CIDR, one SSM registration event, PENDING_FOLLOW_UP_SECONDS=${PENDING_WINDOW_SECONDS} and the default 10 s interval; CIDRs allocated over ${options.spreadSeconds} s`,
  };
  options.log(`  CIDR → route: ${samples.length} samples, p50 ${result.distribution.p50?.toFixed(0)} ms, max ${result.distribution.max?.toFixed(0)} ms`);
  return result;
}
