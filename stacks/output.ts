/**
 * Where `npm run synth` (and `cdktf synth`, see cdktf.json) writes: committed, so Terraform Cloud
 * runs each workspace from its stack's directory without a synth step.
 */
export const COMMITTED_OUTPUT_DIR = "synthesized";
