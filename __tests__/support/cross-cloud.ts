import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { parseEnvironments, SpecErrors, type EnvironmentInput } from "../../constructs/core/spec";
import { SpecError } from "../../constructs/core/errors";
import { specChecks, synthesize } from "../../stacks/app";
import { environments } from "../../environments";
import { gitops } from "../../environments/gitops";
import { tempDir } from "./outdir";

/** Synthesizes `specs` together into a fresh directory, as `npm run synth` does, and returns it; throws when synth refuses them. */
export function synthSpecs(specs: readonly EnvironmentInput[], prefix: string): string {
  const outdir = join(tempDir(prefix), "out");
  const status = synthesize(specs, outdir);
  if (status !== 0) throw new Error(`synth exited ${status} (its stderr says why)`);
  return outdir;
}

/** The default environments with the one named like `spec` at `spec`, synthesized with the gitops stack as `npm run synth` does; throws when synth refuses them. */
export function synthAmongDefaults(spec: EnvironmentInput, prefix: string): string {
  const outdir = join(tempDir(prefix), "out");
  const status = synthesize(
    environments.map((env) => ((env as { name: string }).name === (spec as { name: string }).name ? spec : env)),
    outdir,
    gitops,
  );
  if (status !== 0) throw new Error(`synth exited ${status} (its stderr says why)`);
  return outdir;
}

/** The spec problems of `specs` checked together, each as `path: message`; [] when there are none. */
export function specIssues(specs: readonly EnvironmentInput[]): string[] {
  try {
    parseEnvironments(specs, () => undefined, specChecks);
  } catch (error) {
    const errors = error instanceof SpecErrors ? error.errors : error instanceof SpecError ? [error] : undefined;
    if (errors !== undefined) return errors.flatMap((one) => one.issues.map(({ path, message }) => `${path}: ${message}`));
    throw error;
  }
  return [];
}

/** environments/staging-gcp.yaml (the shipped descriptor) as an environment `lake` of its own, home on GCP, without Terraform Cloud or a metrics hub. */
export function stagingGcpAsLake(): Record<string, unknown> & { buckets: Record<string, unknown>[]; databases: Record<string, unknown>[] } {
  const spec = parse(readFileSync(join(__dirname, "..", "..", "environments", "staging-gcp.yaml"), "utf8")) as Record<string, unknown> & { buckets: Record<string, unknown>[]; databases: Record<string, unknown>[] };
  spec.name = "lake";
  delete spec.terraformCloud;
  delete spec.metrics;
  spec.home = "gcp";
  return spec;
}
