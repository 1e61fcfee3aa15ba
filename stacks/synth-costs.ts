/**
 * Two costs of cdktf 0.21's synth that put nothing in the output (issue 12, "Speed"):
 *
 * - `ValidateTerraformVersion` (added for the cloud backend, each import block and each stack with
 *   moved blocks, and for terraform_data: cdktf lib/backends/cloud-backend.js, terraform-resource.js,
 *   importable-resource.js, synthesize/synthesizer.js, terraform-data-resource.js) spawns
 *   `terraform version` on the machine that synthesizes and asks it for >= 1.1, 1.4 or 1.5
 *   (validations/validate-binary-version.js). Every stack already pins
 *   `required_version = ">= 1.11.0"` (stacks/backend.ts), which Terraform itself enforces wherever
 *   it plans and applies (Terraform Cloud, a laptop, CI), so the synth-time check is weaker than
 *   what the output carries, spends a process per check, and made synth need a terraform binary.
 *   That check alone is turned off (its own class, not the binary-version base another check
 *   could use); every other cdktf validation still runs.
 * - Every token records the stack that created it (tokens/private/intrinsic.js, lazy.js, both
 *   `captureStackTrace()`), read only to word an error about that token; under tsx each capture
 *   maps every frame through the source maps. Off unless `CDKTF_TOKEN_STACK_TRACES=1`, for
 *   debugging such an error.
 *
 * Both patch cdktf's own modules when this file loads, before any stack is built; the synthesized
 * JSON is the same byte for byte (stacks.test.ts compares it with the committed output).
 */
// `require` forms: the patches must reach the modules' own exports, not ESM copies of them.
import terraformVersion = require("cdktf/lib/validations/validate-terraform-version");
import stackTrace = require("cdktf/lib/tokens/private/stack-trace");
import { installResolveShortcuts } from "./resolve-costs";

terraformVersion.ValidateTerraformVersion.prototype.validate = () => [];

if (process.env.CDKTF_TOKEN_STACK_TRACES !== "1") stackTrace.captureStackTrace = () => [];

// Two shortcuts in cdktf's token resolver, the same output for a fraction of the time (stacks/resolve-costs.ts).
installResolveShortcuts();

