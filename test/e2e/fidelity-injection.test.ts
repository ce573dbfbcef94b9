/**
 * Fidelity of the local cloud's switchable misbehaviour, seen through the REAL SDK v3 clients and the
 * project's adapters over HTTP: EC2 request throttling (token bucket per API action, off by default),
 * latency injection (fixed or a distribution), and faults per service and action (5xx, timeouts, resets,
 * throttling storms, Kubernetes 401/403/500, a server certificate from the wrong CA).
 *
 * Bursts run concurrently. A bucket refills while a burst is in flight, so "exactly the bucket size" is
 * checked as: at least the size, at most the size plus the tokens the documented refill rate can add over
 * the burst's measured wall-clock span (which is exactly the size while the burst takes < 1 token's time).
 */
import {
  CreateRouteCommand,
  DeleteRouteCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  type EC2ClientConfig,
  ModifyNetworkInterfaceAttributeCommand,
} from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { STSClient } from '@aws-sdk/client-sts';
import { jest } from '@jest/globals';
import { AdaptiveRetryStrategy, DefaultRateLimiter } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { clientConfig } from '../../functions/adapters/aws-clients.js';
import { EksClusterAdapter } from '../../functions/adapters/eks.js';
import { KubernetesApiError, createCiliumNodeReader } from '../../functions/adapters/kubernetes.js';
import { EksTokenProvider } from '../../functions/adapters/token.js';
import type { ClusterInfo } from '../../functions/core/types.js';
import { type ScenarioInput, defaultScenario, loadScenario } from '../localcloud/scenario.js';
import { type LocalCloud, startLocalCloud } from '../localcloud/server.js';

const RTB_A = 'rtb-0a1b2c3d4e5f60101';
const ENI_1 = 'eni-0a1b2c3d4e5f60001';
const CREDENTIALS = { accessKeyId: 'AKIDLOCALCLOUD', secretAccessKey: 'localcloud-secret' };

/** The default world with the routes-per-table quota raised (adjustable up to 1,000 per Amazon VPC quotas). */
const SCENARIO: ScenarioInput = { ...defaultScenario(), quotas: { routesPerRouteTable: 500 } };

let plain: LocalCloud; // throttling off (the default)
let throttled: LocalCloud; // startLocalCloud({ throttling: true })
const clients: { destroy(): void }[] = [];

let fastClient: EC2Client; // one warmed-up client for the throttling bursts

beforeAll(async () => {
  [plain, throttled] = await Promise.all([startLocalCloud({ scenario: SCENARIO }), startLocalCloud({ throttling: true, scenario: SCENARIO })]);
  // Warm the SDK code paths and the client's sockets with throttling off, so that measured bursts are short.
  fastClient = ec2(throttled);
  throttled.throttling.enabled = false;
  await burst([
    ...createRoutes(fastClient, 0, 60),
    ...Array.from({ length: 60 }, (_, i) => () => fastClient.send(new DeleteRouteCommand({ RouteTableId: RTB_A, DestinationCidrBlock: destination(i) }))),
    ...describeRouteTables(fastClient, 60),
    ...modifySourceDestCheck(fastClient, 60),
  ]);
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await Promise.all([plain?.stop(), throttled?.stop()]);
});

beforeEach(() => {
  for (const cloud of [plain, throttled]) {
    const fresh = loadScenario(SCENARIO);
    cloud.state.routeTables = fresh.routeTables;
    cloud.state.networkInterfaces = fresh.networkInterfaces;
    cloud.state.instances = fresh.instances;
    cloud.state.calls.length = 0;
    cloud.faults.clear();
  }
  throttled.throttling.enabled = true;
  throttled.throttling.reset();
});

function ec2(cloud: LocalCloud, config: Partial<EC2ClientConfig> = {}): EC2Client {
  const client = new EC2Client({ region: cloud.region, endpoint: cloud.endpoint, credentials: CREDENTIALS, maxAttempts: 1, ...config });
  clients.push(client);
  return client;
}

/** The control plane (`/_localcloud/...`), as a test or the demo drives it. */
async function control(cloud: LocalCloud, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${cloud.endpoint}/_localcloud/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await response.json();
  expect(response.status).toBe(200);
  return json;
}

interface Outcome {
  ok: boolean;
  name?: string;
  status?: number;
}

/** Fires all calls at once; what each got back, and the burst's wall-clock span. */
async function burst(calls: (() => Promise<unknown>)[]): Promise<{ outcomes: Outcome[]; spanMs: number }> {
  const started = performance.now();
  const outcomes = await Promise.all(
    calls.map((call) =>
      call().then(
        (): Outcome => ({ ok: true }),
        (error: { name?: string; $metadata?: { httpStatusCode?: number } }): Outcome => ({ ok: false, name: error.name, status: error.$metadata?.httpStatusCode }),
      ),
    ),
  );
  return { outcomes, spanMs: performance.now() - started };
}

const throttledOf = (outcomes: Outcome[]) => outcomes.filter((o) => o.name === 'RequestLimitExceeded');

/** A full bucket of `size` plus at most what `refillPerSecond` adds over the burst. */
function expectBucket(outcomes: Outcome[], spanMs: number, size: number, refillPerSecond: number) {
  const granted = outcomes.length - throttledOf(outcomes).length;
  expect(granted).toBeGreaterThanOrEqual(size);
  expect(granted).toBeLessThanOrEqual(size + Math.floor((refillPerSecond * spanMs) / 1000));
  expect(throttledOf(outcomes).length).toBeGreaterThan(0);
  for (const o of throttledOf(outcomes)) expect(o).toEqual({ ok: false, name: 'RequestLimitExceeded', status: 503 });
  return granted;
}


const destination = (n: number) => `10.40.${n}.0/24`;
const createRoutes = (client: EC2Client, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => () => client.send(new CreateRouteCommand({ RouteTableId: RTB_A, DestinationCidrBlock: destination(from + i), NetworkInterfaceId: ENI_1 })));
const describeRouteTables = (client: EC2Client, count: number) =>
  Array.from({ length: count }, () => () => client.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB_A] })));
const modifySourceDestCheck = (client: EC2Client, count: number) =>
  Array.from({ length: count }, () => () => client.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: ENI_1, SourceDestCheck: { Value: false } })));

// AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
describe('EC2 request throttling (Request throttling for the Amazon EC2 API)', () => {
  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  // AWS: Amazon VPC User Guide, Amazon VPC quotas (routes per route table, adjustable) — https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html
  test('off by default: a burst of 60 CreateRoute all succeed', async () => {
    expect(plain.throttling.enabled).toBe(false);
    const { outcomes } = await burst(createRoutes(ec2(plain), 0, 60));
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(plain.state.routeTables.get(RTB_A)!.routes).toHaveLength(62);
  });

  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API (CreateRoute: bucket 50, refill 5/s) — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  // AWS: Amazon EC2 API Reference, Error codes for the Amazon EC2 API (RequestLimitExceeded) — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
  test('on: a CreateRoute burst gets the bucket of 50; the rest are RequestLimitExceeded with HTTP 503', async () => {
    const { outcomes, spanMs } = await burst(createRoutes(fastClient, 0, 60));
    const granted = expectBucket(outcomes, spanMs, 50, 5);
    expect(throttled.state.routeTables.get(RTB_A)!.routes).toHaveLength(2 + granted);
    const log = throttled.state.calls.filter((c) => c.action === 'CreateRoute');
    expect(log.filter((c) => c.status === 200)).toHaveLength(granted);
    expect(log.filter((c) => c.status === 503 && c.error === 'RequestLimitExceeded')).toHaveLength(60 - granted);
  });

  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API ("each API is evaluated individually") — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  // AWS: Amazon EC2 API Reference, DeleteRoute — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteRoute.html
  test('buckets are per action: with CreateRoute drained, DeleteRoute still has its own 50', async () => {
    const client = fastClient;
    const created = await burst(createRoutes(client, 0, 60));
    expectBucket(created.outcomes, created.spanMs, 50, 5);
    // 60 deletes: the routes that exist and some that do not (a granted delete of those is InvalidRoute.NotFound).
    const deletes = Array.from({ length: 60 }, (_, i) => () => client.send(new DeleteRouteCommand({ RouteTableId: RTB_A, DestinationCidrBlock: destination(i) })));
    const { outcomes, spanMs } = await burst(deletes);
    expectBucket(outcomes, spanMs, 50, 5);
    expect(outcomes.every((o) => o.ok || o.name === 'RequestLimitExceeded' || o.name === 'InvalidRoute.NotFound')).toBe(true);
  });

  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API (DescribeRouteTables: bucket 100, refill 20/s) — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  // AWS: Amazon EC2 API Reference, DescribeRouteTables — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html
  test('DescribeRouteTables allows a burst of 100', async () => {
    const { outcomes, spanMs } = await burst(describeRouteTables(fastClient, 150));
    expectBucket(outcomes, spanMs, 100, 20);
  });

  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API (ModifyNetworkInterfaceAttribute: bucket 100, refill 5/s) — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  // AWS: Amazon EC2 API Reference, ModifyNetworkInterfaceAttribute — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyNetworkInterfaceAttribute.html
  test('ModifyNetworkInterfaceAttribute allows a burst of 100', async () => {
    const { outcomes, spanMs } = await burst(modifySourceDestCheck(fastClient, 110));
    expectBucket(outcomes, spanMs, 100, 5);
  });

  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  test('PUT /_localcloud/throttling {"enabled": false} lets calls through again; {"enabled": true} brings the buckets back', async () => {
    const client = fastClient;
    const drained = await burst(createRoutes(client, 0, 60));
    expectBucket(drained.outcomes, drained.spanMs, 50, 5);

    expect(await control(throttled, 'PUT', 'throttling', { enabled: false })).toEqual({ enabled: false });
    const free = await burst(createRoutes(client, 100, 60));
    expect(free.outcomes.filter((o) => !o.ok)).toEqual([]);

    expect(await control(throttled, 'PUT', 'throttling', { enabled: true })).toEqual({ enabled: true });
    const again = await burst(createRoutes(client, 200, 60));
    expectBucket(again.outcomes, again.spanMs, 50, 5);
  });
});

// AWS: AWS SDKs and Tools Reference Guide, Retry behavior (timeouts and latency the SDK must tolerate) — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
describe('latency injection (PUT /_localcloud/latency)', () => {
  // AWS: Amazon EC2 API Reference, DescribeRouteTables — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html
  // AWS: Amazon EC2 API Reference, DescribeNetworkInterfaces — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html
  test('a fixed delay on ec2 DescribeRouteTables: that call takes at least 150 ms; DescribeNetworkInterfaces is not delayed', async () => {
    const delays = jest.spyOn(plain.faults, 'delayMs');
    await control(plain, 'PUT', 'latency', [{ service: 'ec2', action: 'DescribeRouteTables', fixedMs: 150 }]);
    const client = ec2(plain);

    const started = performance.now();
    await client.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB_A] }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(149);
    await client.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [ENI_1] }));

    // What the server applied to each call (no upper bound on wall-clock time is asserted anywhere).
    const applied = delays.mock.calls.map(([service, action], i) => [service, action, delays.mock.results[i]!.value]);
    expect(applied).toEqual([
      ['ec2', 'DescribeRouteTables', 150],
      ['ec2', 'DescribeNetworkInterfaces', 0],
    ]);
  });

  // AWS: Amazon EC2 API Reference, DescribeRouteTables — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html
  test('a {minMs, maxMs} distribution: every call waits a drawn delay within the bounds', async () => {
    const delays = jest.spyOn(plain.faults, 'delayMs');
    await control(plain, 'PUT', 'latency', [{ service: 'ec2', action: 'DescribeRouteTables', minMs: 40, maxMs: 80 }]);
    expect(await control(plain, 'GET', 'faults')).toEqual({ faults: [], latency: [{ service: 'ec2', action: 'DescribeRouteTables', minMs: 40, maxMs: 80 }] });
    const client = ec2(plain);
    for (let i = 0; i < 4; i++) {
      const started = performance.now();
      await client.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB_A] }));
      const elapsed = performance.now() - started;
      const drawn = delays.mock.results.at(-1)!.value as number;
      expect(drawn).toBeGreaterThanOrEqual(40);
      expect(drawn).toBeLessThanOrEqual(80);
      expect(elapsed).toBeGreaterThanOrEqual(Math.max(39, drawn - 1));
    }
    expect(delays).toHaveBeenCalledTimes(4);
  });
});

// AWS: Amazon EC2 API Reference, Error codes for the Amazon EC2 API (server errors) — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
describe('AWS faults per service and action (POST /_localcloud/faults)', () => {
  // AWS: Amazon EC2 API Reference, Error codes for the Amazon EC2 API (InternalError, HTTP 500) — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
  test('a 500 InternalError on ec2 DescribeRouteTables only, times: 1, then it recovers', async () => {
    await control(plain, 'POST', 'faults', { service: 'ec2', action: 'DescribeRouteTables', kind: 'error', status: 500, code: 'InternalError', message: 'An internal error has occurred', times: 1 });
    const client = ec2(plain);
    await expect(client.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB_A] }))).rejects.toMatchObject({
      name: 'InternalError',
      message: 'An internal error has occurred',
      $metadata: { httpStatusCode: 500 },
    });
    await expect(client.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [ENI_1] }))).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
    await expect(client.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB_A] }))).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
    expect(plain.state.calls.map((c) => `${c.action} ${c.status}${c.error ? ` ${c.error}` : ''}`)).toEqual([
      'DescribeRouteTables 500 InternalError',
      'DescribeNetworkInterfaces 200',
      'DescribeRouteTables 200',
    ]);
  });

  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior (timeouts) — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test('timeout: a never-answered call ends in the SDK TimeoutError of its requestTimeout', async () => {
    await control(plain, 'POST', 'faults', { service: 'ec2', action: 'DescribeRouteTables', kind: 'timeout', times: 1 });
    // @smithy/node-http-handler 4.x only logs a warning at requestTimeout unless throwOnRequestTimeout is set.
    const client = ec2(plain, { requestHandler: new NodeHttpHandler({ requestTimeout: 2_000, throwOnRequestTimeout: true }) });
    const started = performance.now();
    await expect(client.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB_A] }))).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_999);
    expect(plain.state.calls).toEqual([expect.objectContaining({ service: 'ec2', action: 'DescribeRouteTables', status: 0, error: 'Timeout' })]);
    await expect(client.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB_A] }))).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
  });

  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior (connection errors are transient) — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test('reset: the connection is dropped and the SDK sees a socket error, which it retries', async () => {
    await control(plain, 'POST', 'faults', { service: 'ec2', action: 'DescribeNetworkInterfaces', kind: 'reset', times: 1 });
    const error = (await ec2(plain)
      .send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [ENI_1] }))
      .catch((e: unknown) => e)) as Error;
    // node-http-handler renames ECONNRESET to TimeoutError (a transient error). Under Jest the node:http error
    // comes from another realm, so the SDK re-wraps it as "AWS SDK error wrapper for TimeoutError: socket hang up".
    expect(`${error.name}: ${error.message}`).toMatch(/TimeoutError: socket hang up/);
    expect(plain.state.calls).toEqual([expect.objectContaining({ action: 'DescribeNetworkInterfaces', status: 0, error: 'ConnectionReset' })]);

    await control(plain, 'POST', 'faults', { service: 'ec2', action: 'DescribeNetworkInterfaces', kind: 'reset', times: 1 });
    const retried = await ec2(plain, { maxAttempts: 2 }).send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [ENI_1] }));
    expect(retried.$metadata.attempts).toBe(2);
    expect(retried.NetworkInterfaces?.[0]?.NetworkInterfaceId).toBe(ENI_1);
  });

  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API (retries and exponential backoff) — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior (adaptive mode) — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test("a throttling storm of 5 RequestLimitExceeded is ridden out by adaptive retry with the project's maxAttempts", async () => {
    const project = clientConfig();
    expect(project).toMatchObject({ retryMode: 'adaptive', maxAttempts: 8 });
    // What the SDK builds from the project's settings: adaptive retry, 8 attempts.
    const asConfigured = ec2(plain, { ...project });
    const strategy = await asConfigured.config.retryStrategy();
    expect(strategy).toBeInstanceOf(AdaptiveRetryStrategy);
    expect(await (strategy as AdaptiveRetryStrategy).maxAttemptsProvider()).toBe(8);

    // The same strategy class and attempt budget, with the jittered backoff (up to 1 s, 2 s, 4 s ... for
    // throttling) and the client-side rate limiter's floor (0.5 requests/s) shortened so the test takes ms.
    const fast = new AdaptiveRetryStrategy(project.maxAttempts, {
      maxAttempts: project.maxAttempts,
      backoff: { computeNextBackoffDelay: () => 0, setDelayBase: () => {} },
      rateLimiter: new DefaultRateLimiter({ minFillRate: 1_000, minCapacity: 1_000 }),
    });
    const client = ec2(plain, { ...project, retryStrategy: fast });

    await control(plain, 'POST', 'faults', { service: 'ec2', kind: 'error', status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.', times: 5 });
    const out = await client.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB_A] }));
    expect(out.RouteTables?.[0]?.RouteTableId).toBe(RTB_A);
    expect(out.$metadata.attempts).toBe(6);
    expect(plain.state.calls.map((c) => `${c.action} ${c.status}${c.error ? ` ${c.error}` : ''}`)).toEqual([
      ...Array.from({ length: 5 }, () => 'DescribeRouteTables 503 RequestLimitExceeded'),
      'DescribeRouteTables 200',
    ]);
  });
});

// AWS: Amazon EKS API Reference, DescribeCluster (endpoint and certificateAuthority the reader trusts) — https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeCluster.html
// AWS: AWS CLI Command Reference, aws eks get-token (the bearer token) — https://docs.aws.amazon.com/cli/latest/reference/eks/get-token.html
describe('Kubernetes API faults seen by the CiliumNode reader', () => {
  let cluster: ClusterInfo;
  let token: string;

  beforeAll(async () => {
    const sts = new STSClient({ region: plain.region, endpoint: plain.endpoint, credentials: CREDENTIALS, maxAttempts: 1 });
    const eks = new EKSClient({ region: plain.region, endpoint: plain.endpoint, credentials: CREDENTIALS, maxAttempts: 1 });
    clients.push(sts, eks);
    token = (await new EksTokenProvider({ region: plain.region, sts, stsEndpoint: plain.endpoint }).getToken(plain.state.cluster.name)).token;
    cluster = await new EksClusterAdapter(eks).describeCluster(plain.state.cluster.name);
  });

  const reader = () => createCiliumNodeReader({ cluster, token });
  const failure = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KubernetesApiError);
    return error as KubernetesApiError;
  };

  // AWS: Amazon EKS API Reference, DescribeCluster — https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeCluster.html
  test('401, 403 and 500 on "list ciliumnodes" reach the reader as statusCode; then it reads again', async () => {
    const nodes = reader();
    await expect(nodes.listCiliumNodes()).resolves.toHaveLength(3);
    for (const status of [401, 403, 500]) {
      await control(plain, 'POST', 'faults', { service: 'kubernetes', action: 'list ciliumnodes', kind: 'error', status, times: 1 });
      const error = await failure(nodes.listCiliumNodes());
      expect(error.statusCode).toBe(status);
      expect(error.message).toMatch(new RegExp(`^list ciliumnodes failed: HTTP ${status}`));
    }
    await expect(nodes.listCiliumNodes()).resolves.toHaveLength(3);
    expect(plain.state.calls.filter((c) => c.service === 'kubernetes').map((c) => c.status)).toEqual([200, 401, 403, 500, 200]);
  });

  // AWS: Amazon EKS API Reference, DescribeCluster (certificateAuthority.data) — https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeCluster.html
  test('wrong-ca: the reader refuses the certificate; DELETE /_localcloud/faults clears it and the reader works again', async () => {
    await expect(reader().listCiliumNodes()).resolves.toHaveLength(3); // the cluster answers before the fault
    await control(plain, 'POST', 'faults', { service: 'kubernetes', kind: 'wrong-ca' });
    const nodes = reader();
    const error = await failure(nodes.listCiliumNodes());
    expect(error.statusCode).toBeUndefined();
    expect(error.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(await control(plain, 'DELETE', 'faults')).toEqual({});
    await expect(nodes.listCiliumNodes()).resolves.toHaveLength(3);
  });
});
