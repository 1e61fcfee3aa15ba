import { createHash } from "node:crypto";
import { gcpZoneNames } from "../core/regions";
import type { Environment } from "../core/spec";
import type { GcpApis } from "./apis";
import { gcpLabels } from "./labels";

/** Where an environment lives on GCP, with the naming helpers: names only, no construct (usable from any stack). */
export class GcpNaming {
  readonly region: string;
  readonly projectId: string;
  /** The zones of `network.zones`, in order: zone 0 holds zonal resources outside production. */
  readonly zones: readonly string[];
  /** The environment's tags as GCP labels (see `gcpLabels`). */
  readonly labels: Readonly<Record<string, string>>;

  constructor(readonly env: Environment) {
    const account = env.accounts.gcp;
    if (!account) throw new Error(`environment ${env.name} has no GCP project (the spec check should have caught this)`);
    this.region = account.region;
    this.projectId = account.projectId;
    this.labels = gcpLabels(env);
    // Computed, not read with a google_compute_zones data source, so plans need no API call.
    this.zones = gcpZoneNames(account.region, env.network.zones);
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
   * A project-level custom role id, `<env>_<suffix>`: role ids take letters, digits, `_` and `.`;
   * environment names only add `-` (made `_`), so the id stays unique per environment.
   */
  customRoleId(suffix: string): string {
    return `${this.env.name.replace(/-/g, "_")}_${suffix}`;
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

/** `GcpNaming` with the project's APIs, which the GCP constructs enable on first use (`GcpApis`). */
export class GcpContext extends GcpNaming {
  constructor(env: Environment, readonly apis: GcpApis) {
    super(env);
  }
}
