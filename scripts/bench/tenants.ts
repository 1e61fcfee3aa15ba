/**
 * Bench entry (npm run bench): every environment of environments/ plus N tenants generated from the
 * shipped fleet's template (environments/tenants.ts), synthesized like `npm run synth` (spec and
 * cross-environment checks, policy pack, gitops stack) into CDKTF_OUTDIR, never synthesized/.
 *
 *   tsx scripts/bench/tenants.ts <count> [--only <environment>]
 *
 * Tenants cycle through AWS, Azure and GCP and through the sizes, each in its own account, in
 * slots 0..count-1 of a /9 pool (256 tenant networks of /17).
 */
import "../../stacks/commonjs-dependencies";
import { fleet, TENANT_SIZES, type Tenant, type TenantSize } from "../../constructs/core/fleet";
import { environments, environmentSource } from "../../environments";
import { gitops } from "../../environments/gitops";
import { tenants } from "../../environments/tenants";
import { synthesize } from "../../stacks/app";
import { runEntryPoint } from "../../stacks/load";

const [countText, onlyFlag, onlyName] = process.argv.slice(2);
const count = Number(countText);
const outdir = process.env.CDKTF_OUTDIR;
if (!Number.isInteger(count) || count < 1 || count > 256 || outdir === undefined || (onlyFlag !== undefined && (onlyFlag !== "--only" || onlyName === undefined))) {
  process.stderr.write("usage: CDKTF_OUTDIR=<tmp dir> tsx scripts/bench/tenants.ts <count 1..256> [--only <environment>]\n");
  process.exit(2);
}

const sizes = Object.keys(TENANT_SIZES) as TenantSize[];
const generated = Array.from({ length: count }, (_, slot): Tenant => {
  const name = `tenant-${String(slot).padStart(3, "0")}`;
  const size = sizes[slot % sizes.length];
  const hex = slot.toString(16).padStart(3, "0");
  switch (slot % 3) {
    case 0:
      return { slot, name, cloud: "aws", account: `5${String(slot).padStart(11, "0")}`, region: "eu-central-1", size };
    case 1:
      return { slot, name, cloud: "azure", account: { subscriptionId: `00000000-0000-4000-8000-000000010${hex}`, tenantId: `00000000-0000-4000-8000-000000020${hex}`, adminGroupObjectId: `00000000-0000-4000-8000-000000030${hex}` }, region: "northeurope", size };
    default:
      return { slot, name, cloud: "gcp", account: `bench-${name}`, region: "europe-west1", size };
  }
});

runEntryPoint(async () => {
  const benchFleet = fleet({ ...tenants.input, pool: "10.128.0.0/9", tenants: generated });
  const inputs = [...environments, ...benchFleet.environments];
  const sourceOf = (index: number) => (index < environments.length ? environmentSource(index) : benchFleet.sourceOf(index - environments.length));
  return synthesize(inputs, outdir, gitops, sourceOf, onlyName === undefined ? {} : { only: [onlyName] });
});
