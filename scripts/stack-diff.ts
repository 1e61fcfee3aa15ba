/**
 * What a change to the synthesized Terraform does, per stack, computed from the JSON of the base
 * and the head (no cloud access): resources added, changed, destroyed, and replaced (a
 * replace-forcing attribute changed, or the address moved). A destroyed or replaced stateful
 * resource (database, bucket, cluster, key, vault, zone) is an error unless allowed.
 *
 *   tsx scripts/stack-diff.ts <base synthesized dir> <head synthesized dir> [--allow-stateful]
 *
 * Prints a Markdown summary (for the pull request's job summary) and exits 1 on a refused
 * stateful change.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AWS_STATEFUL_TYPES } from "../constructs/aws";
import { AZURE_STATEFUL_TYPES } from "../constructs/azure";
import { GCP_STATEFUL_TYPES } from "../constructs/gcp";
import type { StatefulResourceTypes } from "../constructs/core/interfaces";

export const STATEFUL_TYPES: StatefulResourceTypes = { ...AWS_STATEFUL_TYPES, ...AZURE_STATEFUL_TYPES, ...GCP_STATEFUL_TYPES };

type Resources = ReadonlyMap<string, unknown>;

export interface StackDiff {
  readonly stack: string;
  readonly added: string[];
  readonly changed: string[];
  readonly destroyed: string[];
  /** `address (why)` */
  readonly replaced: string[];
  /** Destroyed or replaced stateful resources. */
  readonly stateful: string[];
}

/** Resources of a synthesized stack by Terraform address, without cdktf's metadata. */
export function resourcesOf(stackJson: string): Resources {
  const parsed = JSON.parse(stackJson) as { resource?: Record<string, Record<string, Record<string, unknown>>> };
  const resources = new Map<string, unknown>();
  for (const [type, byName] of Object.entries(parsed.resource ?? {})) {
    for (const [name, config] of Object.entries(byName)) {
      const { "//": _metadata, ...rest } = config;
      resources.set(`${type}.${name}`, rest);
    }
  }
  return resources;
}

const typeOf = (address: string) => address.slice(0, address.indexOf("."));

function attribute(config: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((node, key) => (node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined), config);
}

/** Compares one stack's resources before and after. */
export function diffStack(stack: string, base: Resources, head: Resources): StackDiff {
  const added = [...head.keys()].filter((address) => !base.has(address)).sort();
  const destroyed = [...base.keys()].filter((address) => !head.has(address)).sort();
  const changed: string[] = [];
  const replaced: string[] = [];
  for (const [address, config] of head) {
    if (!base.has(address) || JSON.stringify(base.get(address)) === JSON.stringify(config)) continue;
    const forcing = (STATEFUL_TYPES[typeOf(address)] ?? []).filter((path) => JSON.stringify(attribute(base.get(address), path)) !== JSON.stringify(attribute(config, path)));
    if (forcing.length > 0) replaced.push(`${address} (${forcing.join(", ")} changed)`);
    else changed.push(address);
  }
  // A construct renamed or moved: its old address is destroyed while one of the same type appears.
  for (const address of destroyed) {
    const successor = added.find((candidate) => typeOf(candidate) === typeOf(address));
    if (successor !== undefined) replaced.push(`${address} (address changed, now ${successor}: add a moved block or keep the construct id)`);
  }
  const stateful = [
    ...destroyed.filter((address) => typeOf(address) in STATEFUL_TYPES).map((address) => `${address} destroyed`),
    ...replaced.filter((entry) => typeOf(entry) in STATEFUL_TYPES && !entry.includes("address changed")).map((entry) => `${entry.split(" ")[0]} replaced`),
  ];
  return { stack, added, changed: changed.sort(), destroyed, replaced: replaced.sort(), stateful };
}

function stacksIn(dir: string): Map<string, Resources> {
  const stacksDir = join(dir, "stacks");
  const stacks = new Map<string, Resources>();
  if (!existsSync(stacksDir)) return stacks;
  for (const stack of readdirSync(stacksDir).sort()) {
    const file = join(stacksDir, stack, "cdk.tf.json");
    if (existsSync(file)) stacks.set(stack, resourcesOf(readFileSync(file, "utf8")));
  }
  return stacks;
}

/** Diffs every stack of two synthesized directories; stacks only on one side count whole. */
export function diffDirectories(baseDir: string, headDir: string): StackDiff[] {
  const base = stacksIn(baseDir);
  const head = stacksIn(headDir);
  const names = [...new Set([...base.keys(), ...head.keys()])].sort();
  return names.map((stack) => diffStack(stack, base.get(stack) ?? new Map(), head.get(stack) ?? new Map()));
}

const list = (items: readonly string[]) => (items.length === 0 ? "" : items.map((item) => `\`${item}\``).join("<br>"));

export function renderSummary(diffs: readonly StackDiff[], allowStateful: boolean): string {
  const touched = diffs.filter((d) => d.added.length + d.changed.length + d.destroyed.length + d.replaced.length > 0);
  const stateful = diffs.flatMap((d) => d.stateful.map((entry) => `${d.stack}: ${entry}`));
  const lines = ["## Terraform changes by stack", ""];
  if (touched.length === 0) lines.push("No resource changes.");
  else {
    lines.push("| stack | added | changed | destroyed | replaced |", "| --- | --- | --- | --- | --- |");
    for (const d of touched) lines.push(`| ${d.stack} | ${d.added.length} | ${d.changed.length} | ${d.destroyed.length} | ${d.replaced.length} |`);
    for (const d of touched.filter((t) => t.replaced.length + t.destroyed.length > 0)) {
      lines.push("", `### ${d.stack}`, "", `Replaced: ${list(d.replaced) || "none"}`, "", `Destroyed: ${list(d.destroyed) || "none"}`);
    }
  }
  if (stateful.length > 0) {
    lines.push(
      "",
      allowStateful ? "> [!WARNING]" : "> [!CAUTION]",
      `> ${allowStateful ? "Allowed by label" : "Refused"}: this change destroys or replaces stateful resources (data is lost):`,
      ...stateful.map((entry) => `> - \`${entry}\``),
      ...(allowStateful ? [] : ["> Add the `allow-stateful-replacement` label if this is intended."]),
    );
  }
  return `${lines.join("\n")}\n`;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const allowStateful = args.includes("--allow-stateful");
  const [baseDir, headDir] = args.filter((arg) => !arg.startsWith("--"));
  if (!baseDir || !headDir) {
    process.stderr.write("usage: tsx scripts/stack-diff.ts <base synthesized dir> <head synthesized dir> [--allow-stateful]\n");
    process.exit(2);
  }
  const diffs = diffDirectories(baseDir, headDir);
  process.stdout.write(renderSummary(diffs, allowStateful));
  if (!allowStateful && diffs.some((d) => d.stateful.length > 0)) process.exitCode = 1;
}
