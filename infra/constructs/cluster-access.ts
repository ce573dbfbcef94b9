/**
 * Cluster access: the IAM roles the Lambdas assume for the Kubernetes API, and the EKS access entries that
 * map them to Kubernetes groups. What those groups may do is plain RBAC: `infra/k8s/rbac.yaml` (the readers:
 * get/list/watch on ciliumnodes.cilium.io and get on nodes; the teardown: cordon, drain and delete nodes and their
 * CiliumNodes), applied with kubectl.
 */
import { Duration } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { KUBERNETES_READER_GROUP, KUBERNETES_TEARDOWN_GROUP, type ReaderRoleSelection } from '../context.js';

export interface ClusterAccessProps {
  clusterName: string;
  readerRole: ReaderRoleSelection;
  /** The only principal that may assume the reader role (the reconciler's role). */
  trustedRole: iam.IRole;
  /** The only principal that may assume the teardown role (the teardown task Lambda's role). */
  teardownTrustedRole: iam.IRole;
  createAccessEntry: boolean;
}

export class ClusterAccess extends Construct {
  readonly readerRole: iam.IRole;
  readonly teardownRole: iam.Role;
  readonly accessEntry?: eks.CfnAccessEntry;
  readonly teardownAccessEntry?: eks.CfnAccessEntry;

  constructor(scope: Construct, id: string, props: ClusterAccessProps) {
    super(scope, id);

    if (props.readerRole.kind === 'import') {
      // An existing role: its trust policy is the owner's to set (README: "Bring your own reader role").
      this.readerRole = iam.Role.fromRoleArn(this, 'ReaderRole', props.readerRole.roleArn, { mutable: false });
    } else {
      this.readerRole = new iam.Role(this, 'ReaderRole', {
        ...(props.readerRole.roleName ? { roleName: props.readerRole.roleName } : {}),
        // Trusted by the reconciler's role only. The role has no IAM permissions of its own: it exists to
        // carry a Kubernetes identity (the access entry below), and tokens are presigned GetCallerIdentity calls.
        assumedBy: new iam.ArnPrincipal(props.trustedRole.roleArn),
        description: `eks-hybrid-routes: read CiliumNodes in EKS cluster ${props.clusterName} (Kubernetes group ${KUBERNETES_READER_GROUP})`,
        maxSessionDuration: Duration.hours(1),
      });
    }

    // A separate identity for the teardown: it may cordon, evict and delete, which the reconciler must never
    // be able to do. Like the reader role it has no IAM permissions; it only carries the Kubernetes group.
    this.teardownRole = new iam.Role(this, 'TeardownRole', {
      assumedBy: new iam.ArnPrincipal(props.teardownTrustedRole.roleArn),
      description: `eks-hybrid-routes: carries the Kubernetes group ${KUBERNETES_TEARDOWN_GROUP} (drain and delete hybrid nodes) in EKS cluster ${props.clusterName}; no IAM permissions`,
      maxSessionDuration: Duration.hours(1),
    });

    if (props.createAccessEntry) {
      this.accessEntry = new eks.CfnAccessEntry(this, 'AccessEntry', {
        clusterName: props.clusterName,
        principalArn: this.readerRole.roleArn,
        type: 'STANDARD',
        // No access policy: AmazonEKSViewPolicy does not cover CRDs. RBAC for this group is infra/k8s/rbac.yaml.
        kubernetesGroups: [KUBERNETES_READER_GROUP],
      });
      this.teardownAccessEntry = new eks.CfnAccessEntry(this, 'TeardownAccessEntry', {
        clusterName: props.clusterName,
        principalArn: this.teardownRole.roleArn,
        type: 'STANDARD',
        // No access policy either: AmazonEKSEditPolicy would grant far more than draining nodes. RBAC for
        // this group is the eks-hybrid-routes-teardown ClusterRole in infra/k8s/rbac.yaml.
        kubernetesGroups: [KUBERNETES_TEARDOWN_GROUP],
      });
    }
  }
}
