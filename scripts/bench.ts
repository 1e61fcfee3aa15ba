/**
 * `npm run bench`: median of 3 runs of the wall time and peak memory (max RSS) of
 * synthesizing every default environment, and of type-checking the project.
 * Peak memory comes from GNU time (`/usr/bin/time`, Debian package `time`).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const RUNS = 3;
const GNU_TIME = "/usr/bin/time";

interface Sample {
  seconds: number;
  peakMiB: number;
}

function measure(command: string[], env: NodeJS.ProcessEnv = process.env): Sample {
  const result = spawnSync(GNU_TIME, ["-f", "BENCH %e %M", ...command], { encoding: "utf8", env });
  const line = /BENCH (\S+) (\S+)/.exec(result.stderr);
  if (result.status !== 0 || !line) throw new Error(`${command.join(" ")} failed:\n${result.stderr}`);
  return { seconds: Number(line[1]), peakMiB: Number(line[2]) / 1024 };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function bench(label: string, command: string[], env?: NodeJS.ProcessEnv): void {
  const samples = Array.from({ length: RUNS }, () => measure(command, env));
  const seconds = median(samples.map((s) => s.seconds));
  const peak = median(samples.map((s) => s.peakMiB));
  console.log(`${label.padEnd(44)} ${seconds.toFixed(2).padStart(6)} s ${peak.toFixed(0).padStart(6)} MiB   (runs: ${samples.map((s) => s.seconds.toFixed(2)).join(", ")} s)`);
}

if (!existsSync(GNU_TIME)) {
  console.error(`bench needs GNU time at ${GNU_TIME} for peak memory: apt-get install time`);
  process.exit(1);
}
const bin = (name: string) => join("node_modules", ".bin", name);
const outdir = mkdtempSync(join(tmpdir(), "bench-"));
console.log(`median of ${RUNS} runs on ${process.platform}/${process.arch}, node ${process.version}`);
bench("synth all default environments (npm run synth)", [bin("tsx"), "main.ts", "synth"], { ...process.env, CDKTF_OUTDIR: join(outdir, "cdktf.out") });
bench("type-check (tsc --noEmit)", [bin("tsc"), "--noEmit", "-p", "tsconfig.json"]);
