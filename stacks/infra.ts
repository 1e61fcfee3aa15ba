import type { Construct } from "constructs";
import { TerraformOutput, TerraformStack } from "cdktn";
import { configureTerraform, foreignCloudOf, stackKindsOf, stackName, type ForeignInfraKind, type StackKind } from "./backend";
import { appsWithBucketsOn, databaseNetworkClouds, otherClouds, placedOn, specSecretNamesFor, type Cloud, type Environment } from "../constructs/core/spec";
import { admitsClusterEgress, clusterIssuerOf, clusterIssuerPatternOf, platformFor, publishesClusterEgress, vpnClientsOf } from "../constructs/platform";
import { clusterEgressCrossing, clusterIssuerCrossing, vpnGatewayAddressesCrossing, vpnPresharedKeysCrossing, vpnTunnelAddressesCrossing } from "../constructs/core/crossings";
import { publish, receiverOf } from "./crossings";
import type { CloudPlatform, IBucket, IDatabase, INetwork } from "../constructs/core/interfaces";

/**
 * The cluster's stack (kind `infra`: `<env>-infra`, or `<env>-infra-<cloud>` once the cluster left
 * its home, `stackName`): network, cluster, buckets, databases and app identities of one
 * environment on the cluster's cloud, on that cloud's provider alone (so the AWS stacks are fully
 * checkable offline).
 */
/** Output of `<env>-infra` the gitops stack reads to configure the environment's workspaces. */
export const TERRAFORM_CLOUD_VARIABLES_OUTPUT = "terraform_cloud_variables";
/** Output of `<env>-infra`: where the bootstrap puts the token of the `<env>-apps` agent pool. */
export const TERRAFORM_CLOUD_AGENT_TOKEN_OUTPUT = "terraform_cloud_agent_token_secret";

export class InfraStack extends TerraformStack {
  constructor(scope: Construct, readonly env: Environment) {
    super(scope, stackName(env, "infra"));
    configureTerraform(this, env, "infra");

    const platform = platformFor(this, env);
    const network = platform.network({ fixedEgress: publishesClusterEgress(env) });
    const cluster = platform.cluster(network);
    const buckets = bucketsOn(this, platform, env, env.cloud);
    const databases = env.databases.filter((spec) => placedOn(env, spec) === env.cloud).map((spec) => platform.database(spec, network, cluster));
    const vpnGatewayAddresses = databaseNetworkClouds(env).map((cloud) => [vpnGatewayAddressesCrossing(cloud).name, vpnGatewayTo(this, platform, network, cloud).publicAddresses]);

    platform.auditTrail?.([...buckets.values()]);

    for (const app of env.apps) {
      const identity = platform.workloadIdentity(app.name, cluster);
      const bucket = app.bucket === undefined ? undefined : buckets.get(app.bucket);
      bucket?.grantReadWrite(identity);
    }
    if (env.apps.length > 0) {
      // External Secrets reads each database's admin credential for the bootstrap jobs, nothing else.
      const externalSecrets = platform.workloadIdentity("external-secrets", cluster);
      for (const database of databases) database.grantAdminSecretRead(externalSecrets);
    }
    // Each namespace's SecretStore for the secrets the spec names reads them through an identity
    // of its own, and nothing else (the spec checks keep each secret to one reader): monitoring
    // (alert channels, metrics links), sso (the client secret), and Airflow's DAG repository
    // credential (Airflow's own identity is shared with task pods, which run user code).
    for (const reader of ["monitoring-secrets", "sso-secrets", "dags-secrets"] as const) {
      const names = specSecretNamesFor(env, reader);
      if (names.length > 0) platform.grantUserSecretsRead(platform.workloadIdentity(reader, cluster), names);
    }
    if (env.dns?.zone !== undefined) {
      const zone = platform.dnsZone(env.dns.zone);
      zone.grantRecordsWrite(platform.workloadIdentity("external-dns", cluster));
      new TerraformOutput(this, "dns_name_servers", { value: zone.nameServers, description: `Delegate ${zone.zoneName} to these name servers` });
    }

    if (env.terraformCloud !== undefined) {
      // `<env>-apps` reaches the private cluster API, so its runs need agents inside the network.
      if (stackKindsOf(env).includes("apps") && platform.terraformCloudAgent) {
        const agent = platform.terraformCloudAgent(
          { organization: env.terraformCloud.organization, pool: stackName(env, "apps"), agents: env.terraformCloud.agents },
          network,
          cluster,
        );
        new TerraformOutput(this, TERRAFORM_CLOUD_AGENT_TOKEN_OUTPUT, {
          value: agent.tokenSecretRef,
          description: "Secret the bootstrap puts the agent pool's token in (created without a value)",
        });
      }
      // Last (see trustTerraformCloud); for the workspaces on this cloud, not an <env>-infra-<cloud>'s.
      trustTerraformCloud(this, platform, env, stackKindsOf(env).filter((kind) => foreignCloudOf(kind) === undefined));
    }

    new TerraformOutput(this, "cluster_name", { value: cluster.clusterName, description: "Name of the environment's Kubernetes cluster" });
    // The names are the crossings' own, whichever cloud receives them.
    publish(this, env, "infra", {
      [clusterIssuerCrossing(env.cloud).name]: cluster.serviceAccountIssuer,
      [clusterEgressCrossing(env.cloud).name]: network.egressAddresses,
      ...Object.fromEntries(vpnGatewayAddresses),
    });
    databaseOutputs(this, databases);
  }
}

/** The cluster network's side of the VPN to the network holding the databases on `cloud` (constructs/core/vpn.ts). */
function vpnGatewayTo(stack: InfraStack, platform: CloudPlatform, network: INetwork, cloud: Cloud) {
  const { env } = stack;
  const cidr = env.networks?.[cloud]?.cidr;
  if (platform.vpnGateway === undefined || cidr === undefined) throw new Error(`${env.name}: a VPN from ${env.cloud} to ${cloud} is not built (the spec check should have caught this)`);
  const { receiveList } = receiverOf(stack, env, "infra");
  return platform.vpnGateway(network, { cloud, cidr, tunnelAddresses: receiveList(vpnTunnelAddressesCrossing(cloud)), presharedKeys: receiveList(vpnPresharedKeysCrossing(cloud)) });
}

/** Each database's host and the place of its admin credential, as outputs of `stack`. */
function databaseOutputs(stack: TerraformStack, databases: readonly IDatabase[]): void {
  for (const database of databases) {
    new TerraformOutput(stack, `database_${database.spec.name}_host`, { value: database.host, description: `Private host name of the ${database.spec.name} database` });
    new TerraformOutput(stack, `database_${database.spec.name}_admin_secret`, {
      value: database.adminSecretRef,
      description: `Where the generated admin credential of ${database.spec.name} is kept`,
    });
  }
}

/**
 * A stack of another cloud than the cluster's (kind `infra-<cloud>`: `<env>-infra-<cloud>`, or
 * `<env>-infra` on the home a cluster moved away from): the environment's buckets there, on that
 * cloud's provider alone, and per app that uses one an identity trusting the cluster's
 * service-account issuer for the app's exact accounts, granted that bucket only; its databases
 * with their network and its side of the VPN (docs/design/cross-cloud.md). The same construct ids
 * as the cluster's stack on that cloud, so a resource stays when the cluster moves.
 */
export class ForeignInfraStack extends TerraformStack {
  readonly foreignCloud: Cloud;

  constructor(scope: Construct, readonly env: Environment, kind: ForeignInfraKind) {
    super(scope, stackName(env, kind));
    const cloud = foreignCloudOf(kind);
    if (cloud === undefined) throw new Error(`${kind} is not the kind of a stack on another cloud`);
    this.foreignCloud = cloud;
    configureTerraform(this, env, kind);
    const platform = platformFor(this, env, cloud);
    const federated = platform.federatedWorkloadIdentity?.bind(platform);
    if (federated === undefined) throw new Error(`${env.name}: federated identity on ${cloud} is not built (the spec check should have caught this)`);
    const { receive, receiveList } = receiverOf(this, env, kind);
    // A cloud whose storage has a firewall admits the cluster's NAT, for the apps that use a bucket
    // there; none when no app does (the receiver refuses a crossing crossingsOf does not list).
    const hasBuckets = env.buckets.some((spec) => placedOn(env, spec) === cloud);
    if (hasBuckets && platform.admitClusterEgress !== undefined) platform.admitClusterEgress(admitsClusterEgress(env, cloud) ? receiveList(clusterEgressCrossing(cloud)) : []);
    const buckets = bucketsOn(this, platform, env, cloud);
    // The object reads and writes of these buckets are recorded on their cloud, as at home; a home
    // the cluster left with nothing on it any more (stackKindsOf) keeps nothing, the trail neither.
    if (otherClouds(env).includes(cloud)) platform.auditTrail?.([...buckets.values()]);
    const generated: Record<string, string | readonly string[]> = {};
    for (const { app, bucket } of appsWithBucketsOn(env, cloud)) {
      const identity = federated(app.name, clusterIssuerOf(env, cloud, receive));
      buckets.get(bucket.name)?.grantReadWrite(identity);
      Object.assign(generated, identity.crossingValues);
    }
    if (databaseNetworkClouds(env).includes(cloud)) {
      if (platform.databaseNetwork === undefined || platform.remoteDatabase === undefined) throw new Error(`${env.name}: databases on ${cloud} for a cluster on another cloud are not built (the spec check should have caught this)`);
      // On the home a cluster moved away from, the network it had, with its databases in it (stage 2 of a move).
      const network = platform.databaseNetwork({ gatewayAddresses: receiveList(vpnGatewayAddressesCrossing(cloud)), clientCidrs: vpnClientsOf(env) });
      const remote = platform.remoteDatabase.bind(platform);
      const databases = env.databases.filter((spec) => placedOn(env, spec) === cloud).map((spec) => remote(spec, network));
      // Their outputs are the crossings of host and admin secret into <env>-apps (the same names).
      databaseOutputs(this, databases);
      if (env.apps.length > 0) {
        // External Secrets reads each database's admin credential for the bootstrap jobs, nothing else, as at home.
        const externalSecrets = federated("external-secrets", clusterIssuerOf(env, cloud, receive));
        for (const database of databases) database.grantAdminSecretRead(externalSecrets);
      }
      generated[vpnTunnelAddressesCrossing(cloud).name] = network.tunnelAddresses;
      generated[vpnPresharedKeysCrossing(cloud).name] = network.presharedKeys;
    }
    publish(this, env, kind, generated);
    // This workspace's own dynamic credentials, on its cloud: that cloud trusts it alone.
    if (env.terraformCloud !== undefined) trustTerraformCloud(this, platform, env, [kind], clusterIssuerPatternOf(env));
  }
}

/**
 * The Terraform Cloud trust on `platform`'s cloud for the workspaces of `kinds`, and its variables
 * as an output, read by the gitops workspace (the only consumer the workspace shares its state
 * with), which writes them into those workspaces. Last in a stack: the trust names the
 * identities the stack creates (the roles the run role may manage on AWS, the service accounts
 * the run account manages on GCP).
 */
function trustTerraformCloud(stack: TerraformStack, platform: CloudPlatform, env: Environment, kinds: readonly StackKind[], foreignClusterIssuer?: string): void {
  if (env.terraformCloud === undefined) return;
  const trust = platform.terraformCloudTrust({ ...env.terraformCloud, workspaces: kinds.map((kind) => stackName(env, kind)), foreignClusterIssuer });
  new TerraformOutput(stack, TERRAFORM_CLOUD_VARIABLES_OUTPUT, {
    value: trust.workspaceVariables,
    description: "Environment variables that give this environment's Terraform Cloud runs dynamic credentials",
  });
}

/** The environment's buckets that live on `cloud`, built by its platform there, each with its URL as an output of `stack`. */
function bucketsOn(stack: TerraformStack, platform: CloudPlatform, env: Environment, cloud: Cloud): Map<string, IBucket> {
  const buckets = new Map(env.buckets.filter((spec) => placedOn(env, spec) === cloud).map((spec) => [spec.name, platform.bucket(spec)]));
  for (const [name, bucket] of buckets) new TerraformOutput(stack, `bucket_${name}_url`, { value: bucket.url, description: `URL of the ${name} bucket` });
  return buckets;
}
