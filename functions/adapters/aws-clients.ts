/**
 * One place that says how every AWS SDK client is configured. Endpoints are never set here: the SDK
 * reads `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` itself, which is how the local cloud is reached.
 * The SSM client is built where it is used, with the same clientConfig: the reconciler loads it only for a
 * registration report (createManagedInstanceLookup in ssm.ts).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { STSClient } from '@aws-sdk/client-sts';

export interface AwsClientOptions {
  region?: string;
  /** Attempts per call, first included. Adaptive mode also rate-limits the client after throttling. */
  maxAttempts?: number;
}

/** Retry settings shared by every client: adaptive retry (token bucket on the client side). */
export function clientConfig(options: AwsClientOptions = {}) {
  return {
    ...(options.region ? { region: options.region } : {}),
    retryMode: 'adaptive' as const,
    maxAttempts: options.maxAttempts ?? 8,
    // Without these a call the service never answers hangs until the Lambda times out; with them it
    // fails as a TimeoutError, which the retry strategy retries like any transient error.
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 15_000, throwOnRequestTimeout: true },
  };
}

export interface AwsClients {
  ec2: EC2Client;
  eks: EKSClient;
  sts: STSClient;
}

export function createAwsClients(options: AwsClientOptions = {}): AwsClients {
  const config = clientConfig(options);
  return {
    ec2: new EC2Client(config),
    eks: new EKSClient(config),
    sts: new STSClient(config),
  };
}
