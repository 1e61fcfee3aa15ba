import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { environments } from "../../environments";
import { gitops } from "../../environments/gitops";
import { synthesize } from "../../stacks/app";

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

/** Synthesizes every default environment into a fresh directory, as `npm run synth` does. */
export function synthDefaults(): string {
  const outdir = join(tempDir("synth"), "cdktf.out");
  const code = synthesize(environments, outdir, gitops);
  if (code !== 0) throw new Error(`synth of the default environments failed with exit code ${code}`);
  return outdir;
}

/** Names of the synthesized stacks in an output directory. */
export function stackNames(outdir: string): string[] {
  return readdirSync(join(outdir, "stacks")).sort();
}

export function stackJson(outdir: string, stack: string): string {
  return readFileSync(join(outdir, "stacks", stack, "cdk.tf.json"), "utf8");
}

/** Every file below a directory, relative path → content. */
export function readTree(dir: string, prefix = ""): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const relative = join(prefix, entry.name);
    if (entry.isDirectory()) for (const [path, content] of readTree(dir, relative)) files.set(path, content);
    else files.set(relative, readFileSync(join(dir, relative), "utf8"));
  }
  return files;
}

/**
 * A synthesized file (a stack's cdk.tf.json or manifest.json) as parsed JSON, with the framework's
 * version stamp (`"//".metadata.version` in a stack, `version` in the manifest) set aside: the
 * stamp and the JSON's whitespace are all that a framework upgrade may change in the output
 * (issue 13). Terraform ignores both ("//" is a comment key in Terraform JSON).
 */
export function withoutFrameworkStamp(text: string): unknown {
  const json = JSON.parse(text) as { "//"?: { metadata?: { version?: string } }; version?: string; stacks?: unknown };
  const metadata = json["//"]?.metadata;
  if (metadata?.version !== undefined) return { ...json, "//": { ...json["//"], metadata: { ...metadata, version: "<framework>" } } };
  if (json.stacks !== undefined && json.version !== undefined) return { ...json, version: "<framework>" };
  return json;
}
