/**
 * The local cloud's HTTP front door on 127.0.0.1. AWS requests are routed by the service in their SigV4
 * credential scope (one port serves every service, reached through `AWS_ENDPOINT_URL`); latency, faults
 * and EC2 throttling are applied here, once, for every service; every call is logged in `state.calls`.
 * `/_localcloud/...` is the control plane for tests and the demo (state, scenario steps, faults).
 */
import { TEARDOWN_ENV } from '../../functions/core/teardown-steps.js';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { Socket } from 'node:net';
import { handleControl } from './controls.js';
import { ec2Handler } from './ec2.js';
import { eksHandler } from './eks.js';
import { eventBridgeHandler } from './eventbridge.js';
import { FaultInjector } from './faults.js';
import { startKubernetesApi } from './kubernetes.js';
import { AwsError, type AwsRequest, type AwsResponse, type ServiceHandler } from './protocol.js';
import { type ScenarioInput, loadScenario } from './scenario.js';
import { ssmHandler } from './ssm.js';
import type { CloudState } from './state.js';
import { stsHandler } from './sts.js';
import { TokenBuckets } from './throttle.js';

export const LOCAL_ACCESS_KEY_ID = 'AKIDLOCALCLOUD';
export const LOCAL_SECRET_ACCESS_KEY = 'localcloud-secret';

const HANDLERS: ServiceHandler[] = [ec2Handler, eksHandler, stsHandler, ssmHandler, eventBridgeHandler];

export interface LocalCloudOptions {
  scenario?: ScenarioInput | string;
  port?: number;
  /** EC2 token-bucket throttling (off by default). */
  throttling?: boolean;
}

export interface LocalCloud {
  endpoint: string;
  port: number;
  region: string;
  state: CloudState;
  faults: FaultInjector;
  throttling: TokenBuckets;
  /** The environment that points the SDK, the CLI and the handlers at this cloud. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

const CREDENTIAL_SCOPE = /Credential=([^/,\s]+)\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/;

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, out: AwsResponse): void {
  response.writeHead(out.status, { ...out.headers, 'content-length': Buffer.byteLength(out.body) });
  response.end(out.body);
}

export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const state = loadScenario(options.scenario);
  const faults = new FaultInjector();
  const throttling = new TokenBuckets(options.throttling ?? false);
  const started = performance.now();
  const sockets = new Set<Socket>();
  const handlers = new Map(HANDLERS.map((handler) => [handler.service, handler]));

  const serveAws = async (request: IncomingMessage, response: ServerResponse, url: URL) => {
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : (v ?? '')]));
    // Signed requests carry the scope in Authorization; presigned ones (the EKS token's URL) in the query.
    const scope = CREDENTIAL_SCOPE.exec(headers.authorization ?? '') ?? CREDENTIAL_SCOPE.exec(`Credential=${url.searchParams.get('X-Amz-Credential') ?? ''}`);
    const body = await readBody(request);
    const service = scope?.[2] ?? 'unknown';
    const handler = handlers.get(service);
    const record = (action: string, status: number, error?: string) =>
      state.calls.push({ service, action, status, ...(error ? { error } : {}), at: Math.round(performance.now() - started) });
    if (!handler) {
      record('Unknown', 400, 'UnknownService');
      send(response, { status: 400, headers: { 'content-type': 'text/plain' }, body: `no local service for credential scope "${service}"` });
      return;
    }
    const awsRequest: AwsRequest = {
      service,
      method: request.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers,
      body,
      ...(scope?.[1] ? { accessKeyId: scope[1] } : {}),
    };
    let action = 'Unknown';
    try {
      action = handler.actionOf(awsRequest);
      const interception = await faults.intercept(service, action, request.socket, (status, error) => record(action, status, error));
      if (interception.kind === 'dropped') return;
      if (interception.kind === 'error') {
        const { fault } = interception;
        throw new AwsError(fault.code ?? 'InternalError', fault.message ?? 'injected fault', fault.status ?? 500);
      }
      if (service === 'ec2' && !throttling.take(action)) throw new AwsError('RequestLimitExceeded', 'Request limit exceeded.', 503);
      const out = await handler.handle(awsRequest, action, state);
      record(action, out.status);
      send(response, out);
    } catch (error) {
      const awsError = error instanceof AwsError ? error : new AwsError('InternalError', error instanceof Error ? error.message : String(error), 500);
      const out = handler.errorResponse(awsError, action);
      record(action, out.status, awsError.code);
      send(response, out);
    }
  };

  let cloud: LocalCloud | undefined;
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const work = url.pathname.startsWith('/_localcloud/')
      ? readBody(request).then((body) => send(response, handleControl(cloud!, request.method ?? 'GET', url, body)))
      : serveAws(request, response, url);
    work.catch((error: unknown) => {
      if (!response.headersSent) send(response, { status: 500, headers: { 'content-type': 'text/plain' }, body: String(error) });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const endpoint = `http://127.0.0.1:${port}`;

  let kubernetes: Awaited<ReturnType<typeof startKubernetesApi>>;
  try {
    kubernetes = await startKubernetesApi(state, faults, { clusterName: state.cluster.name, region: state.region, stsHost: `127.0.0.1:${port}`, startedAt: started });
  } catch (error) {
    server.close();
    throw error;
  }
  state.cluster.endpoint = kubernetes.endpoint;
  state.cluster.caPem = kubernetes.caPem;

  cloud = {
    endpoint,
    port,
    region: state.region,
    state,
    faults,
    throttling,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: state.region,
      AWS_ACCESS_KEY_ID: LOCAL_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: LOCAL_SECRET_ACCESS_KEY,
      // No instance metadata lookups: credentials are above, and nothing may leave loopback.
      AWS_EC2_METADATA_DISABLED: 'true',
      CLUSTER_NAME: state.cluster.name,
      ...(state.cluster.readerRoleArn ? { READER_ROLE_ARN: state.cluster.readerRoleArn } : {}),
      // For `teardown --local`: a role the local Kubernetes API grants the teardown permissions (its name
      // contains `teardown`), and the reconciler's rules the teardown pauses.
      [TEARDOWN_ENV.teardownRoleArn]: `arn:aws:iam::${state.accountId}:role/eks-hybrid-routes-teardown`,
      ...(state.rules.size > 0 ? { [TEARDOWN_ENV.ruleNames]: [...state.rules.keys()].join(',') } : {}),
    },
    async stop() {
      await kubernetes.stop();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return cloud;
}
