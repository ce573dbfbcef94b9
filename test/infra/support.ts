/**
 * Builds the stack the way `infra/app.ts` does, with the context of `cdk.json` (example values and feature
 * flags) plus overrides, but without bundling the Lambda: `aws:cdk:bundling-stacks: []` is the CDK's own
 * switch for that (what `cdk synth --exclusively` uses for stacks it skips), so the template is the real one
 * apart from the asset hash. test/infra/bundle.test.ts bundles the function with the same options instead.
 */
import { buildUnbundledApp, cdkJsonContext, readCdkJson } from '../../infra/build-app.js';

export { ROOT } from '../../infra/build-app.js';

export const CDK_JSON = readCdkJson();

/** cdk.json's context with overrides; an override of `undefined` removes the key. */
export function exampleContext(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return cdkJsonContext(overrides);
}

/** The app and stack as `infra/app.ts` builds them (the same code), without bundling. */
export function buildStack(overrides: Record<string, unknown> = {}, options: { outdir?: string } = {}) {
  return buildUnbundledApp(overrides, options.outdir ? { outdir: options.outdir } : {});
}

type Json = unknown;

/**
 * Renders CloudFormation intrinsics as readable text: `{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}]]}`
 * becomes `arn:${AWS::Partition}`, `{"Fn::GetAtt": ["X", "Arn"]}` becomes `${X.Arn}`.
 */
export function flatten(value: Json): Json {
  if (Array.isArray(value)) return value.map(flatten);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, Json>;
    if ('Ref' in record && Object.keys(record).length === 1) return `\${${String(record.Ref)}}`;
    if ('Fn::GetAtt' in record && Object.keys(record).length === 1) return `\${${(record['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::Join' in record && Object.keys(record).length === 1) {
      const [separator, parts] = record['Fn::Join'] as [string, Json[]];
      return parts.map((part) => String(flatten(part))).join(separator);
    }
    return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, flatten(inner)]));
  }
  return value;
}

export interface FoundStatement {
  resource: string;
  statement: { Sid?: string; Effect: string; Action: string | string[]; Resource?: Json; Principal?: Json; Condition?: Record<string, Record<string, Json>> };
}

/** Every identity-policy statement in the template (managed/inline policies and role inline policies), flattened. */
export function identityStatements(template: { Resources: Record<string, { Type: string; Properties?: Record<string, Json> }> }): FoundStatement[] {
  const found: FoundStatement[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const documents: Json[] = [];
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') documents.push(resource.Properties?.PolicyDocument);
    if (resource.Type === 'AWS::IAM::Role') for (const policy of (resource.Properties?.Policies as { PolicyDocument: Json }[] | undefined) ?? []) documents.push(policy.PolicyDocument);
    for (const document of documents) {
      for (const statement of (document as { Statement: FoundStatement['statement'][] }).Statement) {
        found.push({ resource: logicalId, statement: flatten(statement) as FoundStatement['statement'] });
      }
    }
  }
  return found;
}

export const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
