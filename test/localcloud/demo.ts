/**
 * `npm start`: the main job, offline. Starts the local cloud on the default scenario (the seed's lab: EKS VPC
 * 10.10.0.0/16, remote VPC 10.20.0.0/16 with three TGW-subnet route tables, three hybrid nodes, Cilium pool
 * 10.30.0.0/16) and plays a short story through the REAL reconcile Lambda handler, with the sample events
 * from events/ delivered as EventBridge would. Route tables are printed before and after each step; the
 * story ends by checking both invariants and exits non-zero if they do not hold.
 */
import { readFileSync } from 'node:fs';
import { fakeLambdaContext } from '../support/fakes.js';
import { type LocalCloud, startLocalCloud } from './server.js';
import { routeState } from './state.js';

const EVENTS_DIR = new URL('../../events/', import.meta.url);
const MANAGED_TAG = 'eks-hybrid-routes/managed';
const verbose = process.env.DEMO_VERBOSE === '1';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/** A sample event from events/ with a fresh id and time, as EventBridge would deliver it. */
export function sampleEvent(file: string, patch: (event: Record<string, any>) => void = () => {}): Record<string, any> {
  const event = JSON.parse(readFileSync(new URL(file, EVENTS_DIR), 'utf8')) as Record<string, any>;
  event.id = crypto.randomUUID();
  event.time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  patch(event);
  return event;
}

async function control(cloud: LocalCloud, step: string, body: unknown): Promise<void> {
  const response = await fetch(`${cloud.endpoint}/_localcloud/scenario/${step}`, { method: 'POST', body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${step}: ${await response.text()}`);
}

/** The managed tables as compact text; identical tables are printed once. */
function routeTables(cloud: LocalCloud): string {
  const { state } = cloud;
  const rendered = new Map<string, string[]>();
  for (const table of state.routeTables.values()) {
    if (table.tags[MANAGED_TAG] !== 'true') continue;
    const lines = table.routes.map((route) => {
      const eni = route.target.kind === 'networkInterface' ? state.networkInterfaces.get(route.target.id) : undefined;
      const owner = eni?.instanceId ? ` (${eni.instanceId})` : '';
      const status = routeState(state, route) === 'blackhole' ? '  BLACKHOLE' : '';
      return `    ${route.destination.padEnd(16)} → ${route.target.id}${owner}${status}`;
    });
    const key = lines.join('\n');
    rendered.set(key, [...(rendered.get(key) ?? []), table.id]);
  }
  const enis = [...state.networkInterfaces.values()]
    .filter((eni) => eni.instanceId)
    .map((eni) => `${eni.id} src/dst check ${eni.sourceDestCheck ? 'ON' : 'off'}`);
  return [
    ...[...rendered].map(([lines, ids]) => `  ${ids.join(', ')}:\n${lines}`),
    `  ENIs: ${enis.join('; ')}`,
  ].join('\n');
}

export interface StoryResult {
  /** Invariants that do not hold at the end (empty when the story converged). */
  problems: string[];
  calls: number;
}

/** Plays the story on a fresh local cloud; `print` receives the readable narration. */
export async function playStory(print: (line: string) => void = console.log): Promise<StoryResult> {
  const cloud = await startLocalCloud();
  try {
    Object.assign(process.env, cloud.env, {
      ROUTE_TABLE_TAG: `${MANAGED_TAG}=true`,
      POWERTOOLS_LOG_LEVEL: verbose ? 'INFO' : 'ERROR',
      POWERTOOLS_METRICS_DISABLED: verbose ? 'false' : 'true',
    });
    // Imported only now, so the SDK clients and the handler's configuration see the local cloud's env.
    const { handler } = (await import('../../functions/handlers/reconcile.js')) as { handler: Handler };
    const deliver = async (what: string, event: unknown) => {
      const result = (await handler(event, fakeLambdaContext({ awsRequestId: crypto.randomUUID() }))) as { status: string; counts: Record<string, number> };
      const c = result.counts;
      print(`  ⇢ ${what}: status ${result.status}; create ${c.create}, replace ${c.replace}, delete ${c.delete}, keep ${c.keep}, source/dest fixes ${c.sourceDestCheckFixes}`);
    };
    const step = (title: string) => print(`\n── ${title}`);

    print(`Local cloud on ${cloud.endpoint}; cluster ${cloud.state.cluster.name}, remote pod network ${cloud.state.cluster.remotePodNetworks.join(', ')}`);
    step('Before: three hybrid nodes registered, Cilium gave each a /24, no pod routes yet');
    print(routeTables(cloud));

    step('1. SSM reports a managed-instance registration → the reconciler converges routes and source/dest check');
    await deliver('SSM Managed Instance Registration', sampleEvent('ssm-managed-instance-registration.json'));
    print(routeTables(cloud));

    step('2. Node 2 is terminated and removed from the cluster → its route goes away');
    await control(cloud, 'terminate-instance', { instanceId: 'i-0a1b2c3d4e5f60002' });
    await control(cloud, 'remove-ciliumnode', { node: 'mi-0b3c4d5e6f7a80912' });
    await deliver('EC2 Instance State-change Notification (terminated)', sampleEvent('ec2-instance-terminated.json', (e) => {
      e.detail['instance-id'] = 'i-0a1b2c3d4e5f60002';
      e.resources = [`arn:aws:ec2:us-west-2:123456789012:instance/i-0a1b2c3d4e5f60002`];
    }));
    print(routeTables(cloud));

    step('3. A replacement node joins: registered first, pod CIDR allocated a little later');
    await control(cloud, 'launch-instance', { instanceId: 'i-0a1b2c3d4e5f60004', subnetId: 'subnet-0a1b2c3d4e5f60002', privateIp: '10.20.2.20', networkInterfaceId: 'eni-0a1b2c3d4e5f60004' });
    await control(cloud, 'register-managed-instance', { managedInstanceId: 'mi-0d5e6f7a8b9c0b134', ipAddress: '10.20.2.20' });
    await deliver('EC2 Instance State-change Notification (running)', sampleEvent('ec2-instance-running.json', (e) => {
      e.detail['instance-id'] = 'i-0a1b2c3d4e5f60004';
      e.resources = [`arn:aws:ec2:us-west-2:123456789012:instance/i-0a1b2c3d4e5f60004`];
    }));
    await control(cloud, 'allocate-cidr', { node: 'mi-0d5e6f7a8b9c0b134', cidr: '10.30.3.0/24', nodeIp: '10.20.2.20' });
    await deliver('SSM Managed Instance Registration', sampleEvent('ssm-managed-instance-registration.json', (e) => {
      e.resources = [`arn:aws:ssm:us-west-2:123456789012:managed-instance/mi-0d5e6f7a8b9c0b134`];
    }));
    print(routeTables(cloud));

    step('4. A person adds an unrelated route and points one managed route at the wrong ENI');
    await control(cloud, 'add-route', { routeTableId: 'rtb-0a1b2c3d4e5f60101', destination: '100.64.0.0/10', transitGatewayId: 'tgw-0a1b2c3d4e5f60718' });
    await control(cloud, 'add-route', { routeTableId: 'rtb-0a1b2c3d4e5f60101', destination: '10.30.0.0/24', networkInterfaceId: 'eni-0a1b2c3d4e5f60003' });
    print(routeTables(cloud));
    await deliver('Scheduled Event (periodic run)', sampleEvent('scheduled-reconcile.json'));
    print(routeTables(cloud));

    const problems = checkInvariants(cloud);
    print(problems.length === 0 ? '\nBoth invariants hold: every node CIDR routed to its ENI in every managed table, source/dest check off, nothing else touched.' : `\nInvariant broken:\n  ${problems.join('\n  ')}`);
    const calls = cloud.state.calls.length;
    print(`${calls} API calls served by the local cloud (GET ${cloud.endpoint}/_localcloud/state while it runs shows them).`);
    return { problems, calls };
  } finally {
    await cloud.stop();
  }
}

/** What the story must end with, checked against the cloud's own state. */
function checkInvariants(cloud: LocalCloud): string[] {
  const { state } = cloud;
  const problems: string[] = [];
  const expected = new Map<string, string>();
  for (const node of state.ciliumNodes.values() as Iterable<any>) {
    const ip = node.spec.addresses.find((a: { type: string }) => a.type === 'InternalIP')?.ip;
    const eni = [...state.networkInterfaces.values()].find((e) => e.privateIp === ip);
    if (!eni) continue;
    if (eni.sourceDestCheck) problems.push(`${eni.id}: source/dest check still on`);
    for (const cidr of node.spec.ipam.podCIDRs as string[]) expected.set(cidr, eni.id);
  }
  for (const table of state.routeTables.values()) {
    if (table.tags[MANAGED_TAG] !== 'true') continue;
    const pod = table.routes.filter((r) => r.destination.startsWith('10.30.'));
    for (const [cidr, eni] of expected) {
      const route = pod.find((r) => r.destination === cidr);
      if (route?.target.id !== eni || routeState(state, route) !== 'active') problems.push(`${table.id}: ${cidr} should be an active route to ${eni}`);
    }
    for (const route of pod) if (!expected.has(route.destination)) problems.push(`${table.id}: stale ${route.destination}`);
    if (!table.routes.some((r) => r.destination === '10.10.0.0/16')) problems.push(`${table.id}: the TGW route to the EKS VPC is gone`);
  }
  if (!state.routeTables.get('rtb-0a1b2c3d4e5f60101')?.routes.some((r) => r.destination === '100.64.0.0/10')) problems.push('the hand-made 100.64.0.0/10 route is gone');
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/test/localcloud/demo.ts')) {
  const { problems } = await playStory();
  process.exitCode = problems.length === 0 ? 0 : 1;
}
