/**
 * Two costs of cdktn 0.24's synth that put nothing in the output (issue 12, "Speed"; issue 13):
 *
 * - `ValidateTerraformVersion` (added for the cloud backend, each import block and each stack with
 *   moved blocks, and for terraform_data: cdktn lib/backends/cloud-backend.js, terraform-resource.js,
 *   importable-resource.js, synthesize/synthesizer.js, terraform-data-resource.js) spawns
 *   `terraform version` on the machine that synthesizes and asks it for >= 1.1, 1.4 or 1.5
 *   (validations/validate-binary-version.js). Every stack already pins
 *   `required_version = ">= 1.11.0"` (stacks/backend.ts), which Terraform itself enforces wherever
 *   it plans and applies (Terraform Cloud, a laptop, CI), so the synth-time check is weaker than
 *   what the output carries, spends a process per check, and made synth need a terraform binary.
 *   That check alone is turned off (its own class, not the binary-version base another check
 *   could use); every other cdktn validation still runs. (cdktn's synthesizer.js marks the same
 *   probe as a TODO, to move to declared target versions.)
 * - Every token records the stack that created it (tokens/private/stack-trace.js
 *   `captureCreationStack`), read only to word an error about that token; under tsx each capture
 *   maps every frame through the source maps. cdktn's own switch, `CDKTN_DISABLE_CREATION_STACK`,
 *   is on unless the environment sets it: `CDKTN_DISABLE_CREATION_STACK=0` records them again, for
 *   debugging such an error.
 *
 * Both apply when this file loads, before any stack is built; the synthesized JSON is the same
 * byte for byte (synth-costs.test.ts compares it with the committed output).
 */
// `require` form: the patch must reach the module's own export, not an ESM copy of it.
import terraformVersion = require("cdktn/lib/validations/validate-terraform-version");
import { installResolveShortcuts } from "./resolve-costs";

terraformVersion.ValidateTerraformVersion.prototype.validate = () => [];

process.env.CDKTN_DISABLE_CREATION_STACK ??= "1";

// Two shortcuts in cdktn's token resolver, the same output for a fraction of the time (stacks/resolve-costs.ts).
installResolveShortcuts();
