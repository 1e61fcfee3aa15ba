import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { agentEntrypoint, KUBELOGIN, PENDING_AGENT_TOKEN } from "../../constructs/azure/terraform-cloud-agent";
import { SpecError } from "../../constructs/core/errors";
import { parseEnvironments } from "../../constructs/core/spec";
import { environments } from "../../environments";
import { TERRAFORM_CLOUD_AGENT_TOKEN_OUTPUT } from "../../stacks/infra";
import { azureAgentProblems } from "../support/agents";
import { tempDir } from "../support/outdir";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";
import { terraformUnavailable } from "../support/terraform";
import { azureProductionSpec, azureSpec } from "./fixtures";

const terraformCloud = { organization: "acme-data", project: "data-platform" };
const staging = synthInfra({ ...azureSpec(), terraformCloud });
const prod = synthInfra({ ...azureProductionSpec(), terraformCloud });
const idOf = (stack: SynthesizedStack, type: string, part: string) =>
  Object.keys(stack.resources(type)).find((id) => new RegExp(`^platform_(terraform-cloud-agent|network)_${part}_[A-F0-9]+$`).test(id)) as string;
const agent = (stack: SynthesizedStack, type: string, part: string) => stack.resources(type)[idOf(stack, type, part)];
const container = (stack: SynthesizedStack) => ((agent(stack, "azurerm_container_app", "app").template as TfBlock).container as TfBlock[])[0];

/** A copy of a stack's JSON, changed by `edit`. */
function edited(stack: SynthesizedStack, edit: (resource: Record<string, Record<string, TfBlock>>) => void): SynthesizedStack {
  const json = structuredClone(stack.json) as { resource: Record<string, Record<string, TfBlock>> };
  edit(json.resource);
  return new SynthesizedStack(JSON.stringify(json));
}
const rule = (resource: Record<string, Record<string, TfBlock>>, part: string) => resource.azurerm_network_security_rule[idOf(staging, "azurerm_network_security_rule", part)];

describe("Terraform Cloud agents on Azure (in <env>-infra)", () => {
  it("pass every reachability, egress, identity and token rule, in and out of production and in every default Azure environment with Terraform Cloud", () => {
    expect(azureAgentProblems(staging)).toEqual([]);
    expect(azureAgentProblems(prod)).toEqual([]);
    const azure = parseEnvironments(environments).filter((e) => e.cloud === "azure" && e.terraformCloud && e.apps.length > 0);
    expect(azure.length).toBeGreaterThan(0);
    for (const env of azure) {
      const infra = new SynthesizedStack(readFileSync(join(__dirname, "..", "..", "synthesized", "stacks", `${env.name}-infra`, "cdk.tf.json"), "utf8"));
      expect(azureAgentProblems(infra).map((problem) => `${env.name}: ${problem}`)).toEqual([]);
    }
  });

  it("exist only where an apps workspace runs in Terraform Cloud, with their subnet", () => {
    for (const stack of [synthInfra(azureSpec()), synthInfra({ ...azureSpec(), terraformCloud, apps: [] })]) {
      expect(stack.all("azurerm_container_app")).toEqual([]);
      expect(stack.all("azurerm_subnet").map((subnet) => subnet.name)).not.toContain("tfc-agents");
    }
  });

  it("run two replicas in production, one elsewhere, or what terraformCloud.agents says, over the zones", () => {
    const replicas = (stack: SynthesizedStack) => {
      const template = agent(stack, "azurerm_container_app", "app").template as TfBlock;
      return [template.min_replicas, template.max_replicas];
    };
    expect(replicas(prod)).toEqual([2, 2]);
    expect(replicas(staging)).toEqual([1, 1]);
    expect(replicas(synthInfra({ ...azureSpec(), terraformCloud: { ...terraformCloud, agents: 3 } }))).toEqual([3, 3]);
    expect(agent(prod, "azurerm_container_app_environment", "environment")).toMatchObject({ zone_redundancy_enabled: true, internal_load_balancer_enabled: true });
  });

  it("run the pinned agent image, one job per container, never updating itself, with 4 GiB and 600 s to finish a job", () => {
    expect(container(staging)).toMatchObject({ image: "hashicorp/tfc-agent:1.32.0", cpu: 2, memory: "4Gi", name: "tfc-agent" });
    expect(container(staging).env).toEqual(
      expect.arrayContaining([
        { name: "TFC_AGENT_SINGLE", value: "true" },
        { name: "TFC_AGENT_AUTO_UPDATE", value: "disabled" },
        { name: "TFC_ADDRESS", value: "https://app.terraform.io" },
      ]),
    );
    expect((agent(staging, "azurerm_container_app", "app").template as TfBlock).termination_grace_period_seconds).toBe(600);
    expect(container(staging).command).toEqual(["python3", "-c", agentEntrypoint()]);
    // In the stack, the entrypoint waits for a token for ever, reading it every minute.
    expect(agentEntrypoint()).toMatch(/^POLL_SECONDS = 60\nATTEMPTS = 0$/m);
    // Terraform reads `${` and `%{` in any string as template sequences.
    expect(agentEntrypoint()).not.toMatch(/[$%]\{/);
  });

  it("have their own /27 in the free last quarter of the VNet, delegated to Container Apps, egress through the NAT gateway", () => {
    expect(agent(staging, "azurerm_subnet", "tfc-agents")).toMatchObject({
      name: "tfc-agents",
      address_prefixes: ["10.42.192.0/27"],
      default_outbound_access_enabled: false,
      delegation: [{ name: "container-apps-environments", service_delegation: { name: "Microsoft.App/environments", actions: ["Microsoft.Network/virtualNetworks/subnets/join/action"] } }],
    });
    expect(String(agent(staging, "azurerm_subnet_nat_gateway_association", "tfc-agents-nat").nat_gateway_id)).toMatch(/azurerm_nat_gateway\.platform_network_nat_/);
    expect(agent(staging, "azurerm_container_app_environment", "environment").depends_on).toEqual([
      expect.stringMatching(/^azurerm_subnet_nat_gateway_association\.platform_network_tfc-agents-nat_/),
      expect.stringMatching(/^azurerm_subnet_network_security_group_association\./),
      // The allow rules too, so the deny-all rules never stand alone while the environment provisions.
      ...["https-out", "https-out-vnet", "ntp-out", "subnet-out", "azure-dns-out", "load-balancer-in"].map((rule) => expect.stringMatching(new RegExp(`^azurerm_network_security_rule\\.platform_terraform-cloud-agent_${rule}_`))),
    ]);
  });

  it("refuse a VNet range whose agent subnet meets a range Container Apps reserves, naming the field", () => {
    const build = () => synthInfra({ ...azureSpec(), terraformCloud, network: { cidr: "172.31.0.0/16" } });
    expect(build).toThrow(SpecError);
    expect(build).toThrow(/network\.cidr.*172\.31\.0\.0\/16.*172\.31\.192\.0\/27 stays outside 172\.31\.0\.0\/16 \(reserved by Azure Container Apps\)/s);
  });

  it("keep their token in a Key Vault secret created through ARM with a placeholder, which Terraform never writes again", () => {
    const secret = agent(staging, "azapi_resource", "token");
    expect(secret).toMatchObject({
      type: "Microsoft.KeyVault/vaults/secrets@2024-11-01",
      name: "test-tfc-agent-token",
      sensitive_body: { properties: { value: PENDING_AGENT_TOKEN } },
      lifecycle: { ignore_changes: "all", prevent_destroy: false },
    });
    expect(secret.body).not.toHaveProperty("properties.value");
    expect(agent(prod, "azapi_resource", "token").lifecycle).toEqual({ ignore_changes: "all", prevent_destroy: true });
    expect(staging.json.output?.[TERRAFORM_CLOUD_AGENT_TOKEN_OUTPUT]?.value).toBe(`\${azapi_resource.${idOf(staging, "azapi_resource", "token")}.id}`);
    // The vault the token lives in exists without any database too, at the same address.
    const noDatabase = synthInfra({ ...azureSpec(), terraformCloud, databases: [], apps: [{ name: "monitoring" }] });
    expect(Object.keys(noDatabase.resources("azurerm_key_vault"))).toEqual(Object.keys(staging.resources("azurerm_key_vault")));
    expect(azureAgentProblems(noDatabase)).toEqual([]);
  });

  /** Terraform 1.11 itself: `"ignore_changes": "all"` in JSON keeps a changed argument from being planned. */
  it.skipIf(terraformUnavailable() !== undefined)("hold Terraform to ignore_changes = all in the JSON form the stack uses", async () => {
    const run = promisify(execFile);
    const dir = tempDir("ignore-all");
    const write = (input: string) => writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ resource: { terraform_data: { secret: { input, lifecycle: { ignore_changes: "all" } } } } }));
    const terraform = (...args: string[]) => run("terraform", args, { cwd: dir, env: { ...process.env, TF_IN_AUTOMATION: "1" } });
    write(PENDING_AGENT_TOKEN);
    await terraform("init", "-input=false");
    await terraform("apply", "-auto-approve", "-input=false");
    write("changed");
    const plan = await terraform("plan", "-input=false", "-detailed-exitcode");
    expect(plan.stdout).toContain("No changes.");
  }, 60_000);

  it("read the token as their own identity, which may read that secret and nothing else", () => {
    const identity = idOf(staging, "azurerm_user_assigned_identity", "identity");
    const grants = staging.all("azurerm_role_assignment").filter((role) => String(role.principal_id).includes(identity));
    expect(grants).toEqual([
      expect.objectContaining({
        role_definition_name: "Key Vault Secrets User",
        principal_type: "ServicePrincipal",
        scope: `\${azapi_resource.${idOf(staging, "azapi_resource", "token")}.id}`,
      }),
    ]);
    expect(container(staging).args).toEqual([`https://${String(staging.one("azurerm_key_vault").name)}.vault.azure.net/secrets/test-tfc-agent-token`, `\${azurerm_user_assigned_identity.${identity}.client_id}`]);
  });

  it("log to their own Log Analytics workspace for the cluster's log retention", () => {
    expect(agent(staging, "azurerm_log_analytics_workspace", "logs")).toMatchObject({ name: "test-tfc-agent-logs", retention_in_days: 30, sku: "PerGB2018" });
    expect(agent(prod, "azurerm_log_analytics_workspace", "logs").retention_in_days).toBe(90);
    expect(agent(staging, "azurerm_container_app_environment", "environment")).toMatchObject({
      logs_destination: "log-analytics",
      log_analytics_workspace_id: `\${azurerm_log_analytics_workspace.${idOf(staging, "azurerm_log_analytics_workspace", "logs")}.id}`,
      infrastructure_resource_group_name: "test-tfc-agents-rg",
    });
  });

  describe("reject", () => {
    it("a public address: an external environment, or an ingress on the app", () => {
      const external = edited(staging, (resource) => {
        resource.azurerm_container_app_environment[idOf(staging, "azurerm_container_app_environment", "environment")].internal_load_balancer_enabled = false;
      });
      expect(azureAgentProblems(external)).toEqual([expect.stringContaining("public ingress address")]);
      const ingress = edited(staging, (resource) => {
        resource.azurerm_container_app[idOf(staging, "azurerm_container_app", "app")].ingress = { external_enabled: true, target_port: 8080 };
      });
      expect(azureAgentProblems(ingress)).toEqual([expect.stringContaining("has an ingress")]);
    });

    it("a subnet outside the cluster's VNet, outside its address space, or not of this stack", () => {
      const elsewhere = edited(staging, (resource) => {
        const vnet = Object.values(resource.azurerm_virtual_network)[0];
        resource.azurerm_virtual_network.other = { ...vnet, name: "other-vnet", address_space: ["10.99.0.0/16"] };
        const subnet = resource.azurerm_subnet[idOf(staging, "azurerm_subnet", "tfc-agents")];
        subnet.virtual_network_name = "${azurerm_virtual_network.other.name}";
        subnet.address_prefixes = ["10.99.0.0/27"];
      });
      // The NSG rules still name the old range, so they no longer match the subnet either.
      expect(azureAgentProblems(elsewhere)).toContainEqual(expect.stringContaining("not in the AKS cluster's VNet"));
      const outside = edited(staging, (resource) => {
        resource.azurerm_subnet[idOf(staging, "azurerm_subnet", "tfc-agents")].address_prefixes = ["10.99.0.0/27"];
      });
      expect(azureAgentProblems(outside)).toContainEqual(expect.stringContaining("lies outside the VNet's address space 10.42.0.0/16"));
      const foreign = edited(staging, (resource) => {
        resource.azurerm_container_app_environment[idOf(staging, "azurerm_container_app_environment", "environment")].infrastructure_subnet_id =
          "/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/virtualNetworks/z/subnets/agents";
      });
      expect(azureAgentProblems(foreign)).toEqual([expect.stringContaining("not a subnet of this stack")]);
      const overlapping = edited(staging, (resource) => {
        resource.azurerm_subnet[idOf(staging, "azurerm_subnet", "tfc-agents")].address_prefixes = ["10.42.0.0/27"];
      });
      expect(azureAgentProblems(overlapping)).toContainEqual("the agents' subnet overlaps subnet nodes");
    });

    it("a subnet with default outbound access or without the NAT gateway, and a public AKS API", () => {
      const open = edited(staging, (resource) => {
        delete resource.azurerm_subnet[idOf(staging, "azurerm_subnet", "tfc-agents")].default_outbound_access_enabled;
        delete resource.azurerm_subnet_nat_gateway_association[idOf(staging, "azurerm_subnet_nat_gateway_association", "tfc-agents-nat")];
      });
      expect(azureAgentProblems(open)).toEqual([expect.stringContaining("default outbound access"), expect.stringContaining("no NAT gateway")]);
      const publicApi = edited(staging, (resource) => {
        const cluster = Object.values(resource.azurerm_kubernetes_cluster)[0];
        cluster.private_cluster_enabled = false;
      });
      expect(azureAgentProblems(publicApi)).toEqual([expect.stringContaining("the AKS API is public")]);
    });

    it("egress beyond HTTPS and the platform's flows, or no deny-all after the allows", () => {
      const wide = edited(staging, (resource) => {
        rule(resource, "https-out").destination_port_range = "*";
      });
      expect(azureAgentProblems(wide)).toEqual([expect.stringContaining("security rule https-out lets the agents send Tcp *")]);
      const ssh = edited(staging, (resource) => {
        rule(resource, "ntp-out").protocol = "Tcp";
        rule(resource, "ntp-out").destination_port_range = "22";
      });
      expect(azureAgentProblems(ssh)).toEqual([expect.stringContaining("security rule ntp-out lets the agents send Tcp 22")]);
      const noDeny = edited(staging, (resource) => delete resource.azurerm_network_security_rule[idOf(staging, "azurerm_network_security_rule", "deny-out")]);
      expect(azureAgentProblems(noDeny)).toEqual([expect.stringContaining("no deny-all outbound rule")]);
      const denyFirst = edited(staging, (resource) => {
        rule(resource, "deny-out").priority = 99 + 1;
        rule(resource, "https-out").priority = 200;
      });
      expect(azureAgentProblems(denyFirst)).toEqual([expect.stringContaining("no deny-all outbound rule")]);
      const unguarded = edited(staging, (resource) => delete resource.azurerm_subnet_network_security_group_association);
      expect(azureAgentProblems(unguarded)).toContainEqual(expect.stringContaining("no network security group on the agents' subnet"));
    });

    it("ingress from the rest of the VNet", () => {
      const admitted = edited(staging, (resource) => {
        rule(resource, "subnet-in").source_address_prefix = "VirtualNetwork";
      });
      expect(azureAgentProblems(admitted)).toEqual([expect.stringContaining("security rule subnet-in admits ingress to the agents from VirtualNetwork")]);
      const noDeny = edited(staging, (resource) => delete resource.azurerm_network_security_rule[idOf(staging, "azurerm_network_security_rule", "deny-vnet-in")]);
      expect(azureAgentProblems(noDeny)).toEqual([expect.stringContaining("default AllowVnetInBound")]);
    });

    it("the token in plain JSON: an environment variable, a container app secret value, a literal", () => {
      const plain = edited(staging, (resource) => {
        const app = resource.azurerm_container_app[idOf(staging, "azurerm_container_app", "app")];
        ((app.template as TfBlock).container as TfBlock[])[0].env = [{ name: "TFC_AGENT_TOKEN", value: "abc.atlasv1.def" }];
      });
      expect(azureAgentProblems(plain)).toEqual([expect.stringContaining("TFC_AGENT_TOKEN is set in the container definition (a plain value"), expect.stringContaining("atlasv1")]);
      const secretValue = edited(staging, (resource) => {
        const app = resource.azurerm_container_app[idOf(staging, "azurerm_container_app", "app")];
        app.secret = [{ name: "token", value: "abc.atlasv1.def" }];
        ((app.template as TfBlock).container as TfBlock[])[0].env = [{ name: "TFC_AGENT_TOKEN", secret_name: "token" }];
      });
      expect(azureAgentProblems(secretValue)).toEqual([
        expect.stringContaining("a container app secret, kept in the state"),
        expect.stringContaining("container app secret token holds a value"),
        expect.stringContaining("atlasv1"),
      ]);
      const inSecret = edited(staging, (resource) => {
        resource.azapi_resource[idOf(staging, "azapi_resource", "token")].sensitive_body = { properties: { value: "abc.atlasv1.def" } };
      });
      expect(azureAgentProblems(inSecret)).toEqual([expect.stringContaining("atlasv1")]);
    });

    it("a token secret Terraform would write again, readable by someone else, or an identity that can do more", () => {
      const rewritten = edited(staging, (resource) => {
        delete resource.azapi_resource[idOf(staging, "azapi_resource", "token")].lifecycle;
      });
      expect(azureAgentProblems(rewritten)).toEqual([expect.stringContaining("write its placeholder back over the token")]);
      const shared = edited(staging, (resource) => {
        const grant = resource.azurerm_role_assignment[idOf(staging, "azurerm_role_assignment", "token-read")];
        resource.azurerm_role_assignment.other = { ...grant, principal_id: "${azurerm_user_assigned_identity.someone.principal_id}" };
      });
      expect(azureAgentProblems(shared)).toEqual([expect.stringContaining("1 other role assignment(s) on the agent token secret")]);
      const powerful = edited(staging, (resource) => {
        const grant = resource.azurerm_role_assignment[idOf(staging, "azurerm_role_assignment", "token-read")];
        resource.azurerm_role_assignment.contributor = { ...grant, scope: "/subscriptions/x", role_definition_name: "Contributor" };
      });
      expect(azureAgentProblems(powerful)).toEqual([expect.stringContaining("must hold \"Key Vault Secrets User\" on its token secret and nothing else")]);
    });

    it("an unverified kubelogin download: no pinned SHA-256, the check after the install, or an unversioned URL", () => {
      const script = agentEntrypoint();
      const withScript = (text: string) =>
        edited(staging, (resource) => {
          const app = resource.azurerm_container_app[idOf(staging, "azurerm_container_app", "app")];
          ((app.template as TfBlock).container as TfBlock[])[0].command = ["python3", "-c", text];
        });
      const unchecked = script.replace(/^if digest != KUBELOGIN_SHA256:\n.*\n/m, "");
      expect(unchecked).not.toBe(script);
      expect(azureAgentProblems(withScript(unchecked))).toEqual(["the kubelogin download is not checked against a pinned SHA-256 before it is installed"]);
      expect(azureAgentProblems(withScript(script.replace(KUBELOGIN.sha256, "")))).toEqual(["the kubelogin download is not checked against a pinned SHA-256 before it is installed"]);
      const latest = script.replace(KUBELOGIN.url, "https://github.com/Azure/kubelogin/releases/latest/download/kubelogin-linux-amd64.zip");
      expect(azureAgentProblems(withScript(latest))).toEqual([expect.stringContaining("not a versioned Azure/kubelogin release")]);
    });

    it("what azurerm 4.55.0 refuses: duplicate or out-of-range priorities, unknown protocols, an unnamed managed group, out-of-range replicas", () => {
      const refused = edited(staging, (resource) => {
        rule(resource, "ntp-out").priority = 100;
        rule(resource, "subnet-out").protocol = "TCP";
        rule(resource, "deny-vnet-in").priority = 5000;
        delete resource.azurerm_container_app_environment[idOf(staging, "azurerm_container_app_environment", "environment")].infrastructure_resource_group_name;
        const template = resource.azurerm_container_app[idOf(staging, "azurerm_container_app", "app")].template as TfBlock;
        template.max_replicas = 301;
        template.termination_grace_period_seconds = 900;
      });
      expect(azureAgentProblems(refused)).toEqual(
        expect.arrayContaining([
          "template.max_replicas 301: 1 to 300",
          "template.termination_grace_period_seconds 900: 0 to 600",
          expect.stringContaining("infrastructure_resource_group_name unset with Consumption profiles only"),
          "security rule ntp-out: another Outbound rule has priority 100",
          "security rule subnet-out: protocol TCP, one of *, Tcp, Udp, Icmp, Ah, Esp",
          "security rule deny-vnet-in: priority 5000, 100 to 4096",
        ]),
      );
      const renamed = edited(staging, (resource) => {
        resource.azurerm_container_app[idOf(staging, "azurerm_container_app", "app")].name = "Test-TFC-Agent";
      });
      expect(azureAgentProblems(renamed)).toEqual([expect.stringContaining("container app name Test-TFC-Agent")]);
    });
  });
});

/** A fake of the three HTTPS endpoints the entrypoint talks to, answering as their references document. */
interface FakeAzure {
  readonly base: string;
  readonly requests: string[];
  close(): Promise<void>;
}

/** `tokens`: the secret's value at each read, the last one repeating. */
async function fakeAzure(tokens: readonly string[], archive: Buffer): Promise<FakeAzure> {
  let reads = 0;
  const requests: string[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    requests.push(url.pathname);
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { "Content-Type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (url.pathname === "/msi/token") {
      // Microsoft, "Managed identities in Azure Container Apps": GET, X-IDENTITY-HEADER, api-version, resource, client_id.
      const ok =
        request.headers["x-identity-header"] === "header-853b9a84" &&
        url.searchParams.get("api-version") === "2019-08-01" &&
        url.searchParams.get("resource") === "https://vault.azure.net" &&
        url.searchParams.get("client_id") === "5e29463d-71da-4fe0-8e69-999b57db23b0";
      if (!ok) return json(400, { error: "invalid_request" });
      return json(200, { access_token: "eyJ0eXAi.vault", expires_on: "1586984735", resource: "https://vault.azure.net", token_type: "Bearer", client_id: "5e29463d-71da-4fe0-8e69-999b57db23b0" });
    }
    if (url.pathname === "/secrets/test-tfc-agent-token") {
      // Key Vault REST "Get Secret" (api-version 7.4): SecretBundle with value, id and attributes.
      if (request.headers.authorization !== "Bearer eyJ0eXAi.vault" || url.searchParams.get("api-version") !== "7.4") return json(401, { error: { code: "Unauthorized" } });
      const token = tokens[Math.min(reads++, tokens.length - 1)];
      return json(200, { value: token, id: `${base}/secrets/test-tfc-agent-token/4387e9f3d6e14c459867679a90fd0f79`, attributes: { enabled: true, created: 1493938410, updated: 1493938410 } });
    }
    if (url.pathname === "/kubelogin-linux-amd64.zip") {
      response.writeHead(200, { "Content-Type": "application/zip" });
      return response.end(archive);
    }
    response.writeHead(404);
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A kubelogin release archive: the binary at `bin/linux_amd64/kubelogin`, built with Python's zipfile. */
function kubeloginArchive(dir: string): Buffer {
  const path = join(dir, "kubelogin.zip");
  const build = "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z:\n    z.writestr('bin/linux_amd64/kubelogin', '#!/bin/sh\\necho kubelogin-test\\n')\n";
  const result = spawnSync("python3", ["-c", build, path], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(result.stderr);
  return readFileSync(path);
}

interface EntrypointRun {
  readonly code: number;
  readonly stderr: string;
  readonly home: string;
  /** The environment the agent binary was started with, or undefined when it was not started. */
  readonly agentEnv?: Record<string, string>;
  readonly requests: string[];
}

async function runEntrypoint(tokens: readonly string[], options: { pinnedSha256?: string; tokenAttempts?: number } = {}): Promise<EntrypointRun> {
  const home = tempDir("tfc-agent-home");
  const archive = kubeloginArchive(home);
  const azure = await fakeAzure(tokens, archive);
  const fakeAgent = join(home, "tfc-agent");
  writeFileSync(fakeAgent, `#!/bin/sh\nenv > "${home}/agent.env"\n`);
  chmodSync(fakeAgent, 0o755);
  const script = agentEntrypoint({
    kubelogin: { url: `${azure.base}/kubelogin-linux-amd64.zip`, sha256: options.pinnedSha256 ?? createHash("sha256").update(archive).digest("hex"), member: KUBELOGIN.member },
    agentBinary: fakeAgent,
    pollSeconds: 0,
    tokenAttempts: options.tokenAttempts ?? 1,
  });
  const env = {
    HOME: home,
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    IDENTITY_ENDPOINT: `${azure.base}/msi/token`,
    IDENTITY_HEADER: "header-853b9a84",
    MSI_ENDPOINT: `${azure.base}/msi/token`,
    MSI_SECRET: "header-853b9a84",
  };
  let code = 0;
  let stderr = "";
  try {
    await promisify(execFile)("python3", ["-c", script, `${azure.base}/secrets/test-tfc-agent-token`, "5e29463d-71da-4fe0-8e69-999b57db23b0"], { env });
  } catch (error) {
    code = (error as { code: number }).code;
    stderr = (error as { stderr: string }).stderr;
  } finally {
    await azure.close();
  }
  const agentEnvFile = join(home, "agent.env");
  const agentEnv = existsSync(agentEnvFile)
    ? Object.fromEntries(readFileSync(agentEnvFile, "utf8").trim().split("\n").map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]))
    : undefined;
  return { code, stderr, home, agentEnv, requests: azure.requests };
}

describe("the agent container's entrypoint (run with python3 against fakes of the documented endpoints)", () => {
  it("reads the token, installs the verified kubelogin, writes the PATH hooks, and starts the agent without the identity endpoint", async () => {
    const run = await runEntrypoint(["abc123.atlasv1.def456"]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.agentEnv?.TFC_AGENT_TOKEN).toBe("abc123.atlasv1.def456");
    expect(run.agentEnv).not.toHaveProperty("IDENTITY_ENDPOINT");
    expect(run.agentEnv).not.toHaveProperty("IDENTITY_HEADER");
    expect(Object.values(run.agentEnv ?? {})).not.toContain("header-853b9a84");
    const bin = join(run.home, ".local", "bin");
    expect(run.agentEnv?.PATH.startsWith(`${bin}:`)).toBe(true);
    expect(spawnSync(join(bin, "kubelogin"), { encoding: "utf8" }).stdout).toBe("kubelogin-test\n");
    for (const hook of ["terraform-pre-plan", "terraform-pre-apply"]) {
      const agentEnvFile = join(run.home, `${hook}.env`);
      const result = spawnSync(join(run.home, ".tfc-agent", "hooks", hook), { env: { PATH: "/usr/bin:/bin", TFC_AGENT_ENV: agentEnvFile }, encoding: "utf8" });
      expect(result.status).toBe(0);
      expect(readFileSync(agentEnvFile, "utf8")).toBe(`PATH=${bin}:/usr/bin:/bin\n`);
    }
  }, 30_000);

  it("refuses a kubelogin archive whose SHA-256 is not the pinned one, and starts no agent", async () => {
    const run = await runEntrypoint(["abc123.atlasv1.def456"], { pinnedSha256: "0".repeat(64) });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/refusing .*kubelogin-linux-amd64\.zip: SHA-256 [0-9a-f]{64}, pinned 0{64}/);
    expect(run.agentEnv).toBeUndefined();
    expect(existsSync(join(run.home, ".local", "bin", "kubelogin"))).toBe(false);
  }, 30_000);

  it("keeps reading while the secret holds the placeholder, downloading nothing, and starts the agent once the token is there", async () => {
    const waiting = await runEntrypoint([PENDING_AGENT_TOKEN], { tokenAttempts: 2 });
    expect(waiting.code).toBe(1);
    expect(waiting.stderr).toContain("holds no token yet (README, Delivery, bootstrap step 4); reading it again in 0 s");
    expect(waiting.agentEnv).toBeUndefined();
    expect(waiting.requests).toEqual(["/msi/token", "/secrets/test-tfc-agent-token", "/msi/token", "/secrets/test-tfc-agent-token"]);
    const filled = await runEntrypoint([PENDING_AGENT_TOKEN, "abc123.atlasv1.def456"], { tokenAttempts: 0 });
    expect(filled.code).toBe(0);
    expect(filled.agentEnv?.TFC_AGENT_TOKEN).toBe("abc123.atlasv1.def456");
  }, 30_000);
});
