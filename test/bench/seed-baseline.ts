/**
 * The seed's route-sync script (`/work/shared/seeds/000_39322ad0a3fd2a50.txt`, "路由表同步脚本"), ported line by
 * line to the AWS SDK v3 clients, as a bench-only baseline. It is NOT the product and lives outside functions/.
 *
 * The script syncs ONE route table per run (ROUTE_TABLE_ID), so R tables are R runs, one after the other.
 * Per run, exactly as the bash does:
 *   1. `kubectl get ciliumnode -o json`                      → one chunked list (kubectl's --chunk-size=500)
 *   2. VALID_CIDRS = every node's `.spec.ipam.podCIDRs[0]`   (the first pod CIDR only)
 *   3. `aws ec2 describe-route-tables --route-table-ids`     → CURRENT_ROUTES (read once)
 *   4. per CiliumNode: `aws ec2 describe-instances --filters Name=private-ip-address,Values=$NODE_IP`;
 *      if no instance, skip; if CURRENT_ROUTES has a route with that destination (whatever its target) nothing
 *      more; else `aws ec2 describe-instances --instance-ids` for the first ENI, then
 *      `replace-route … || create-route …`
 *   5. `aws ec2 describe-route-tables` again, and `delete-route` for every `^10\.30\.[0-9]+\.0/24$` route that is
 *      not in VALID_CIDRS.
 * No `set -e`: a failed command is reported and the script goes on. A failed `kubectl` leaves VALID_CIDRS empty,
 * so step 5 deletes every matching route (the seed's known flaw; kept).
 *
 * Two lines of the brief describe it a little differently (a DescribeNetworkInterfaces for the ENI, a replace on
 * every node); the seed's own text is what is ported: the ENI comes from a second DescribeInstances and the
 * replace/create only runs when the destination is absent, so a route with a wrong target is never repaired.
 *
 * AWS CLI v2 defaults are kept: `standard` retry mode, 3 attempts, which is the SDK v3 default. Source/dest
 * check is not the script's business (the seed turns it off by hand). The cost of starting `aws` and `kubectl`
 * processes (hundreds of ms each for the real script) is not modelled: this port is faster than the original.
 */
import { request } from 'node:https';
import {
  CreateRouteCommand,
  DeleteRouteCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  ReplaceRouteCommand,
  type Route,
} from '@aws-sdk/client-ec2';
import { STSClient } from '@aws-sdk/client-sts';
import { EksTokenProvider } from '../../functions/adapters/token.js';

/** The seed's regular expression for "its" routes. */
export const SEED_ROUTE_PATTERN = /^10\.30\.[0-9]+\.0\/24$/;
/** kubectl's default `--chunk-size`. */
const KUBECTL_CHUNK_SIZE = 500;

export interface SeedBaselineOptions {
  region: string;
  clusterName: string;
  routeTableIds: string[];
  /** What `aws eks update-kubeconfig` wrote once: the API server and its CA. */
  kubernetes: { endpoint: string; caPem: string };
}

export interface SeedFailure {
  command: string;
  code: string;
}

export interface SeedRunReport {
  tables: number;
  nodesSeen: number;
  skippedNodes: number;
  replaced: number;
  created: number;
  deleted: number;
  failures: SeedFailure[];
}

interface CiliumNodeItem {
  metadata?: { name?: string };
  spec?: { addresses?: { ip?: string; type?: string }[]; ipam?: { podCIDRs?: string[] } };
}

function codeOf(error: unknown): string {
  return error instanceof Error ? error.name : String(error);
}

/** `kubectl get ciliumnode -o json` with `aws eks get-token` as the exec credential plugin. */
async function kubectlGetCiliumNodes(options: SeedBaselineOptions): Promise<CiliumNodeItem[]> {
  const tokens = new EksTokenProvider({ region: options.region, sts: new STSClient({}) });
  const token = (await tokens.getToken(options.clusterName)).token;
  const items: CiliumNodeItem[] = [];
  let cont: string | undefined;
  do {
    const url = new URL('/apis/cilium.io/v2/ciliumnodes', options.kubernetes.endpoint);
    url.searchParams.set('limit', String(KUBECTL_CHUNK_SIZE));
    if (cont) url.searchParams.set('continue', cont);
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(url, { method: 'GET', ca: options.kubernetes.caPem, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 300) reject(Object.assign(new Error(`kubectl: HTTP ${res.statusCode}: ${text.slice(0, 200)}`), { name: `Http${res.statusCode}` }));
          else resolve(text);
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    const list = JSON.parse(body) as { items?: CiliumNodeItem[]; metadata?: { continue?: string } };
    items.push(...(list.items ?? []));
    cont = list.metadata?.continue || undefined;
  } while (cont);
  return items;
}

async function syncOneTable(ec2: EC2Client, options: SeedBaselineOptions, routeTableId: string, report: SeedRunReport): Promise<void> {
  const failed = (command: string, error: unknown) => report.failures.push({ command, code: codeOf(error) });

  // CILIUM_NODES=$(kubectl get ciliumnode -o json)
  let nodes: CiliumNodeItem[] = [];
  try {
    nodes = await kubectlGetCiliumNodes(options);
  } catch (error) {
    failed('kubectl get ciliumnode', error);
  }
  const podCidr = (node: CiliumNodeItem) => node.spec?.ipam?.podCIDRs?.[0] ?? 'null';
  const validCidrs = nodes.map(podCidr).filter((cidr) => cidr !== '' && cidr !== 'null');

  // CURRENT_ROUTES=$(aws ec2 describe-route-tables --route-table-ids $ROUTE_TABLE_ID --query 'RouteTables[0].Routes')
  const describeRoutes = async (): Promise<Route[]> => {
    try {
      const out = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [routeTableId] }));
      return out.RouteTables?.[0]?.Routes ?? [];
    } catch (error) {
      failed('describe-route-tables', error);
      return [];
    }
  };
  const currentRoutes = await describeRoutes();

  for (const node of nodes) {
    report.nodesSeen += 1;
    const overlayCidr = podCidr(node);
    const nodeIp = node.spec?.addresses?.find((address) => address.type === 'InternalIP')?.ip ?? '';

    // INSTANCE_ID=$(aws ec2 describe-instances --filters "Name=private-ip-address,Values=$NODE_IP" …)
    let instanceId = 'None';
    try {
      const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'private-ip-address', Values: [nodeIp] }] }));
      instanceId = out.Reservations?.[0]?.Instances?.[0]?.InstanceId ?? 'None';
    } catch (error) {
      failed('describe-instances --filters', error);
      instanceId = '';
    }
    if (instanceId === '' || instanceId === 'None') {
      report.skippedNodes += 1;
      continue;
    }

    // ROUTE_EXISTS: any route in CURRENT_ROUTES with this destination, whatever it points at.
    if (currentRoutes.some((route) => route.DestinationCidrBlock === overlayCidr)) continue;

    // ENI_ID=$(aws ec2 describe-instances --instance-ids $INSTANCE_ID --query '…NetworkInterfaces[0].NetworkInterfaceId')
    let eniId = 'None';
    try {
      const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      eniId = out.Reservations?.[0]?.Instances?.[0]?.NetworkInterfaces?.[0]?.NetworkInterfaceId ?? 'None';
    } catch (error) {
      failed('describe-instances --instance-ids', error);
      eniId = '';
    }
    if (eniId === '' || eniId === 'None') continue;

    // aws ec2 replace-route … || aws ec2 create-route …
    const input = { RouteTableId: routeTableId, DestinationCidrBlock: overlayCidr, NetworkInterfaceId: eniId };
    try {
      await ec2.send(new ReplaceRouteCommand(input));
      report.replaced += 1;
    } catch (error) {
      failed('replace-route', error);
      try {
        await ec2.send(new CreateRouteCommand(input));
        report.created += 1;
      } catch (createError) {
        failed('create-route', createError);
      }
    }
  }

  // UPDATED_ROUTES, then delete every 10.30.x.0/24 route not in VALID_CIDRS.
  const updatedRoutes = await describeRoutes();
  for (const route of updatedRoutes) {
    const cidr = route.DestinationCidrBlock ?? '';
    if (!SEED_ROUTE_PATTERN.test(cidr) || validCidrs.includes(cidr)) continue;
    try {
      await ec2.send(new DeleteRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: cidr }));
      report.deleted += 1;
    } catch (error) {
      failed('delete-route', error);
    }
  }
}

/** Runs the seed's script once per managed route table, as an operator (or a cron job) would. */
export async function runSeedBaseline(options: SeedBaselineOptions): Promise<SeedRunReport> {
  // The SDK reads region, credentials and AWS_ENDPOINT_URL from the environment, as the CLI does.
  const ec2 = new EC2Client({ region: options.region });
  const report: SeedRunReport = { tables: options.routeTableIds.length, nodesSeen: 0, skippedNodes: 0, replaced: 0, created: 0, deleted: 0, failures: [] };
  try {
    for (const routeTableId of options.routeTableIds) await syncOneTable(ec2, options, routeTableId, report);
  } finally {
    ec2.destroy();
  }
  return report;
}
