import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseEnvironments } from "../../constructs/core/spec";
import { environments } from "../../environments";
import { awsAgentProblems } from "../support/agents";
import { baseSpec, productionSpec } from "../support/fixtures";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";

const terraformCloud = { organization: "acme-data", project: "data-platform" };
const staging = synthInfra({ ...baseSpec(), terraformCloud });
const prod = synthInfra({ ...productionSpec(), terraformCloud });
const agent = (stack: SynthesizedStack, type: string, part: string) => stack.find(type, new RegExp(`^platform_terraform-cloud-agent_${part}_[A-F0-9]+$`));
const containers = (stack: SynthesizedStack) => JSON.parse(String(agent(stack, "aws_ecs_task_definition", "task").container_definitions)) as TfBlock[];

/** A copy of a stack's JSON, changed by `edit`. */
function edited(stack: SynthesizedStack, edit: (json: { resource: Record<string, Record<string, TfBlock>> }) => void): SynthesizedStack {
  const json = structuredClone(stack.json) as { resource: Record<string, Record<string, TfBlock>> };
  edit(json);
  return new SynthesizedStack(JSON.stringify(json));
}
const idOf = (stack: SynthesizedStack, type: string, part: string) =>
  Object.keys(stack.resources(type)).find((id) => new RegExp(`^platform_terraform-cloud-agent_${part}_[A-F0-9]+$`).test(id)) as string;

describe("Terraform Cloud agents on AWS (in <env>-infra)", () => {
  it("pass every reachability and token rule, in and out of production and in every default AWS environment with Terraform Cloud", () => {
    expect(awsAgentProblems(staging)).toEqual([]);
    expect(awsAgentProblems(prod)).toEqual([]);
    for (const env of parseEnvironments(environments).filter((e) => e.cloud === "aws" && e.terraformCloud && e.apps.length > 0)) {
      const infra = new SynthesizedStack(readFileSync(join(__dirname, "..", "..", "synthesized", "stacks", `${env.name}-infra`, "cdk.tf.json"), "utf8"));
      expect(awsAgentProblems(infra).map((problem) => `${env.name}: ${problem}`)).toEqual([]);
      expect(agent(infra, "aws_ecs_service", "service").desired_count).toBe(env.terraformCloud?.agents);
    }
  });

  it("exist only where an apps workspace runs in Terraform Cloud", () => {
    expect(synthInfra(baseSpec()).all("aws_ecs_service")).toEqual([]);
    expect(synthInfra({ ...baseSpec(), terraformCloud, apps: [] }).all("aws_ecs_service")).toEqual([]);
  });

  it("run two agents in production, one elsewhere, or what terraformCloud.agents says", () => {
    expect(agent(prod, "aws_ecs_service", "service")).toMatchObject({ desired_count: 2, launch_type: "FARGATE", availability_zone_rebalancing: "DISABLED", deployment_minimum_healthy_percent: 100 });
    expect(agent(staging, "aws_ecs_service", "service").desired_count).toBe(1);
    expect(agent(synthInfra({ ...baseSpec(), terraformCloud: { ...terraformCloud, agents: 3 } }), "aws_ecs_service", "service").desired_count).toBe(3);
    // Every private subnet, so Fargate can spread the tasks over the zones.
    const subnets = agent(prod, "aws_ecs_service", "service").network_configuration as { subnets: string[] };
    expect(subnets.subnets.map(String)).toEqual([0, 1, 2].map((zone) => expect.stringMatching(new RegExp(`aws_subnet\\.platform_network_private-${zone}_`))));
  });

  it("run the pinned agent image, one job per task, never updating itself", () => {
    const [container] = containers(staging);
    expect(container.image).toBe("hashicorp/tfc-agent:1.32.0");
    expect(container.environment).toEqual(
      expect.arrayContaining([
        { name: "TFC_AGENT_SINGLE", value: "true" },
        { name: "TFC_AGENT_AUTO_UPDATE", value: "disabled" },
        { name: "TFC_ADDRESS", value: "https://app.terraform.io" },
      ]),
    );
    expect(container.stopTimeout).toBe(120);
  });

  it("log to a log group encrypted with the logs key, kept as long as the cluster's logs", () => {
    expect(agent(staging, "aws_cloudwatch_log_group", "logs")).toMatchObject({ retention_in_days: 30, kms_key_id: expect.stringMatching(/aws_kms_key\.platform_keys_logs_/) });
    expect(agent(prod, "aws_cloudwatch_log_group", "logs").retention_in_days).toBe(90);
    expect((containers(prod)[0].logConfiguration as TfBlock).logDriver).toBe("awslogs");
  });

  it("read the token through the execution role only: that secret, decrypted through Secrets Manager, and the log streams", () => {
    const secret = agent(staging, "aws_secretsmanager_secret", "token");
    expect(secret).toMatchObject({ name: "test-terraform-cloud-agent-token", kms_key_id: expect.stringMatching(/aws_kms_key\.platform_keys_data_/) });
    expect(staging.all("aws_secretsmanager_secret_version")).toEqual([]);
    expect(staging.json.output?.terraform_cloud_agent_token_secret).toMatchObject({ value: expect.stringMatching(/aws_secretsmanager_secret\.platform_terraform-cloud-agent_token_[A-F0-9]+\.arn/) });
    const statements = SynthesizedStack.policy(agent(staging, "aws_iam_role_policy", "execution-policy")).Statement;
    expect(statements.map((s) => s.Action)).toEqual(["secretsmanager:GetSecretValue", "kms:Decrypt", ["logs:CreateLogStream", "logs:PutLogEvents"]]);
    expect(String(statements[0].Resource)).toMatch(/aws_secretsmanager_secret\.platform_terraform-cloud-agent_token_/);
    expect(statements[1].Condition).toEqual({
      StringEquals: { "kms:ViaService": "secretsmanager.eu-central-1.amazonaws.com", "kms:EncryptionContext:SecretARN": expect.stringMatching(/aws_secretsmanager_secret\.platform_terraform-cloud-agent_token_/) },
    });
    expect(String(statements[2].Resource)).toMatch(/aws_cloudwatch_log_group\.platform_terraform-cloud-agent_logs_[A-F0-9]+\.arn\}:\*$/);
    const trust = SynthesizedStack.policy(agent(staging, "aws_iam_role", "execution-role"), "assume_role_policy").Statement[0];
    expect(trust.Principal).toEqual({ Service: "ecs-tasks.amazonaws.com" });
    expect(staging.all("aws_iam_role_policy_attachment").filter((a) => String(a.role).includes("terraform-cloud-agent"))).toEqual([]);
  });

  describe("reject", () => {
    it("an agent security group that opens ingress, inline or as a rule", () => {
      const group = idOf(staging, "aws_security_group", "security-group");
      const inline = edited(staging, (json) => {
        json.resource.aws_security_group[group].ingress = [{ protocol: "tcp", from_port: 22, to_port: 22, cidr_blocks: ["10.0.0.0/8"] }];
      });
      expect(awsAgentProblems(inline)).toEqual([expect.stringContaining("admits 1 ingress rule")]);
      const rule = edited(staging, (json) => {
        json.resource.aws_vpc_security_group_ingress_rule.extra = { security_group_id: `\${aws_security_group.${group}.id}`, ip_protocol: "tcp", from_port: 8080, to_port: 8080, cidr_ipv4: "10.0.0.0/8" };
      });
      expect(awsAgentProblems(rule)).toEqual([expect.stringContaining("admits 1 ingress rule")]);
    });

    it("egress beyond TCP 443", () => {
      const rule = idOf(staging, "aws_vpc_security_group_egress_rule", "https-out");
      const open = edited(staging, (json) => {
        Object.assign(json.resource.aws_vpc_security_group_egress_rule[rule], { ip_protocol: "-1", from_port: undefined, to_port: undefined });
      });
      expect(awsAgentProblems(open)).toEqual([expect.stringContaining("only TCP 443 is needed")]);
    });

    it("agents the cluster API does not admit, or that run in a public subnet", () => {
      const rule = idOf(staging, "aws_vpc_security_group_ingress_rule", "cluster-api-from-agent");
      expect(awsAgentProblems(edited(staging, (json) => delete json.resource.aws_vpc_security_group_ingress_rule[rule]))).toEqual([expect.stringContaining("private API is out of reach")]);
      const service = idOf(staging, "aws_ecs_service", "service");
      const publicSubnet = Object.keys(staging.resources("aws_subnet")).find((id) => id.startsWith("platform_network_public-0")) as string;
      const exposed = edited(staging, (json) => {
        (json.resource.aws_ecs_service[service].network_configuration as TfBlock).subnets = [`\${aws_subnet.${publicSubnet}.id}`];
      });
      expect(awsAgentProblems(exposed)).toEqual([expect.stringContaining("not a private subnet")]);
    });

    it("the token in plain JSON: an environment variable, a secret version or a literal", () => {
      const task = idOf(staging, "aws_ecs_task_definition", "task");
      const plain = edited(staging, (json) => {
        const [container] = JSON.parse(String(json.resource.aws_ecs_task_definition[task].container_definitions)) as { environment: unknown[]; secrets?: unknown[] }[];
        container.environment.push({ name: "TFC_AGENT_TOKEN", value: "abc.atlasv1.def" });
        delete container.secrets;
        json.resource.aws_ecs_task_definition[task].container_definitions = JSON.stringify([container]);
      });
      expect(awsAgentProblems(plain)).toEqual([
        expect.stringContaining("TFC_AGENT_TOKEN is a plain environment variable"),
        expect.stringContaining("does not come from a Secrets Manager secret"),
        expect.stringContaining("atlasv1"),
      ]);
      const secret = idOf(staging, "aws_secretsmanager_secret", "token");
      const versioned = edited(staging, (json) => {
        json.resource.aws_secretsmanager_secret_version = { token: { secret_id: `\${aws_secretsmanager_secret.${secret}.arn}`, secret_string: "${var.token}" } };
      });
      expect(awsAgentProblems(versioned)).toEqual([expect.stringContaining("has a version in the stack")]);
    });

    it("a task role, which would give every run the agent's own AWS credentials", () => {
      const task = idOf(staging, "aws_ecs_task_definition", "task");
      const withRole = edited(staging, (json) => {
        json.resource.aws_ecs_task_definition[task].task_role_arn = "arn:aws:iam::123456789012:role/anything";
      });
      expect(awsAgentProblems(withRole)).toEqual([expect.stringContaining("has a task role")]);
    });
  });
});
