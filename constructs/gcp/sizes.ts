import type { Size } from "../core/sizes";

/**
 * Neutral sizes on GCP. Nodes are N2 general-purpose machines (Intel, available in every
 * region and for Spot VMs) with the same vCPU/memory shape as the neutral size. Databases are
 * Cloud SQL Enterprise-edition custom tiers of that same shape (`db-custom-<vCPU>-<MiB>`):
 * shared-core tiers (db-f1-micro, db-g1-small) have no SLA and throttle under Airflow's steady
 * scheduler load.
 */
export const GCP_NODE_MACHINE_TYPES: Readonly<Record<Size, string>> = {
  small: "n2-standard-2",
  medium: "n2-standard-4",
  large: "n2-standard-8",
  xlarge: "n2-standard-16",
};

export const GCP_DATABASE_TIERS: Readonly<Record<Size, string>> = {
  small: "db-custom-2-8192",
  medium: "db-custom-4-16384",
  large: "db-custom-8-32768",
  xlarge: "db-custom-16-65536",
};
