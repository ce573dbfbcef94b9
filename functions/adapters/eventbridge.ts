/**
 * EventBridge adapter: the reconciler's rules (its event triggers and schedule), which a teardown disables
 * while it works and enables again afterwards, so the reconciler does not fight the teardown.
 */
import {
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
} from '@aws-sdk/client-eventbridge';
import type { AutoHealingPort, RuleRecord } from '../core/ports.js';
import { type AwsClientOptions, clientConfig } from './aws-clients.js';
import { isAwsError } from './ec2.js';

/** Configured like every other client (aws-clients.ts); made here so only the teardown's bundle carries the EventBridge SDK. */
export function createEventBridgeClient(options: AwsClientOptions = {}): EventBridgeClient {
  return new EventBridgeClient(clientConfig(options));
}

/** What `describeRules` reports for a rule that does not exist. */
export const MISSING_RULE_STATE = 'MISSING';

/** Rules on the default event bus (where the reconciler's stack creates them), by name. */
export class EventBridgeRulesAdapter implements AutoHealingPort {
  constructor(private readonly client: EventBridgeClient) {}

  async describeRules(names: string[]): Promise<RuleRecord[]> {
    const records: RuleRecord[] = [];
    // One DescribeRule per name: ListRules filters by prefix only, and the reconciler has three rules.
    for (const name of new Set(names)) {
      try {
        const rule = await this.client.send(new DescribeRuleCommand({ Name: name }));
        // Reported as-is; an unknown state must not read as ENABLED or DISABLED.
        records.push({ name, state: rule.State ?? '' });
      } catch (error) {
        if (!isAwsError(error, 'ResourceNotFoundException')) throw error;
        records.push({ name, state: MISSING_RULE_STATE });
      }
    }
    return records;
  }

  /**
   * A rule that does not exist cannot fire, so there is nothing to disable: returns without error. The
   * teardown records the rules' states (MISSING included) before pausing, which is where absence shows.
   */
  async disableRule(name: string): Promise<void> {
    await this.ignoringMissing(new DisableRuleCommand({ Name: name }));
  }

  /**
   * A rule that does not exist (deleted, e.g. with the reconciler's stack, while the teardown ran) cannot be
   * resumed; creating it is the stack's job, not the teardown's. Returns without error.
   */
  async enableRule(name: string): Promise<void> {
    await this.ignoringMissing(new EnableRuleCommand({ Name: name }));
  }

  private async ignoringMissing(command: DisableRuleCommand | EnableRuleCommand): Promise<void> {
    try {
      // Both calls are idempotent on EventBridge's side: disabling a disabled rule succeeds.
      await this.client.send(command);
    } catch (error) {
      if (!isAwsError(error, 'ResourceNotFoundException')) throw error;
    }
  }
}
