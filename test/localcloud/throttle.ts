/**
 * EC2's request throttling: a token bucket per API action, per account and Region ("Request throttling
 * for the Amazon EC2 API", EC2 developer guide). A call takes one token; with none left it fails with
 * `RequestLimitExceeded`. Tokens refill continuously at the action's rate up to the bucket size.
 */

export interface BucketSpec {
  size: number;
  refillPerSecond: number;
}

/** The documented numbers for the actions this project calls. */
export const EC2_BUCKETS: Record<string, BucketSpec> = {
  CreateRoute: { size: 50, refillPerSecond: 5 },
  ReplaceRoute: { size: 50, refillPerSecond: 5 },
  DeleteRoute: { size: 50, refillPerSecond: 5 },
  ModifyInstanceAttribute: { size: 50, refillPerSecond: 5 },
  ModifyNetworkInterfaceAttribute: { size: 100, refillPerSecond: 5 },
  DescribeRouteTables: { size: 100, refillPerSecond: 20 },
  DescribeNetworkInterfaces: { size: 100, refillPerSecond: 20 },
  DescribeInstances: { size: 100, refillPerSecond: 20 },
  TerminateInstances: { size: 100, refillPerSecond: 5 },
  StopInstances: { size: 100, refillPerSecond: 5 },
  StartInstances: { size: 100, refillPerSecond: 5 },
};

export class TokenBuckets {
  enabled: boolean;
  private readonly buckets = new Map<string, { tokens: number; updated: number }>();

  constructor(
    enabled = false,
    private readonly specs: Record<string, BucketSpec> = EC2_BUCKETS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.enabled = enabled;
  }

  /** Takes a token for `action`; false when the bucket is empty (the call is throttled). */
  take(action: string): boolean {
    const spec = this.specs[action];
    if (!this.enabled || !spec) return true;
    const now = this.now();
    const bucket = this.buckets.get(action) ?? { tokens: spec.size, updated: now };
    bucket.tokens = Math.min(spec.size, bucket.tokens + ((now - bucket.updated) / 1000) * spec.refillPerSecond);
    bucket.updated = now;
    this.buckets.set(action, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  reset(): void {
    this.buckets.clear();
  }
}
