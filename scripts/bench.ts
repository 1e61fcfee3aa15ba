/**
 * `npm run bench`: side by side in one run, the wall time, CPU time (user + system) and peak
 * memory (max RSS) of
 * - two anchor apps with the same three AWS resources (scripts/bench/): a naive cdktn app that
 *   imports the provider's barrel, and a minimal one with deep imports;
 * - synthesizing every default environment (`npm run synth`, to a temporary directory);
 * - the default environments plus 100 and 200 tenants generated from the fleet template
 *   (scripts/bench/tenants.ts), and `--only` one tenant of the 200;
 * - type-checking the project;
 * each as the median of its runs, with its ratios to the barrel anchor (the median of its ratios to
 * the anchor run of the same round), and issue 12's targets.
 * Everything runs as `npm run synth` does (`node --require tsx/cjs`). Peak memory and CPU come from GNU time
 * (`/usr/bin/time`, Debian package `time`). Timings vary with the machine's load: compare rows
 * of one run, not runs; the rounds keep a row's ratio to runs seconds apart.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const GNU_TIME = "/usr/bin/time";
/** Runs per row; the fleet rows are long, so they run fewer times unless BENCH_FLEET_RUNS says. */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FLEET_RUNS = Number(process.env.BENCH_FLEET_RUNS ?? 1);

interface Sample {
  wall: number;
  cpu: number;
  peakMiB: number;
}

interface Row {
  label: string;
  command: string[];
  runs: number;
  /** Each run writes into a fresh temporary CDKTF_OUTDIR. */
  synth?: boolean;
  /** Issue 12's targets for this row, checked on its medians and its ratios to the anchor. */
  targets?: (median: Sample, ratio: { readonly wall: number; readonly cpu: number }) => string[];
}

function measure(row: Row): Sample {
  const outdir = mkdtempSync(join(tmpdir(), "bench-"));
  try {
    const env = row.synth ? { ...process.env, CDKTF_OUTDIR: join(outdir, "cdktf.out") } : process.env;
    const result = spawnSync(GNU_TIME, ["-f", "BENCH %e %U %S %M", ...row.command], { encoding: "utf8", env, maxBuffer: 64 * 1024 * 1024 });
    const line = /BENCH (\S+) (\S+) (\S+) (\S+)/.exec(result.stderr);
    if (result.status !== 0 || !line) throw new Error(`${row.command.join(" ")} failed:\n${result.stderr}`);
    return { wall: Number(line[1]), cpu: Number(line[2]) + Number(line[3]), peakMiB: Number(line[4]) / 1024 };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

if (!existsSync(GNU_TIME)) {
  console.error(`bench needs GNU time at ${GNU_TIME} for CPU time and peak memory: apt-get install time`);
  process.exit(1);
}
/** How every row runs TypeScript: as `npm run synth` does (package.json), tsx's CommonJS hook in one node process. */
const tsx = [process.execPath, "--require", "tsx/cjs"];
const fleet = (count: number): Row => ({
  label: `default environments + ${count} tenants`,
  command: [...tsx, "scripts/bench/tenants.ts", String(count)],
  runs: FLEET_RUNS,
  synth: true,
  targets: count === 100 ? (m) => [`CPU ${m.cpu.toFixed(1)} s ${m.cpu < 10 ? "<" : ">="} 10 s`, `peak ${m.peakMiB.toFixed(0)} MiB ${m.peakMiB < 600 ? "<" : ">="} 600 MB`] : undefined,
});

/** The first row is the barrel anchor every ratio is relative to. */
const ROWS: Row[] = [
  { label: "anchor: barrel-import cdktn app", command: [...tsx, "scripts/bench/barrel.ts"], runs: RUNS, synth: true },
  { label: "anchor: deep-import cdktn app", command: [...tsx, "scripts/bench/deep.ts"], runs: RUNS, synth: true },
  {
    label: "npm run synth (every environment)",
    command: [...tsx, "main.ts", "synth"],
    runs: RUNS,
    synth: true,
    targets: (_, ratio) => [`wall ${ratio.wall.toFixed(2)}x barrel ${ratio.wall < 0.35 ? "<" : ">="} 0.35x`],
  },
  fleet(100),
  fleet(200),
  {
    label: "--only one tenant of 200",
    command: [...tsx, "scripts/bench/tenants.ts", "200", "--only", "tenant-007"],
    runs: RUNS,
    synth: true,
    targets: (m) => [`wall ${m.wall.toFixed(2)} s ${m.wall < 2 ? "<" : ">="} 2 s`],
  },
  { label: "type-check (tsc --noEmit)", command: [join("node_modules", ".bin", "tsc"), "--noEmit", "-p", "tsconfig.json"], runs: RUNS },
];

console.log(`median of each row's runs on ${process.platform}/${process.arch}, node ${process.version}; CPU is user + system; ratios are to the barrel anchor of the same round`);
console.log(`${"".padEnd(40)} ${"wall".padStart(8)} ${"CPU".padStart(8)} ${"peak".padStart(9)} ${"wall x".padStart(7)} ${"CPU x".padStart(7)}`);
// Rounds, not row after row: each round runs every row once, the anchor first, so a row's ratio
// compares runs seconds apart (this machine's speed drifts by up to 2x within minutes). A row's
// ratio is the median of its per-round ratios; its absolute numbers are the medians of its runs.
const samples = new Map<Row, Sample[]>(ROWS.map((row) => [row, []]));
const rounds = Math.max(...ROWS.map((row) => row.runs));
for (let round = 0; round < rounds; round++) for (const row of ROWS) if (round < row.runs) samples.get(row)?.push(measure(row));
const anchorRuns = samples.get(ROWS[0]) ?? [];
for (const row of ROWS) {
  const runs = samples.get(row) ?? [];
  const m: Sample = { wall: median(runs.map((s) => s.wall)), cpu: median(runs.map((s) => s.cpu)), peakMiB: median(runs.map((s) => s.peakMiB)) };
  const ratioOf = (key: "wall" | "cpu") => median(runs.map((s, round) => s[key] / anchorRuns[round][key]));
  const ratio = { wall: ratioOf("wall"), cpu: ratioOf("cpu") };
  const targets = row.targets?.(m, ratio) ?? [];
  console.log(
    `${row.label.padEnd(40)} ${m.wall.toFixed(2).padStart(6)} s ${m.cpu.toFixed(2).padStart(6)} s ${m.peakMiB.toFixed(0).padStart(5)} MiB ${ratio.wall.toFixed(2).padStart(6)}x ${ratio.cpu.toFixed(2).padStart(6)}x` +
      `   (runs: ${runs.map((s) => s.wall.toFixed(2)).join(", ")} s)${targets.length > 0 ? `  targets: ${targets.join("; ")}` : ""}`,
  );
}
