/**
 * `npm run promote-diff -- staging prod`: what production would gain compared to staging: the
 * spec fields that differ, and per stack kind (infra, apps) the resources only one side has or
 * configures differently (names normalized, so `staging-` and `prod-` prefixes do not count).
 */
import { join } from "node:path";
import { environments } from "../environments";
import type { Environment } from "../constructs/core/spec";
import { synthesize } from "../stacks/app";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { findEnvironment } from "./find-environment";
import { diffStack, resourcesOf } from "./stack-diff";
import { stackName } from "../stacks/backend";

/** Leaf paths whose values differ between two specs (`from` → `to`). */
export function specDifferences(from: unknown, to: unknown, path = ""): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object";
  if (!isObject(from) || !isObject(to)) {
    return JSON.stringify(from) === JSON.stringify(to) ? [] : [`${path || "(spec)"}: ${JSON.stringify(from)} → ${JSON.stringify(to)}`];
  }
  const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])];
  return keys.flatMap((key) => specDifferences(from[key], to[key], Array.isArray(from) ? `${path}[${key}]` : path ? `${path}.${key}` : key));
}

/** Replaces the environment's name in a synthesized stack so two environments compare by role. */
function normalized(stackJson: string, envName: string): string {
  return stackJson.split(`${envName}-`).join("<env>-").split(`"${envName}"`).join('"<env>"');
}

export function promoteDiff(fromName: string, toName: string): string {
  const from = findEnvironment(fromName);
  const to = findEnvironment(toName);
  const outdir = join(mkdtempSync(join(tmpdir(), "promote-")), "synthesized");
  if (synthesize(environments, outdir) !== 0) throw new Error("synth failed");
  const lines = [`# ${toName} compared to ${fromName}`, "", "## Spec", ""];
  const fields = specDifferences({ ...from, name: undefined }, { ...to, name: undefined });
  lines.push(...(fields.length > 0 ? fields.map((field) => `- ${field}`) : ["(no differences)"]), "");
  for (const kind of ["infra", "apps"] as const) {
    const read = (env: Environment) => {
      const file = join(outdir, "stacks", stackName(env, kind), "cdk.tf.json");
      return existsSync(file) ? resourcesOf(normalized(readFileSync(file, "utf8"), env.name)) : new Map<string, unknown>();
    };
    const diff = diffStack(kind, read(from), read(to));
    lines.push(`## ${kind} stack`, "");
    lines.push(`- only in ${toName}: ${diff.added.length ? diff.added.join(", ") : "none"}`);
    lines.push(`- only in ${fromName}: ${diff.destroyed.length ? diff.destroyed.join(", ") : "none"}`);
    const different = diff.changes.filter((c) => c.action !== "create" && c.action !== "delete").map((c) => c.address);
    lines.push(`- configured differently: ${different.join(", ") || "none"}`, "");
  }
  return lines.join("\n");
}

if (require.main === module) {
  const [fromName, toName] = process.argv.slice(2);
  if (!fromName || !toName) {
    process.stderr.write("usage: npm run promote-diff -- <from env> <to env>   (e.g. staging prod)\n");
    process.exit(2);
  }
  try {
    process.stdout.write(`${promoteDiff(fromName, toName)}\n`);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
}
