/**
 * A local cloud as the benchmark uses it: on 127.0.0.1, EC2 token-bucket throttling on, the latency model set
 * through the control plane, process.env pointed at it; and reading its call log.
 */
import { type LocalCloud, startLocalCloud } from '../localcloud/server.js';
import type { ScenarioInput } from '../localcloud/scenario.js';
import { control, useCloudEnv } from '../e2e/e2e-support.js';
import { LATENCY_MODEL, type LoggedCall } from './measure.js';

export interface BenchCloud {
  cloud: LocalCloud;
  /** Refills every token bucket (`PUT /_localcloud/throttling`), as after a quiet period. */
  refillBuckets(): Promise<void>;
  /** Forgets the call log (`DELETE /_localcloud/calls`). */
  clearCalls(): Promise<void>;
  calls(): LoggedCall[];
  /** Restores process.env and stops the cloud. */
  stop(): Promise<void>;
}

async function controlOk(cloud: LocalCloud, method: string, path: string, body?: unknown): Promise<unknown> {
  const answer = await control(cloud, method, path, body);
  if (answer.status !== 200) throw new Error(`local cloud ${method} /_localcloud/${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

export async function startBenchCloud(
  scenario: ScenarioInput,
  options: { throttling?: boolean; latency?: boolean; env?: Record<string, string> } = {},
): Promise<BenchCloud> {
  const cloud = await startLocalCloud({ scenario, throttling: options.throttling ?? true });
  let restore: (() => void) | undefined;
  try {
    if (options.latency ?? true) await controlOk(cloud, 'PUT', 'latency', LATENCY_MODEL);
    restore = useCloudEnv(cloud, options.env ?? {});
  } catch (error) {
    await cloud.stop();
    throw error;
  }
  return {
    cloud,
    refillBuckets: async () => {
      await controlOk(cloud, 'PUT', 'throttling', { enabled: cloud.throttling.enabled });
    },
    clearCalls: async () => {
      await controlOk(cloud, 'DELETE', 'calls');
    },
    calls: () => cloud.state.calls.map(({ service, action, status, error }) => ({ service, action, status, ...(error ? { error } : {}) })),
    stop: async () => {
      restore?.();
      await cloud.stop();
    },
  };
}

export { controlOk };
