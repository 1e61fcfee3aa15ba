/**
 * The environment pictures (`npm run docs` → synthesized/diagrams/<env>.md): Mermaid that the
 * pinned flowchart grammar accepts (scripts/mermaid.ts cites mermaid-js/mermaid@11.14.0's
 * flow.jison; each rule is tested here with a case it must reject), and a picture that shows only
 * what the synthesized output does. Freshness is in docs.test.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AWS_RESOURCE_TYPES } from "../constructs/aws";
import { AZURE_RESOURCE_TYPES } from "../constructs/azure";
import { GCP_RESOURCE_TYPES } from "../constructs/gcp";
import { placedOn, CLOUDS, parseEnvironments, type Cloud, type Environment } from "../constructs/core/spec";
import type { ResourceTypeMap } from "../constructs/core/interfaces";
import { environments, environmentSource } from "../environments";
import { COMMITTED_OUTPUT_DIR } from "../stacks/output";
import { DIAGRAM_CLOUDS, readEnvironmentOutput, renderEnvironmentDiagram, Stack, type DrawnConcept, type EnvironmentOutput } from "../scripts/diagram";
import { flowchartProblems, idProblem, labelProblem, renderFlowchart } from "../scripts/mermaid";

const outdir = join(__dirname, "..", COMMITTED_OUTPUT_DIR);
const envs = parseEnvironments(environments, environmentSource);
const outputs = new Map(envs.map((env) => [env.name, readEnvironmentOutput(outdir, env)]));
const diagrams = new Map(envs.map((env) => [env.name, renderEnvironmentDiagram(env, outputs.get(env.name) as EnvironmentOutput, envs)]));

describe("Mermaid flowchart rules (mermaid-js/mermaid@11.14.0 flow.jison)", () => {
  // flow-singlenode.spec.js at that tag: "should throw error at nodes beginning with %s"; an id
  // that is the keyword itself is followed by "[" and so lexed as the keyword (literal rules end in \b).
  it.each(["graph", "flowchart", "subgraph", "style", "linkStyle", "classDef", "class", "interpolate", "end", "_self", "_blank", "_parent", "_top"])("rejects the id %s, a keyword", (keyword) => {
    expect(idProblem(keyword)).toMatch(/is the keyword/);
  });

  it("rejects click, call and href, keywords before the space of a link line; accepts keywords followed by word characters", () => {
    expect(idProblem("click")).toMatch(/keyword click/);
    expect(idProblem("call")).toMatch(/keyword call/);
    expect(idProblem("href")).toMatch(/keyword href/);
    // "class\b" does not match classA; flow.spec.js "should handle node names ending with keywords"; DEFAULT is an idStringToken.
    expect(["classA", "graphX", "endpoint", "end_x", "blend", "monograph", "default", "clicks"].map(idProblem)).toEqual(Array.from({ length: 8 }, () => undefined));
  });

  it("rejects ids that NUM, '-', '.' or spaces would split", () => {
    for (const id of ["1pool", "node-pool", "node.pool", "node pool", ""]) expect(idProblem(id)).toMatch(/is not \[A-Za-z\]/);
  });

  it("rejects labels a quoted string cannot hold or that Mermaid reads as markup", () => {
    expect(labelProblem('say "hi"')).toMatch(/quote ends the string/);
    expect(labelProblem("a #quot; b")).toMatch(/entity/);
    expect(labelProblem("`md`")).toMatch(/Markdown/);
    expect(labelProblem("<b>x</b>")).toMatch(/HTML/);
    expect(labelProblem("a & b")).toMatch(/HTML/);
    expect(labelProblem("50%% done")).toMatch(/comment/);
    expect(labelProblem("direction LR here")).toMatch(/direction/);
    expect(labelProblem(" ")).toMatch(/empty/);
    expect(labelProblem("10.0.0.0/16 · eu-west-1a, m7i.xlarge (spot) 1-6")).toBeUndefined();
  });

  it("rejects unbalanced subgraphs, duplicate ids, a subgraph sharing a node's id, links to undeclared ids and lines outside the subset", () => {
    expect(flowchartProblems('flowchart LR\n  subgraph s["S"]\n    a["A"]\n')).toContain("1 subgraph without end");
    expect(flowchartProblems('flowchart LR\n  a["A"]\n  end\n')).toContain("line 3: end without a subgraph");
    expect(flowchartProblems('flowchart LR\n  a["A"]\n  a["B"]\n')).toContain('line 3: id "a" is declared twice');
    expect(flowchartProblems('flowchart LR\n  subgraph a["S"]\n    a["A"]\n  end\n').join("\n")).toMatch(/both a subgraph and a node/);
    expect(flowchartProblems('flowchart LR\n  a["A"]\n  a --> b\n')).toContain('line 3: link to "b", which no node statement declares');
    expect(flowchartProblems('graph LR\n  a["A"]\n')[0]).toMatch(/line 1/);
    expect(flowchartProblems('flowchart LR\n  a[A]\n')[0]).toMatch(/is none of/);
    expect(flowchartProblems('flowchart LR\n  a["A"]\n  b(["B"])\n  c[("C")]\n  d{{"D"}}\n  e[["E"]]\n  subgraph s["S"]\n  end\n  a --> b\n  c -.->|"x, y"| d\n')).toEqual([]);
  });

  it("the renderer refuses to write a flowchart that breaks a rule", () => {
    expect(() => renderFlowchart("LR", [{ kind: "node", id: "class", lines: ["A"], shape: "box" }], [])).toThrow(/is the keyword class/);
    expect(() => renderFlowchart("LR", [{ kind: "node", id: "a", lines: ['say "x"'], shape: "box" }], [])).toThrow(/quote ends the string/);
  });

  it.each([...diagrams])("the diagram of %s follows every rule", (_name, text) => {
    expect(flowchartProblems(text)).toEqual([]);
  });
});

/** Mermaid's own parser (the npm package at the version the rules cite), under jsdom for its DOMPurify. */
async function mermaidParser(): Promise<(text: string) => Promise<string | undefined>> {
  const { JSDOM } = await import("jsdom");
  Object.assign(globalThis, { window: new JSDOM("").window });
  const { default: mermaid } = await import("mermaid");
  return async (text) => {
    try {
      await mermaid.parse(text);
      return undefined;
    } catch (error) {
      return String((error as Error).message ?? error).split("\n")[0];
    }
  };
}

describe("Mermaid's parser (mermaid@11.14.0, what GitHub runs on a mermaid block)", () => {
  it("parses every committed diagram", async () => {
    const parse = await mermaidParser();
    const committed = (name: string) => readFileSync(join(outdir, "diagrams", `${name}.md`), "utf8");
    const failures = await Promise.all(envs.map(async ({ name }) => ({ name, error: await parse(/```mermaid\n([\s\S]*?)```/.exec(committed(name))?.[1] ?? "no mermaid block") })));
    expect(failures.filter((failure) => failure.error !== undefined)).toEqual([]);
  });

  it("refuses what the encoded rules call a parse error: a keyword id, an id a link would split, an unclosed label", async () => {
    const parse = await mermaidParser();
    for (const text of ['flowchart LR\n  end["x"]\n', 'flowchart LR\n  class["x"]\n', 'flowchart LR\n  a["x"]\n  call --> a\n', 'flowchart LR\n  a["x"] --> b[\n']) {
      expect({ text, error: await parse(text) }).toEqual({ text, error: expect.any(String) });
    }
  });
});

const resourceTypes: Readonly<Record<Cloud, ResourceTypeMap>> = { aws: AWS_RESOURCE_TYPES, azure: AZURE_RESOURCE_TYPES, gcp: GCP_RESOURCE_TYPES };

describe("the pictures show the synthesized output", () => {
  it.each(CLOUDS)("%s: each type drawn as a neutral concept is one of the cloud's types for that concept (docs/parity.md)", (cloud) => {
    const reader = DIAGRAM_CLOUDS[cloud];
    const drawn = Object.entries(reader.types).flatMap(([concept, type]) => (concept === "agent" ? [] : [{ concept: concept as DrawnConcept, type }]));
    expect(drawn.filter(({ concept, type }) => !resourceTypes[cloud][concept].includes(type))).toEqual([]);
  });

  it("every cloud of an environment in environments/ has its types drawn from its stacks (a renamed type would leave the picture empty)", () => {
    for (const env of envs) {
      const { infra } = outputs.get(env.name) as EnvironmentOutput;
      const reader = DIAGRAM_CLOUDS[env.cloud];
      const missing = [reader.types.network, reader.types.cluster, reader.types.nodePool, reader.types.identity].filter((type) => infra.of(type).length === 0);
      expect({ env: env.name, missing }).toEqual({ env: env.name, missing: [] });
    }
  });

  it.each(envs.map((env) => [env.name, env] as const))("%s: every node pool, database, bucket and app of the spec is drawn", (name, env: Environment) => {
    const text = diagrams.get(name) as string;
    for (const pool of env.cluster.nodePools) expect(text).toContain(`"pool ${pool.name}${pool.spot ? " · spot" : ""}<br/>`);
    for (const pool of env.cluster.nodePools) expect(text).toContain(`<br/>${pool.minNodes}-${pool.maxNodes} nodes"`);
    for (const app of env.apps) expect(text).toMatch(new RegExp(`workload_k8s_${app.name}\\(\\["${app.name}`));
    for (const db of env.databases) expect(text).toMatch(new RegExp(`database_${env.cloud}_[A-Za-z0-9_]*${db.name}`));
    for (const bucket of env.buckets) expect(text).toMatch(new RegExp(`bucket_${placedOn(env, bucket)}_[A-Za-z0-9_]*${bucket.name}`));
    // Each app with a bucket reaches it through the grant of one of its identities (one per cloud it uses), each app with a database reaches it.
    for (const app of env.apps.filter((a) => a.bucket !== undefined)) {
      const bucket = env.buckets.find((one) => one.name === app.bucket);
      const identities = [...text.matchAll(new RegExp(`workload_k8s_${app.name} -->\\|"runs as"\\| (\\S+)`, "g"))].map((match) => match[1]);
      const granted = identities.filter((identity) => new RegExp(`${identity} -->\\|"granted"\\| bucket_${bucket === undefined ? env.cloud : placedOn(env, bucket)}_[A-Za-z0-9_]*${app.bucket}`).test(text));
      expect({ app: app.name, granted: granted.length }).toEqual({ app: app.name, granted: 1 });
    }
    for (const app of env.apps.filter((a) => a.database !== undefined)) expect(text).toMatch(new RegExp(`workload_k8s_${app.name} -->\\|"PostgreSQL"\\| database_`));
  });

  it("a read replica is drawn with its primary; spot pools are marked from the stack", () => {
    const withReplica = envs.find((env) => env.databases.some((db) => (db.readReplicas ?? 0) > 0));
    expect(withReplica).toBeDefined();
    expect(diagrams.get(withReplica?.name ?? "")).toMatch(/-\.->\|"replica of"\|/);
  });

  // The picture must not claim what the output does not do: change the output, not the spec.
  const staging = envs.find((env) => env.apps.some((app) => app.bucket !== undefined && app.host !== undefined)) as Environment;
  const output = outputs.get(staging.name) as EnvironmentOutput;
  const app = staging.apps.find((a) => a.bucket !== undefined && a.host !== undefined) as Environment["apps"][number];

  it("without the grant in the infra stack, no identity is drawn reaching the bucket", () => {
    const json = JSON.parse(output.infra.text) as { resource: Record<string, Record<string, unknown>> };
    const identityType = DIAGRAM_CLOUDS[staging.cloud].types.identity;
    const bucketType = DIAGRAM_CLOUDS[staging.cloud].types.bucket;
    // Drop every resource that references both an identity and a bucket (the grants).
    for (const [type, blocks] of Object.entries(json.resource)) {
      for (const [id, block] of Object.entries(blocks)) {
        const text = JSON.stringify(block);
        if (type !== bucketType && text.includes(`\${${identityType}.`) && text.includes(`\${${bucketType}.`)) delete blocks[id];
      }
    }
    const before = diagrams.get(staging.name) as string;
    const after = renderEnvironmentDiagram(staging, { ...output, infra: new Stack(output.infra.name, JSON.stringify(json)) }, envs);
    expect(before).toMatch(/-->\|"granted"\|/);
    expect(after).not.toMatch(/-->\|"granted"\|/);
  });

  it("a Cloud SQL instance named with its random suffix (known at apply) is the app's database", () => {
    const gcp = envs.find((env) => env.cloud === "gcp" && env.apps.some((a) => a.database !== undefined)) as Environment;
    const gcpOutput = outputs.get(gcp.name) as EnvironmentOutput;
    const database = gcp.apps.find((a) => a.database !== undefined)?.database as string;
    const json = JSON.parse(gcpOutput.infra.text) as { resource: Record<string, Record<string, { name?: unknown; master_instance_name?: unknown }>> };
    const primary = Object.values(json.resource.google_sql_database_instance).find((block) => block.master_instance_name === undefined) as { name?: unknown };
    primary.name = `${gcp.name}-db-${database}-\${random_id.suffix_ABCD1234.hex}`;
    const drawn = renderEnvironmentDiagram(gcp, { ...gcpOutput, infra: new Stack(gcpOutput.infra.name, JSON.stringify(json)) }, envs);
    expect(drawn).toContain(`${gcp.name}-db-${database}-(random suffix)`);
    expect(drawn).toMatch(/-->\|"PostgreSQL"\|/);
  });

  it("an app's host or database the output lacks is an error, not a line", () => {
    const apps = output.apps as Stack;
    const withoutHost = new Stack(apps.name, apps.text.split(app.host as string).join("elsewhere.example.com"));
    expect(() => renderEnvironmentDiagram(staging, { ...output, apps: withoutHost }, envs)).toThrow(`the spec gives ${app.name} the host ${app.host}, which the stack does not contain`);
    const dbType = DIAGRAM_CLOUDS[staging.cloud].types.database;
    const json = JSON.parse(output.infra.text) as { resource: Record<string, unknown> };
    delete json.resource[dbType];
    expect(() => renderEnvironmentDiagram(staging, { ...output, infra: new Stack(output.infra.name, JSON.stringify(json)) }, envs)).toThrow(/no .* for the database/);
  });

  it("a bucket of another cloud in the stack (issue 14's mixed environments) is drawn as that cloud's, by the same path", () => {
    const other = envs.find((env) => env.cloud !== staging.cloud && env.buckets.length > 0) as Environment;
    const otherType = DIAGRAM_CLOUDS[other.cloud].types.bucket;
    const json = JSON.parse(output.infra.text) as { resource: Record<string, unknown> };
    json.resource[otherType] = (JSON.parse((outputs.get(other.name) as EnvironmentOutput).infra.text) as { resource: Record<string, unknown> }).resource[otherType];
    const text = renderEnvironmentDiagram(staging, { ...output, infra: new Stack(output.infra.name, JSON.stringify(json)) }, envs);
    expect(flowchartProblems(text)).toEqual([]);
    expect(text).toMatch(new RegExp(`bucket_${other.cloud}_\\w+\\[\\("${DIAGRAM_CLOUDS[other.cloud].labels.bucket}<br/>`));
    expect(text).toMatch(new RegExp(`bucket_${staging.cloud}_\\w+\\[\\("${DIAGRAM_CLOUDS[staging.cloud].labels.bucket}<br/>`));
  });

  it("a metrics hub link the apps stack does not carry is an error", () => {
    const sender = envs.find((env) => env.metrics?.sendTo !== undefined) as Environment;
    const hubEnv = envs.find((env) => env.name === sender.metrics?.sendTo?.environment) as Environment;
    const host = hubEnv.apps.find((a) => a.name === "monitoring")?.host as string;
    const senderOutput = outputs.get(sender.name) as EnvironmentOutput;
    const apps = senderOutput.apps as Stack;
    expect(diagrams.get(sender.name)).toContain(`metrics hub https://${host}`);
    expect(() => renderEnvironmentDiagram(sender, { ...senderOutput, apps: new Stack(apps.name, apps.text.split(host).join("elsewhere.example.com")) }, envs)).toThrow(/sends metrics to .*, which the stack does not contain/);
  });

  it("is deterministic: the same output draws the same text", () => {
    const [name, text] = [...diagrams][0];
    const env = envs.find((e) => e.name === name) as Environment;
    const again = readEnvironmentOutput(outdir, env);
    expect(renderEnvironmentDiagram(env, again, envs)).toBe(text);
  });

  it("a missing stack names the command that writes it", () => {
    const env = { ...envs[0], name: "no-such-environment" } as Environment;
    expect(() => readEnvironmentOutput(outdir, env)).toThrow(/no-such-environment-infra\/cdk\.tf\.json is missing: run `npm run synth`, then `npm run docs`/);
    expect(readFileSync(join(outdir, "stacks", `${envs[0].name}-infra`, "cdk.tf.json"), "utf8").length).toBeGreaterThan(0);
  });
});
