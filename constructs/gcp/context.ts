import { createHash } from "node:crypto";
import { SpecError } from "../core/errors";
import type { Environment } from "../core/spec";
import type { GcpApis } from "./apis";
import { gcpLabels } from "./labels";

/**
 * Zone letters of the regions whose zones are not a, b, c. Every other region has at least
 * zones a, b and c (Compute Engine "Regions and zones"); zone names are computed here rather
 * than read with a `google_compute_zones` data source, so plans need no API call.
 */
const ZONE_LETTERS: Readonly<Record<string, readonly string[]>> = {
  "europe-west1": ["b", "c", "d"],
  "us-central1": ["a", "b", "c", "f"],
  "us-east1": ["b", "c", "d"],
};
const DEFAULT_ZONE_LETTERS = ["a", "b", "c"] as const;

/** Where an environment lives on GCP, with the naming helpers every GCP construct needs. */
export class GcpContext {
  readonly region: string;
  readonly projectId: string;
  /** The zones of `network.zones`, in order: zone 0 holds zonal resources outside production. */
  readonly zones: readonly string[];
  /** The environment's tags as GCP labels (see `gcpLabels`). */
  readonly labels: Readonly<Record<string, string>>;

  constructor(readonly env: Environment, readonly apis: GcpApis) {
    const account = env.accounts.gcp;
    if (!account) throw new Error(`environment ${env.name} has no GCP project (the spec check should have caught this)`);
    this.region = account.region;
    this.projectId = account.projectId;
    this.labels = gcpLabels(env);
    const letters = ZONE_LETTERS[account.region] ?? DEFAULT_ZONE_LETTERS;
    if (env.network.zones > letters.length) {
      throw new SpecError(env.name, [
        {
          path: "network.zones",
          message: `given ${env.network.zones}; accepted: at most ${letters.length} in ${account.region} (zones ${letters.join(", ")})`,
        },
      ]);
    }
    this.zones = letters.slice(0, env.network.zones).map((letter) => `${account.region}-${letter}`);
  }

  /** Prefix for every resource name in this environment. */
  name(...parts: string[]): string {
    return [this.env.name, ...parts].join("-");
  }

  /** The project's Workload Identity pool, shared by every GKE cluster in the project. */
  get workloadPool(): string {
    return `${this.projectId}.svc.id.goog`;
  }

  /**
   * A short, stable hash of the project id (8 hex characters): keeps globally unique names
   * (buckets) of two organisations apart without publishing the project id in them.
   */
  get projectHash(): string {
    return createHash("sha256").update(this.projectId).digest("hex").slice(0, 8);
  }

  /**
   * A service account id from the environment name and `parts`: `<env>-<parts>`. Service
   * account ids take 6 to 30 lowercase letters, digits and '-'; environment names are at most
   * 16 characters, so callers keep `parts` to 13 characters (an app name is at most 10).
   */
  serviceAccountId(...parts: string[]): string {
    const id = this.name(...parts);
    if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(id)) throw new RangeError(`not a valid service account id: ${id} (6 to 30 characters)`);
    return id;
  }
}
