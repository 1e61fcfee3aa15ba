import { Construct } from "constructs";
import { ComputeFirewall } from "@cdktf/provider-google/lib/compute-firewall";
import { ComputeInstanceTemplate } from "@cdktf/provider-google/lib/compute-instance-template";
import { ComputeRegionInstanceGroupManager } from "@cdktf/provider-google/lib/compute-region-instance-group-manager";
import { LoggingProjectBucketConfig } from "@cdktf/provider-google/lib/logging-project-bucket-config";
import { LoggingProjectSink } from "@cdktf/provider-google/lib/logging-project-sink";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { SecretManagerSecret } from "@cdktf/provider-google/lib/secret-manager-secret";
import { SecretManagerSecretIamMember } from "@cdktf/provider-google/lib/secret-manager-secret-iam-member";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import type { ITerraformCloudAgent, TerraformCloudAgentTarget } from "../core/interfaces";
import type { GcpContext } from "./context";
import type { GcpNetwork } from "./network";


/** The agents write their logs to Cloud Logging: their one project role. */
export const AGENT_LOG_ROLE = "roles/logging.logWriter";

/** The same pinned agent as on AWS (see constructs/aws/terraform-cloud-agent.ts for the version's source). */
export const TFC_AGENT_IMAGE = "hashicorp/tfc-agent:1.32.0";

/** Where the token is written for `docker run --env-file`: tmpfs, root only, removed after every job. */
const TOKEN_ENV_FILE = "/run/tfc-agent/env";

/**
 * Reads the agent token from Secret Manager with the VM's own service account and writes it as
 * `TFC_AGENT_TOKEN=<token>` to `$TOKEN_ENV_FILE`. Container-Optimized OS has curl, grep, cut and
 * base64 but no gcloud or jq, so the two JSON answers are read with grep: the metadata server's
 * token (`{"access_token":"…",…}`) and Secret Manager's `versions/latest:access` answer, whose
 * `payload.data` is standard base64. Fails (and the unit retries) while the secret has no version.
 * `__tests__/gcp/terraform-cloud-agent.test.ts` runs it against those documented answers.
 */
export function tokenFetchScript(projectId: string, secretId: string): string {
  return [
    "#!/bin/bash",
    "set -euo pipefail",
    // No "\${": Terraform would read it as a template in the JSON (the stacks test checks).
    `out=$(printenv TOKEN_ENV_FILE || echo ${TOKEN_ENV_FILE})`,
    `metadata="http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"`,
    `secret="https://secretmanager.googleapis.com/v1/projects/${projectId}/secrets/${secretId}/versions/latest:access"`,
    `access_token=$(curl -sSf -H 'Metadata-Flavor: Google' "$metadata" | grep -o '"access_token" *: *"[^"]*"' | cut -d'"' -f4)`,
    `data=$(curl -sSf -H "Authorization: Bearer $access_token" "$secret" | grep -o '"data" *: *"[A-Za-z0-9+/=]*"' | cut -d'"' -f4)`,
    `token=$(printf '%s' "$data" | base64 -d)`,
    `test -n "$token"`,
    `install -d -m 0700 "$(dirname "$out")"`,
    "umask 077",
    `printf 'TFC_AGENT_TOKEN=%s\\n' "$token" > "$out"`,
    "",
  ].join("\n");
}

/** Indents every line of a block for a YAML literal. */
const indent = (text: string, spaces: number) =>
  text
    .split("\n")
    .map((line) => (line === "" ? line : " ".repeat(spaces) + line))
    .join("\n");

/**
 * Cloud-init for Container-Optimized OS (Google's "Using cloud-init with the cloud config format"
 * for COS): a script and a systemd unit that runs the agent container, one job per container
 * (`TFC_AGENT_SINGLE`), restarted by systemd after every job with a fresh token file. Logs go to
 * Cloud Logging through Docker's gcplogs driver.
 */
function cloudConfig(agentName: string, script: string): string {
  const unit = [
    "[Unit]",
    `Description=Terraform Cloud agent ${agentName} (one job per container)`,
    "Wants=network-online.target",
    "After=network-online.target docker.service",
    "Requires=docker.service",
    "StartLimitIntervalSec=0",
    "",
    "[Service]",
    "ExecStartPre=/bin/bash /etc/tfc-agent/fetch-token.sh",
    "ExecStartPre=-/usr/bin/docker rm -f tfc-agent",
    [
      // Host networking: Docker's default bridge (172.17.0.0/16) could overlap the network's own ranges.
      "ExecStart=/usr/bin/docker run --rm --name tfc-agent --network host --log-driver=gcplogs",
      `--env-file ${TOKEN_ENV_FILE}`,
      "-e TFC_ADDRESS=https://app.terraform.io",
      `-e TFC_AGENT_NAME=${agentName}`,
      "-e TFC_AGENT_SINGLE=true",
      "-e TFC_AGENT_AUTO_UPDATE=disabled",
      "-e TFC_AGENT_LOG_JSON=true",
      TFC_AGENT_IMAGE,
    ].join(" "),
    // SIGTERM lets the agent finish its job; GCE stops a VM after about 90 s, so long applies can
    // still be cut off by a VM replacement (roll templates while no run is in progress).
    "ExecStop=/usr/bin/docker stop --time 600 tfc-agent",
    `ExecStopPost=/bin/rm -f ${TOKEN_ENV_FILE}`,
    "TimeoutStopSec=660",
    "Restart=always",
    "RestartSec=10",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
  return [
    "#cloud-config",
    "write_files:",
    "  - path: /etc/tfc-agent/fetch-token.sh",
    '    permissions: "0700"',
    "    owner: root",
    "    content: |",
    indent(script, 6),
    "  - path: /etc/systemd/system/tfc-agent.service",
    '    permissions: "0644"',
    "    owner: root",
    "    content: |",
    indent(unit, 6),
    "runcmd:",
    "  - systemctl daemon-reload",
    "  - systemctl start tfc-agent.service",
    "",
  ].join("\n");
}

export interface GcpTerraformCloudAgentProps {
  readonly ctx: GcpContext;
  readonly target: TerraformCloudAgentTarget;
  readonly network: GcpNetwork;
}

/**
 * Terraform Cloud agents for the `<env>-apps` workspace on GCP: a regional managed instance group
 * of Container-Optimized OS VMs, each running the pinned agent container under systemd.
 * - In the GKE node subnet, without external addresses (egress through Cloud NAT): GKE always lets
 *   the cluster subnet's primary range reach the private control-plane endpoint, so no authorized
 *   network has to be added.
 * - Firewall, by the agents' service account: egress TCP 443 only (a deny-all egress rule under
 *   it); no ingress rule (the VPC's implied rule denies ingress). The metadata server, which
 *   serves the VM's token and DNS, is always reachable whatever the firewall says.
 * - The token: a Secret Manager secret the stack creates without a version; the bootstrap adds it.
 *   The VMs' own service account may read that secret and write logs, nothing else; runs use the
 *   workspace's dynamic credentials (the agent's workload identity federation token exchange).
 * - `terraformCloud.agents` VMs spread evenly over the environment's zones; a template change
 *   replaces them one surge at a time.
 * - Agent logs (Docker's gcplogs driver) are kept `cluster.logRetentionDays` in their own bucket.
 * - Unlike ECS on AWS, no platform component injects the secret into the container, so the VM's
 *   service account (secret read, log write) is reachable by runs through the metadata server.
 */
export class GcpTerraformCloudAgent extends Construct implements ITerraformCloudAgent {
  readonly serviceAccount: ServiceAccount;
  readonly tokenSecret: SecretManagerSecret;
  readonly tokenSecretRef: string;

  constructor(scope: Construct, id: string, props: GcpTerraformCloudAgentProps) {
    super(scope, id);
    const { ctx, target, network } = props;
    const name = ctx.name("tfc-agent");

    this.serviceAccount = new ServiceAccount(this, "service-account", {
      accountId: ctx.serviceAccountId("tfc-agent"),
      displayName: `${ctx.env.name} Terraform Cloud agents`,
      description: `${ctx.env.name}: VMs of the ${target.pool} agents: read their token, write their logs`,
      dependsOn: ctx.apis.needed("iam"),
    });

    this.tokenSecret = new SecretManagerSecret(this, "token", {
      secretId: ctx.name("terraform-cloud-agent-token"),
      replication: { userManaged: { replicas: [{ location: ctx.region }] } },
      dependsOn: ctx.apis.needed("secretManager"),
    });
    this.tokenSecretRef = this.tokenSecret.name;
    new SecretManagerSecretIamMember(this, "token-read", {
      secretId: this.tokenSecret.id,
      role: "roles/secretmanager.secretAccessor",
      member: this.serviceAccount.member,
    });
    new ProjectIamMember(this, "log-writer", {
      project: ctx.projectId,
      role: AGENT_LOG_ROLE,
      member: this.serviceAccount.member,
      dependsOn: ctx.apis.needed("resourceManager"),
    });

    const logBucket = new LoggingProjectBucketConfig(this, "log-bucket", {
      project: ctx.projectId,
      location: ctx.region,
      bucketId: name,
      description: `${ctx.env.name}: logs of the ${target.pool} Terraform Cloud agents`,
      retentionDays: ctx.env.cluster.logRetentionDays,
      dependsOn: ctx.apis.needed("logging"),
    });
    new LoggingProjectSink(this, "log-sink", {
      project: ctx.projectId,
      name,
      description: `${ctx.env.name}: keeps the agents' logs for cluster.logRetentionDays`,
      destination: `logging.googleapis.com/${logBucket.id}`,
      // Docker's gcplogs driver writes this log; only the agent VMs run Docker in the project.
      filter: `resource.type="gce_instance" AND logName="projects/${ctx.projectId}/logs/gcplogs-docker-driver"`,
      uniqueWriterIdentity: true,
    });

    const agents = [this.serviceAccount.email];
    new ComputeFirewall(this, "https-out", {
      name: ctx.name("tfc-agent-https-out"),
      description: `${ctx.env.name}: the ${target.pool} agents send HTTPS (Terraform Cloud, registries, Google APIs, the GKE API) and nothing else`,
      network: network.network.id,
      direction: "EGRESS",
      priority: 1000,
      targetServiceAccounts: agents,
      destinationRanges: ["0.0.0.0/0"],
      allow: [{ protocol: "tcp", ports: ["443"] }],
    });
    new ComputeFirewall(this, "deny-out", {
      name: ctx.name("tfc-agent-deny-out"),
      description: `${ctx.env.name}: every other egress of the ${target.pool} agents`,
      network: network.network.id,
      direction: "EGRESS",
      priority: 65000,
      targetServiceAccounts: agents,
      destinationRanges: ["0.0.0.0/0"],
      deny: [{ protocol: "all" }],
    });

    const template = new ComputeInstanceTemplate(this, "template", {
      namePrefix: `${name}-`,
      description: `${ctx.env.name}: Terraform Cloud agent for ${target.pool} (${TFC_AGENT_IMAGE})`,
      region: ctx.region,
      // 2 vCPUs (shared) and 4 GiB: HashiCorp asks for at least 2 GB per agent.
      machineType: "e2-medium",
      disk: [{ sourceImage: "projects/cos-cloud/global/images/family/cos-stable", boot: true, autoDelete: true, diskType: "pd-balanced", diskSizeGb: 20 }],
      // No access_config: no external address.
      networkInterface: [{ subnetwork: network.subnetwork.id }],
      serviceAccount: { email: this.serviceAccount.email, scopes: ["cloud-platform"] },
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      metadata: {
        "user-data": cloudConfig(name, tokenFetchScript(ctx.projectId, ctx.name("terraform-cloud-agent-token"))),
        "block-project-ssh-keys": "true",
        "enable-oslogin": "TRUE",
      },
      // Templates are immutable: the new one exists before the group moves to it.
      lifecycle: { createBeforeDestroy: true },
      dependsOn: ctx.apis.needed("compute"),
    });

    new ComputeRegionInstanceGroupManager(this, "group", {
      name,
      baseInstanceName: name,
      region: ctx.region,
      version: [{ name: "agent", instanceTemplate: template.selfLinkUnique }],
      targetSize: target.agents,
      distributionPolicyZones: [...ctx.zones],
      distributionPolicyTargetShape: "EVEN",
      // The API's default surge for a regional group: one per zone; no VM stops before its successor runs.
      updatePolicy: { type: "PROACTIVE", minimalAction: "REPLACE", maxSurgeFixed: ctx.zones.length, maxUnavailableFixed: 0 },
      // Until the bootstrap puts the token in the secret the agents retry; never wait for them.
      waitForInstances: false,
    });
  }
}
