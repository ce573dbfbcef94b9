/**
 * Local EventBridge (AWS JSON 1.1, `X-Amz-Target: AWSEvents.<Action>`, signing name `events`): the rules
 * on the default event bus, from `state.rules`.
 *
 * Follows the Amazon EventBridge API Reference: "DescribeRule" (Name 1–64 chars `[\.\-_A-Za-z0-9]+`,
 * optional EventBusName: the default bus by name or ARN; response Name, Arn
 * `arn:aws:events:<region>:<account>:rule/<name>`, EventPattern, ScheduleExpression, State, EventBusName,
 * CreatedBy), "EnableRule" / "DisableRule" (empty response), "ListRules" (NamePrefix 1–64, Limit 1–100,
 * NextToken; Rules[] and NextToken only when more follow) and "Common Errors". An unknown rule is
 * `ResourceNotFoundException` ("Rule <name> does not exist on EventBus default."), an unknown bus
 * "Event bus <name> does not exist.", both HTTP 400 as JSON 1.1 client errors; model violations are
 * `ValidationException`. The default ListRules page size (100 here) is not documented.
 */
import { partition } from '@aws-sdk/util-endpoints';
import { boundedInteger, constraintError, jsonRpcErrorResponse, optionalString, paginate, parseJsonBody, requiredString, targetAction } from './json-rpc.js';
import { AwsError, type AwsRequest, type AwsResponse, type ServiceHandler, jsonResponse } from './protocol.js';
import type { CloudState, LocalRule } from './state.js';

const ACTIONS = new Set(['DescribeRule', 'EnableRule', 'DisableRule', 'ListRules']);
const RULE_NAME = /^[.\-_A-Za-z0-9]+$/;
const DEFAULT_BUS = 'default';

/** Fields a rule may carry beyond LocalRule's. */
type RuleDetails = LocalRule & { description?: string; roleArn?: string; managedBy?: string };

const ruleArn = (state: CloudState, name: string) => `arn:${partition(state.region).name}:events:${state.region}:${state.accountId}:rule/${name}`;

function checkBus(state: CloudState, body: Record<string, unknown>): void {
  const bus = optionalString(body, 'EventBusName');
  if (bus === undefined) return;
  const defaultArn = `arn:${partition(state.region).name}:events:${state.region}:${state.accountId}:event-bus/${DEFAULT_BUS}`;
  if (bus !== DEFAULT_BUS && bus !== defaultArn) throw new AwsError('ResourceNotFoundException', `Event bus ${bus} does not exist.`, 400);
}

function ruleByName(state: CloudState, body: Record<string, unknown>): RuleDetails {
  const name = requiredString(body, 'Name');
  if (name.length < 1 || name.length > 64) throw constraintError('name', name, 'Member must have length less than or equal to 64');
  if (!RULE_NAME.test(name)) throw constraintError('name', name, 'Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+');
  checkBus(state, body);
  const rule = state.rules.get(name);
  if (!rule) throw new AwsError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${DEFAULT_BUS}.`, 400);
  return rule;
}

function ruleSummary(state: CloudState, rule: RuleDetails) {
  return {
    Name: rule.name,
    Arn: ruleArn(state, rule.name),
    ...(rule.eventPattern !== undefined ? { EventPattern: rule.eventPattern } : {}),
    State: rule.state,
    ...(rule.description !== undefined ? { Description: rule.description } : {}),
    ...(rule.scheduleExpression !== undefined ? { ScheduleExpression: rule.scheduleExpression } : {}),
    ...(rule.roleArn !== undefined ? { RoleArn: rule.roleArn } : {}),
    ...(rule.managedBy !== undefined ? { ManagedBy: rule.managedBy } : {}),
    EventBusName: DEFAULT_BUS,
  };
}

function setState(state: CloudState, body: Record<string, unknown>, value: LocalRule['state']): AwsResponse {
  const rule = ruleByName(state, body);
  // Rules that an AWS service manages can only be changed by that service (ManagedRuleException).
  if (rule.managedBy !== undefined) throw new AwsError('ManagedRuleException', `Rule ${rule.name} is managed by ${rule.managedBy} and cannot be modified.`, 400);
  rule.state = value;
  return jsonResponse(200, {});
}

function listRules(state: CloudState, body: Record<string, unknown>): AwsResponse {
  const prefix = optionalString(body, 'NamePrefix');
  if (prefix !== undefined && (prefix.length < 1 || prefix.length > 64)) throw constraintError('namePrefix', prefix, 'Member must have length between 1 and 64');
  checkBus(state, body);
  const limit = boundedInteger(body, 'Limit', 1, 100, 100);
  const selected = [...state.rules.values()].filter((rule) => prefix === undefined || rule.name.startsWith(prefix));
  const { page, nextToken } = paginate(selected, (rule) => rule.name, limit, optionalString(body, 'NextToken'), 'ValidationException');
  return jsonResponse(200, { Rules: page.map((rule) => ruleSummary(state, rule)), ...(nextToken ? { NextToken: nextToken } : {}) });
}

export const eventBridgeHandler: ServiceHandler = {
  service: 'events',

  actionOf(request: AwsRequest): string {
    return targetAction(request, 'AWSEvents', ACTIONS);
  },

  handle(request: AwsRequest, action: string, state: CloudState): AwsResponse {
    const body = parseJsonBody(request);
    switch (action) {
      case 'DescribeRule': {
        const rule = ruleByName(state, body);
        return jsonResponse(200, { ...ruleSummary(state, rule), CreatedBy: state.accountId });
      }
      case 'EnableRule':
        return setState(state, body, 'ENABLED');
      case 'DisableRule':
        return setState(state, body, 'DISABLED');
      case 'ListRules':
        return listRules(state, body);
      default:
        throw new AwsError('UnknownOperationException', `Unknown operation ${action}`, 400);
    }
  },

  errorResponse(error: AwsError): AwsResponse {
    return jsonRpcErrorResponse(error);
  },
};
