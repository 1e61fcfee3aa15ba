import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLOUDS, monitoringHost, parseEnvironments, type Cloud } from "../constructs/core/spec";
import { environments } from "../environments";
import { tempDir } from "./support/outdir";
import { MODULE_SYNTAX, withoutInlineSourceMap } from "../stacks/commonjs-dependencies";

/** Each cloud's provider bindings, the largest modules a synth loads. */
const PROVIDER: Readonly<Record<Cloud, string>> = { aws: "@cdktf/provider-aws", azure: "@cdktf/provider-azurerm", gcp: "@cdktf/provider-google" };
const GRAFANA_SDK = "@grafana/grafana-foundation-sdk";

/** The npm packages `npm run synth -- <args>` loads (package.json: `node --require tsx/cjs main.ts synth`). */
function packagesLoadedBySynth(args: readonly string[]): string[] {
  const root = join(__dirname, "..");
  const result = spawnSync(process.execPath, ["--require", "tsx/cjs", "--require", join(__dirname, "fixtures", "loaded-packages.cjs"), "main.ts", "synth", ...args], { encoding: "utf8", cwd: root });
  expect(result.stderr).toMatch(/^LOADED_PACKAGES /m);
  expect(result.status).toBe(0);
  return JSON.parse(/^LOADED_PACKAGES (.*)$/m.exec(result.stderr)?.[1] ?? "[]") as string[];
}

// constructs/platform.ts loads a cloud's constructs when an environment of that cloud is built,
// and each cloud's spec checks import only its facts.ts; panels.ts loads the Grafana SDK for a
// dashboard. A static import of a construct file from a spec check (or of the SDK) would load
// every cloud's bindings for every synth again: issue 12's `--only` speed.
describe("synth --only loads the bindings of the environment's cloud only", () => {
  const envs = parseEnvironments(environments);
  const firstOfEachCloud = CLOUDS.flatMap((cloud) => envs.filter((env) => env.cloud === cloud).slice(0, 1));
  it.each(firstOfEachCloud.map((env) => [env.name, env] as const))("%s", (name, env) => {
    const loaded = packagesLoadedBySynth(["--only", name, "--outdir", join(tempDir("only"), "cdktf.out")]);
    expect(CLOUDS.filter((cloud) => loaded.includes(PROVIDER[cloud]))).toEqual([env.cloud]);
    expect(loaded.includes(GRAFANA_SDK)).toBe(monitoringHost(env) !== undefined);
  });
});

describe("dependencies compiled without tsx (stacks/commonjs-dependencies.ts)", () => {
  it("lose only a last line that is wholly an inline source map comment", () => {
    const map = "//# sourceMappingURL=data:application/json;charset=utf-8;base64,eyJ2ZXJzaW9uIjozfQ==";
    expect(withoutInlineSourceMap(`exports.a = 1;\n${map}\n`)).toBe("exports.a = 1;\n");
    // Code that merely ends with the marker text (a template literal, a block comment) is kept whole.
    for (const source of [`const s = \`\n${map}\`;`, `/*\n${map} */`, `exports.a = 1;\n${map}\nexports.b = 2;`]) expect(withoutInlineSourceMap(source)).toBe(source);
  });

  it("leave a file with ES module syntax to tsx, which converts it", () => {
    expect(["export const a = 1;", "import x from 'y';", "  export { a };", "import*as x from 'y'"].map((source) => MODULE_SYNTAX.test(source))).toEqual([true, true, true, true]);
    expect(["exports.a = 1;", "Object.defineProperty(exports, 'a', {});", "const importer = require('x');", "module.exports = { exported: 1 };"].map((source) => MODULE_SYNTAX.test(source))).toEqual([false, false, false, false]);
  });
});
