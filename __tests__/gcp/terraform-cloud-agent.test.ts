import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { tokenFetchScript } from "../../constructs/gcp/terraform-cloud-agent";
import { gcpAgentProblems } from "../support/agents";
import { tempDir } from "../support/outdir";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";
import { gcpProductionSpec, gcpSpec } from "./fixtures";

const terraformCloud = { organization: "acme-data", project: "data-platform" };
const staging = synthInfra({ ...gcpSpec(), terraformCloud });
const prod = synthInfra({ ...gcpProductionSpec(), terraformCloud });
const agentId = (stack: SynthesizedStack, type: string, part: string) =>
  Object.keys(stack.resources(type)).find((id) => new RegExp(`^platform_terraform-cloud-agent_${part}_[A-F0-9]+$`).test(id)) as string;
const agent = (stack: SynthesizedStack, type: string, part: string) => stack.resources(type)[agentId(stack, type, part)];
const userData = (stack: SynthesizedStack) => String((agent(stack, "google_compute_instance_template", "template").metadata as TfBlock)["user-data"]);

function edited(stack: SynthesizedStack, edit: (resource: Record<string, Record<string, TfBlock>>) => void): SynthesizedStack {
  const json = structuredClone(stack.json) as { resource: Record<string, Record<string, TfBlock>> };
  edit(json.resource);
  return new SynthesizedStack(JSON.stringify(json));
}

/** Runs the token script with a `curl` that answers as the metadata server and Secret Manager document. */
function runTokenScript(secretAnswer: string): { status: number | null; env?: string } {
  const dir = tempDir("tfc-agent-token");
  const bin = join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(join(dir, "secret.json"), secretAnswer);
  // The metadata server's token answer and Secret Manager's access answer, as their references show them.
  writeFileSync(
    join(bin, "curl"),
    [
      "#!/bin/bash",
      'url="${@: -1}"',
      'case "$url" in',
      `  http://metadata.google.internal/*) printf '%s' '{"access_token":"ya29.c.example","expires_in":3599,"token_type":"Bearer"}' ;;`,
      `  https://secretmanager.googleapis.com/*) [[ "$*" == *"Authorization: Bearer ya29.c.example"* ]] || exit 22; cat "${dir}/secret.json" ;;`,
      "  *) exit 6 ;;",
      "esac",
    ].join("\n"),
  );
  chmodSync(join(bin, "curl"), 0o755);
  writeFileSync(join(dir, "fetch.sh"), tokenFetchScript("acme-data-test", "test-terraform-cloud-agent-token"));
  const out = join(dir, "run", "env");
  const result = spawnSync("bash", [join(dir, "fetch.sh")], { env: { PATH: `${bin}:${process.env.PATH}`, TOKEN_ENV_FILE: out }, encoding: "utf8" });
  let env: string | undefined;
  try {
    env = readFileSync(out, "utf8");
  } catch {
    env = undefined;
  }
  return { status: result.status, env };
}

describe("Terraform Cloud agents on GCP (in <env>-infra)", () => {
  it("pass every reachability, identity and token rule, in and out of production and in the default GCP environment", () => {
    expect(gcpAgentProblems(staging)).toEqual([]);
    expect(gcpAgentProblems(prod)).toEqual([]);
    const synthesized = new SynthesizedStack(readFileSync(join(__dirname, "..", "..", "synthesized", "stacks", "staging-gcp-infra", "cdk.tf.json"), "utf8"));
    expect(gcpAgentProblems(synthesized)).toEqual([]);
  });

  it("exist only where an apps workspace runs in Terraform Cloud", () => {
    expect(synthInfra(gcpSpec()).all("google_compute_region_instance_group_manager")).toEqual([]);
    expect(synthInfra({ ...gcpSpec(), terraformCloud, apps: [] }).all("google_compute_region_instance_group_manager")).toEqual([]);
  });

  it("run two VMs in production over the environment's zones, one elsewhere, replaced a zone's worth at a time", () => {
    expect(agent(prod, "google_compute_region_instance_group_manager", "group")).toMatchObject({
      target_size: 2,
      distribution_policy_zones: ["europe-west1-b", "europe-west1-c", "europe-west1-d"],
      distribution_policy_target_shape: "EVEN",
      update_policy: { type: "PROACTIVE", max_surge_fixed: 3, max_unavailable_fixed: 0 },
      wait_for_instances: false,
    });
    expect(agent(staging, "google_compute_region_instance_group_manager", "group").target_size).toBe(1);
    const version = (agent(staging, "google_compute_region_instance_group_manager", "group").version as TfBlock[])[0];
    expect(String(version.instance_template)).toMatch(/google_compute_instance_template\.platform_terraform-cloud-agent_template_[A-F0-9]+\.self_link_unique/);
    expect(agent(staging, "google_compute_instance_template", "template")).toMatchObject({
      lifecycle: { create_before_destroy: true },
      shielded_instance_config: { enable_secure_boot: true },
      metadata: { "block-project-ssh-keys": "true" },
    });
  });

  it("boot a cloud-config that writes the token script and a unit running the pinned agent, one job per container", () => {
    const config = parse(userData(staging)) as { write_files: { path: string; content: string }[]; runcmd: string[] };
    expect(userData(staging).startsWith("#cloud-config\n")).toBe(true);
    expect(config.write_files.map((file) => file.path)).toEqual(["/etc/tfc-agent/fetch-token.sh", "/etc/systemd/system/tfc-agent.service"]);
    expect(config.write_files[0].content).toBe(tokenFetchScript("acme-data-test", "test-terraform-cloud-agent-token"));
    const unit = config.write_files[1].content;
    expect(unit).toContain("hashicorp/tfc-agent:1.32.0");
    expect(unit).toContain("-e TFC_AGENT_SINGLE=true -e TFC_AGENT_AUTO_UPDATE=disabled");
    expect(unit).toContain("--env-file /run/tfc-agent/env");
    expect(unit).toMatch(/^Restart=always$/m);
    // systemd expands %-specifiers in unit files; the unit has none.
    expect(unit).not.toContain("%");
    expect(config.runcmd).toEqual(["systemctl daemon-reload", "systemctl start tfc-agent.service"]);
  });

  it("keep the agents' logs in their own bucket for the cluster's log retention", () => {
    expect(agent(staging, "google_logging_project_bucket_config", "log-bucket")).toMatchObject({ retention_days: 30, bucket_id: "test-tfc-agent" });
    expect(agent(prod, "google_logging_project_bucket_config", "log-bucket").retention_days).toBe(90);
    expect(String(agent(staging, "google_logging_project_sink", "log-sink").filter)).toContain('logName="projects/acme-data-test/logs/gcplogs-docker-driver"');
  });

  it("read the token from Secret Manager's documented answer, and fail while the secret has no version", () => {
    const ok = runTokenScript('{\n  "name": "projects/123/secrets/test-terraform-cloud-agent-token/versions/1",\n  "payload": {\n    "data": "YWJjLmF0bGFzdjEuZGVm",\n    "dataCrc32c": "2086375307"\n  }\n}\n');
    expect(ok).toEqual({ status: 0, env: "TFC_AGENT_TOKEN=abc.atlasv1.def\n" });
    const empty = runTokenScript('{\n  "error": {\n    "code": 404,\n    "message": "Secret Version [projects/123/secrets/x/versions/latest] not found or has no versions.",\n    "status": "NOT_FOUND"\n  }\n}\n');
    expect(empty.status).not.toBe(0);
    expect(empty.env).toBeUndefined();
  });

  describe("reject", () => {
    it("a firewall rule that opens ingress to the agents, targeted or for every VM", () => {
      const open = edited(staging, (resource) => {
        resource.google_compute_firewall.ssh = { name: "ssh", network: "x", source_ranges: ["0.0.0.0/0"], allow: [{ protocol: "tcp", ports: ["22"] }] };
      });
      expect(gcpAgentProblems(open)).toEqual(["firewall rule ssh admits ingress to the agent VMs: agents only poll outwards"]);
    });

    it("egress beyond TCP 443, or no deny-all egress under the allow rule", () => {
      const https = agentId(staging, "google_compute_firewall", "https-out");
      const wide = edited(staging, (resource) => {
        resource.google_compute_firewall[https].allow = [{ protocol: "all" }];
      });
      expect(gcpAgentProblems(wide)).toEqual([expect.stringContaining("only TCP 443 is needed")]);
      const deny = agentId(staging, "google_compute_firewall", "deny-out");
      expect(gcpAgentProblems(edited(staging, (resource) => delete resource.google_compute_firewall[deny]))).toEqual([expect.stringContaining("no deny-all egress rule")]);
      const implied = edited(staging, (resource) => {
        resource.google_compute_firewall[deny].priority = 65535;
      });
      expect(gcpAgentProblems(implied)).toEqual([expect.stringContaining("no deny-all egress rule")]);
    });

    it("agent VMs with an external address or outside the cluster's subnet", () => {
      const template = agentId(staging, "google_compute_instance_template", "template");
      const external = edited(staging, (resource) => {
        (resource.google_compute_instance_template[template].network_interface as TfBlock[])[0].access_config = [{}];
      });
      expect(gcpAgentProblems(external)).toEqual([expect.stringContaining("external address")]);
      const elsewhere = edited(staging, (resource) => {
        (resource.google_compute_instance_template[template].network_interface as TfBlock[])[0].subnetwork = "projects/acme-data-test/regions/europe-west1/subnetworks/other";
      });
      expect(gcpAgentProblems(elsewhere)).toEqual([expect.stringContaining("not the GKE cluster's subnet")]);
    });

    it("the token in plain JSON: a secret version or the VM metadata", () => {
      const secret = agentId(staging, "google_secret_manager_secret", "token");
      const versioned = edited(staging, (resource) => {
        resource.google_secret_manager_secret_version = { token: { secret: `\${google_secret_manager_secret.${secret}.id}`, secret_data: "abc.atlasv1.def" } };
      });
      expect(gcpAgentProblems(versioned)).toEqual([expect.stringContaining("has a version in the stack"), expect.stringContaining("atlasv1")]);
      const template = agentId(staging, "google_compute_instance_template", "template");
      const inMetadata = edited(staging, (resource) => {
        const metadata = resource.google_compute_instance_template[template].metadata as Record<string, string>;
        metadata["user-data"] = metadata["user-data"].replace("--env-file /run/tfc-agent/env", "-e TFC_AGENT_TOKEN=${var.token}");
      });
      expect(gcpAgentProblems(inMetadata)).toEqual(["TFC_AGENT_TOKEN is written into the VM metadata"]);
    });

    it("what the google provider and the Compute API refuse: a surge below the zone count, an unknown action, a long name prefix", () => {
      const group = agentId(prod, "google_compute_region_instance_group_manager", "group");
      const template = agentId(prod, "google_compute_instance_template", "template");
      const refused = edited(prod, (resource) => {
        Object.assign(resource.google_compute_region_instance_group_manager[group].update_policy as TfBlock, { max_surge_fixed: 1, minimal_action: "RECREATE" });
        resource.google_compute_instance_template[template].name_prefix = `${"x".repeat(55)}-`;
      });
      expect(gcpAgentProblems(refused)).toEqual([
        "update_policy.minimal_action RECREATE: NONE, REFRESH, RESTART or REPLACE",
        "update_policy.max_surge_fixed 1: 0 or at least the group's 3 zones",
        `name_prefix ${"x".repeat(55)}-: at most 54 characters`,
      ]);
      const frozen = edited(prod, (resource) => {
        Object.assign(resource.google_compute_region_instance_group_manager[group].update_policy as TfBlock, { max_surge_fixed: 0 });
      });
      expect(gcpAgentProblems(frozen)).toEqual([expect.stringContaining("both 0")]);
    });

    it("a VM service account with more than its token and its logs", () => {
      const account = agentId(staging, "google_service_account", "service-account");
      const powerful = edited(staging, (resource) => {
        resource.google_project_iam_member.extra = { project: "acme-data-test", role: "roles/editor", member: `\${google_service_account.${account}.member}` };
      });
      expect(gcpAgentProblems(powerful)).toEqual([expect.stringContaining("holds roles/editor on the project")]);
    });
  });
});
