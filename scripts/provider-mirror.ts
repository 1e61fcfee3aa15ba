/**
 * Mirrors every provider version the synthesized stacks require into a local directory, so the
 * offline terraform check (__tests__/terraform.test.ts) can init every stack from it. Used by the
 * pull-request workflow, where the network is open; `terraform providers mirror` reads a
 * configuration's required_providers, so each provider version gets a one-line configuration.
 *
 *   tsx scripts/provider-mirror.ts <synthesized dir> <mirror dir> [platform]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** `aws` → `hashicorp/aws`, as Terraform resolves a source without a namespace. */
export const fullSource = (source: string): string => (source.includes("/") ? source : `hashicorp/${source}`);

/** Every distinct provider source and version required by the stacks of a synthesized directory. */
export function requiredProviders(synthesizedDir: string): { source: string; version: string }[] {
  const found = new Map<string, { source: string; version: string }>();
  const stacksDir = join(synthesizedDir, "stacks");
  for (const stack of existsSync(stacksDir) ? readdirSync(stacksDir).sort() : []) {
    const file = join(stacksDir, stack, "cdk.tf.json");
    if (!existsSync(file)) continue;
    const config = JSON.parse(readFileSync(file, "utf8")) as { terraform?: { required_providers?: Record<string, { source: string; version: string }> } };
    for (const provider of Object.values(config.terraform?.required_providers ?? {})) {
      const source = fullSource(provider.source);
      found.set(`${source}@${provider.version}`, { source, version: provider.version });
    }
  }
  return [...found.values()].sort((a, b) => `${a.source}@${a.version}`.localeCompare(`${b.source}@${b.version}`));
}

if (require.main === module) {
  const [synthesizedDir, mirrorDir, platform = "linux_amd64"] = process.argv.slice(2);
  if (!synthesizedDir || !mirrorDir) {
    process.stderr.write("usage: tsx scripts/provider-mirror.ts <synthesized dir> <mirror dir> [platform]\n");
    process.exit(2);
  }
  for (const { source, version } of requiredProviders(synthesizedDir)) {
    const dir = mkdtempSync(join(tmpdir(), "provider-mirror-"));
    const name = source.split("/").at(-1) ?? source;
    writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ terraform: { required_providers: { [name]: { source, version } } } }));
    mkdirSync(mirrorDir, { recursive: true });
    process.stderr.write(`mirroring ${source} ${version}\n`);
    execFileSync("terraform", ["providers", "mirror", `-platform=${platform}`, mirrorDir], { cwd: dir, stdio: "inherit" });
  }
}
