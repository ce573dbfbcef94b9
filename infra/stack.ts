/**
 * The one stack: route sync (the reconciler, its triggers, queue and alarms), the teardown workflow (a state
 * machine and its task Lambda), cluster access (reader and teardown roles and their EKS access entries) and,
 * when asked for, the static aggregate routes. Every parameter comes from the
 * validated context (infra/context.ts); nothing is looked up in an account, so `cdk synth` works offline.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { ClusterAccess } from './constructs/cluster-access.js';
import { RouteSync } from './constructs/route-sync.js';
import { StaticRoutes } from './constructs/static-routes.js';
import { Teardown } from './constructs/teardown.js';
import { KUBERNETES_READER_GROUP, KUBERNETES_TEARDOWN_GROUP, type StackConfig } from './context.js';

export const STACK_NAME = 'EksHybridRoutesStack';

export interface EksHybridRoutesStackProps extends StackProps {
  config: StackConfig;
}

export class EksHybridRoutesStack extends Stack {
  readonly routeSync: RouteSync;
  readonly teardown: Teardown;
  readonly clusterAccess: ClusterAccess;
  readonly alarmTopic?: sns.Topic;
  readonly staticRoutes?: StaticRoutes;

  constructor(scope: Construct, id: string, props: EksHybridRoutesStackProps) {
    // The construct id fixes the template file name (cdk.out/EksHybridRoutesStack.template.json, which
    // samconfig.toml names); the `stackName` context only changes the CloudFormation stack's name.
    super(scope, id, {
      description: `eks-hybrid-routes: self-healing pod-CIDR routes for the EKS hybrid nodes of ${props.config.clusterName}`,
      ...(props.config.stackName ? { stackName: props.config.stackName } : {}),
      ...props,
    });
    const { config } = props;

    const topics: sns.ITopic[] = [];
    if (config.alarmTopicArn) topics.push(sns.Topic.fromTopicArn(this, 'ExistingAlarmTopic', config.alarmTopicArn));
    if (config.alarmEmail) {
      // SNS's default encryption at rest; a KMS key would need a key policy for CloudWatch and carries nothing
      // sensitive here (alarm name, state, reason). cdk-nag's AwsSolutions pack no longer asks for one (SNS2).
      this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: `eks-hybrid-routes alarms (${config.clusterName})`, enforceSSL: true });
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
      topics.push(this.alarmTopic);
    }

    this.routeSync = new RouteSync(this, 'RouteSync', { config, alarmTopics: topics });
    this.teardown = new Teardown(this, 'Teardown', { config, rules: this.routeSync.rules, ruleNames: this.routeSync.ruleNames, alarmTopics: topics });
    this.clusterAccess = new ClusterAccess(this, 'ClusterAccess', {
      clusterName: config.clusterName,
      readerRole: config.readerRole,
      trustedRole: this.routeSync.role,
      teardownTrustedRole: this.teardown.role,
      createAccessEntry: config.createAccessEntry,
    });
    this.routeSync.useReaderRole(this.clusterAccess.readerRole);
    this.teardown.useKubernetesRole(this.clusterAccess.teardownRole);

    if (config.staticRoutes) this.staticRoutes = new StaticRoutes(this, 'StaticRoutes', config.staticRoutes);

    new CfnOutput(this, 'ReconcileFunctionName', { value: this.routeSync.function.functionName, description: 'The reconcile Lambda' });
    new CfnOutput(this, 'ReconcileLogGroupName', { value: this.routeSync.logGroup.logGroupName, description: 'Its log group (Logs Insights)' });
    new CfnOutput(this, 'ReaderRoleArn', { value: this.clusterAccess.readerRole.roleArn, description: 'IAM role mapped to the Kubernetes group below' });
    new CfnOutput(this, 'KubernetesGroup', { value: KUBERNETES_READER_GROUP, description: 'Bind it with infra/k8s/rbac.yaml' });
    new CfnOutput(this, 'TriggerQueueName', { value: this.routeSync.queue.queueName, description: 'FIFO queue of trigger events' });
    new CfnOutput(this, 'TeardownStateMachineArn', { value: this.teardown.stateMachine.stateMachineArn, description: 'Teardown workflow (npm run -s cli -- teardown)' });
    new CfnOutput(this, 'TeardownFunctionName', { value: this.teardown.function.functionName, description: 'The teardown task Lambda' });
    new CfnOutput(this, 'TeardownLogGroupName', { value: this.teardown.logGroup.logGroupName, description: 'The teardown task log group (Logs Insights)' });
    new CfnOutput(this, 'TeardownExecutionLogGroupName', { value: this.teardown.executionLogGroup.logGroupName, description: 'Teardown executions (state machine log)' });
    new CfnOutput(this, 'TeardownRoleArn', { value: this.clusterAccess.teardownRole.roleArn, description: 'IAM role mapped to the Kubernetes teardown group below' });
    new CfnOutput(this, 'KubernetesTeardownGroup', { value: KUBERNETES_TEARDOWN_GROUP, description: 'Bind it with infra/k8s/rbac.yaml' });
    new CfnOutput(this, 'DeadLetterQueueName', { value: this.routeSync.deadLetterQueue.queueName, description: 'Trigger events that failed three runs' });
    if (this.alarmTopic) new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn, description: 'Alarm notifications' });
  }
}
