/**
 * A Mermaid `flowchart`, written and checked against the rules of Mermaid's own parser, which is
 * what GitHub runs on a ```mermaid block of a Markdown file (README "Pictures of each
 * environment"). The tests run that parser (the devDependency `mermaid`, under `jsdom`) on every
 * diagram; the rules below are what `npm run docs` checks before writing, without that package,
 * including what the parser accepts but garbles (a quote in a label, a link to an undeclared id).
 * They are encoded from the grammar at a pinned version and each is tested with a case it must
 * reject (__tests__/diagrams.test.ts):
 *
 *   mermaid-js/mermaid, tag mermaid@11.14.0 (commit 2b9d054d622101a727b03c5d47a15f3bd98125fa),
 *   packages/mermaid/src/diagrams/flowchart/parser/flow.jison
 *
 * We write a small subset: `flowchart LR`, `subgraph <id>["title"]` ... `end`, nodes
 * `<id><open>"label"<close>` in five shapes, and links `<id> --> <id>` / `<id> -.-> <id>` with an
 * optional `|"label"|`. What the grammar says about that subset:
 * - The lexer is Jison's, first rule wins (no `%options flex`), and the keyword rules come before
 *   NODE_STRING. jison-lex ends a literal rule that ends in a word character with `\b` (the
 *   generated lexer in the npm package mermaid@11.14.0, dist/chunks/mermaid.core/flowDiagram-*.mjs,
 *   has `/^(?:class\b)/`, `/^(?:graph\b)/`, `/^(?:end\b\s*)/`), so `classA` is one NODE_STRING
 *   but an id that IS `graph`, `flowchart`, `subgraph`, `style`, `linkStyle`, `classDef`,
 *   `class`, `interpolate`, `end` or a LINK_TARGET (`_self`, `_blank`, `_parent`, `_top`) is
 *   lexed as that keyword before the `[` of its label and fails to parse
 *   (flow-singlenode.spec.js at the same tag: "should throw error at nodes beginning with %s",
 *   with `.`, `-` or `/` after the keyword). `default` is an idStringToken and parses; `click`,
 *   `call` and `href` are keywords when white space follows (`"click"[\s]+`), which a link line
 *   `click --> b` gives them: `call`/`href` fail there and `click` silently drops the link.
 *   Ids here are therefore `[A-Za-z][A-Za-z0-9_]*` (a letter start keeps NUM from splitting them;
 *   `-` and `.` can start a link) and none of those words.
 * - A quoted label is lexed by `<string>[^"]+` up to the next `"`: a `"` cannot be inside it
 *   (`a["say "x""]` parses as the label `say x`), Mermaid's escapes are entity codes (`#quot;`,
 *   `#35;`), so `#` is not allowed either, and "`" right after the opening quote starts a
 *   Markdown string (`<*>["][`]`).
 * - `.*direction\s+(TB|BT|RL|LR|TD)[^\n]*` is tried before anything else on a line (it is an
 *   INITIAL rule matched at the line's start, ahead of the quote that opens a label), so no line
 *   but a direction statement may contain such text: `a["direction LR"]` parses, without node a.
 * - Mermaid removes lines starting with `%%` before parsing (diagram-api/comments.ts
 *   `cleanupComments`); `%%` is kept out of labels altogether, so no wrapping can make one. Labels are HTML
 *   (htmlLabels, sanitized): `<`, `>` and `&` are markup, so labels here are plain text and line
 *   breaks are the only markup, written `<br/>` by the renderer (flow-text.spec.js at the same tag
 *   parses `<br>` inside labels).
 * - A subgraph's id must not be a node's id: flowDb.ts `getData()` keeps one parent per id
 *   (`parentDB.set(id, subGraph.id)`), so a node sharing its subgraph's id becomes its own parent.
 * - A link may name an id no statement declared (Mermaid then draws a box labelled with the id);
 *   that is always a bug of ours, so it is rejected here.
 *
 * The consequences quoted above (a parse error, a dropped link or node, a mangled label) were
 * observed with the real parser, `mermaid.parse` and the flowchart's FlowDB of mermaid@11.14.0.
 */

export type Direction = "LR" | "TB";

/** Shapes and their brackets (flow.jison `vertex`: SQS/SQE, CYLINDERSTART/END, STADIUMSTART/END, double DIAMOND_START/STOP, SUBROUTINESTART/END). */
export const SHAPES = {
  box: ["[", "]"],
  cylinder: ["[(", ")]"],
  stadium: ["([", "])"],
  hexagon: ["{{", "}}"],
  subroutine: ["[[", "]]"],
} as const;
export type Shape = keyof typeof SHAPES;

export interface FlowNode {
  readonly kind: "node";
  readonly id: string;
  /** Lines of plain text, joined with `<br/>`. */
  readonly lines: readonly string[];
  readonly shape: Shape;
}

export interface FlowSubgraph {
  readonly kind: "subgraph";
  readonly id: string;
  readonly title: string;
  readonly children: readonly (FlowNode | FlowSubgraph)[];
}

export interface FlowLink {
  readonly from: string;
  readonly to: string;
  readonly label?: string;
  readonly dotted?: boolean;
}

/** Words that the lexer takes as a keyword when an id starts with them (see the file comment). */
const KEYWORDS = ["graph", "flowchart", "subgraph", "style", "linkStyle", "classDef", "class", "interpolate", "end", "_self", "_blank", "_parent", "_top"] as const;
const KEYWORD_BEFORE_SPACE = ["click", "call", "href"] as const;
const DIRECTION_TEXT = /direction\s+(TB|BT|RL|LR|TD)/;

/** Why `id` cannot be a node or subgraph id, or undefined. */
export function idProblem(id: string): string | undefined {
  if ((KEYWORDS as readonly string[]).includes(id)) return `id "${id}" is the keyword ${id} (flow.jison lexes "${id}"\\b before NODE_STRING${id === "end" ? "; end closes a subgraph" : ""})`;
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(id)) return `id "${id}" is not [A-Za-z][A-Za-z0-9_]* (flow.jison: NUM, "-", "." and spaces split or end an id)`;
  if ((KEYWORD_BEFORE_SPACE as readonly string[]).includes(id)) return `id "${id}" is the keyword ${id} when a space follows it, as in a link line (flow.jison: "${id}"[\\s]+)`;
  return undefined;
}

/** Why `text` cannot be one line of a quoted label, or undefined. */
export function labelProblem(text: string): string | undefined {
  if (text.trim() === "") return "an empty label line";
  const bad = /["#`<>&\r\n]/.exec(text);
  if (bad) return `label "${text}" contains ${JSON.stringify(bad[0])} (a quote ends the string, # starts an entity code, \` a Markdown string, <>& are HTML)`;
  if (text.includes("%%")) return `label "${text}" contains %% (a Mermaid comment)`;
  if (DIRECTION_TEXT.test(text)) return `label "${text}" contains a direction statement (flow.jison: .*direction\\s+.. matches the whole line)`;
  return undefined;
}

const quoted = (lines: readonly string[]) => `"${lines.join("<br/>")}"`;

/**
 * The flowchart's text, or an Error listing every rule it would break: nodes and subgraphs in the
 * given order (callers sort them), then the links.
 */
export function renderFlowchart(direction: Direction, items: readonly (FlowNode | FlowSubgraph)[], links: readonly FlowLink[]): string {
  // Ids and labels first, by themselves: a bad label can make the line unreadable as a whole.
  const given: string[] = [];
  const inspect = (item: FlowNode | FlowSubgraph) => {
    given.push(...[idProblem(item.id), ...(item.kind === "node" ? item.lines : [item.title]).map(labelProblem)].filter((p): p is string => p !== undefined));
    if (item.kind === "subgraph") item.children.forEach(inspect);
  };
  items.forEach(inspect);
  for (const link of links) if (link.label !== undefined) given.push(...[labelProblem(link.label)].filter((p): p is string => p !== undefined));
  if (given.length > 0) throw new Error(`invalid Mermaid flowchart:\n${given.join("\n")}`);
  const out = [`flowchart ${direction}`];
  const write = (item: FlowNode | FlowSubgraph, depth: number) => {
    const indent = "  ".repeat(depth);
    if (item.kind === "node") {
      const [open, close] = SHAPES[item.shape];
      out.push(`${indent}${item.id}${open}${quoted(item.lines)}${close}`);
      return;
    }
    out.push(`${indent}subgraph ${item.id}[${quoted([item.title])}]`);
    for (const child of item.children) write(child, depth + 1);
    out.push(`${indent}end`);
  };
  for (const item of items) write(item, 1);
  for (const link of links) out.push(`  ${link.from} ${link.dotted ? "-.->" : "-->"}${link.label === undefined ? "" : `|${quoted([link.label])}|`} ${link.to}`);
  const text = `${out.join("\n")}\n`;
  const problems = flowchartProblems(text);
  if (problems.length > 0) throw new Error(`invalid Mermaid flowchart:\n${problems.join("\n")}`);
  return text;
}

const ID = String.raw`([A-Za-z0-9_]+)`;
const LABEL = String.raw`"([^"]*)"`;
const SHAPE_PATTERNS = Object.entries(SHAPES).map(([, [open, close]]) => `${open.replace(/[[\](){}]/g, "\\$&")}${LABEL}${close.replace(/[[\](){}]/g, "\\$&")}`);
const NODE_LINE = new RegExp(String.raw`^\s*${ID}(?:${SHAPE_PATTERNS.join("|")})$`);
const SUBGRAPH_LINE = new RegExp(String.raw`^\s*subgraph ${ID}\[${LABEL}\]$`);
const LINK_LINE = new RegExp(String.raw`^\s*${ID} (?:-->|-\.->)(?:\|${LABEL}\|)? ${ID}$`);

/**
 * Every rule of the file comment that `text` breaks, reading it as the subset we write: a problem
 * names the line. Used on every diagram we render, and by the tests on cases that must fail.
 */
export function flowchartProblems(text: string): string[] {
  const problems: string[] = [];
  const lines = text.replace(/\n$/, "").split("\n");
  if (!/^flowchart (LR|TB)$/.test(lines[0] ?? "")) problems.push(`line 1: "${lines[0]}" is not "flowchart LR" or "flowchart TB"`);
  const nodes = new Set<string>();
  const subgraphs = new Set<string>();
  const linked: { line: number; ids: string[] }[] = [];
  let depth = 0;
  const checkLabel = (number: number, label: string) => {
    for (const part of label.split("<br/>")) {
      const problem = labelProblem(part);
      if (problem) problems.push(`line ${number}: ${problem}`);
    }
  };
  const checkId = (number: number, id: string, declared?: Set<string>) => {
    const problem = idProblem(id);
    if (problem) problems.push(`line ${number}: ${problem}`);
    if (declared?.has(id) === true) problems.push(`line ${number}: id "${id}" is declared twice`);
  };
  lines.slice(1).forEach((line, index) => {
    const number = index + 2;
    if (line.trim() === "end") {
      depth -= 1;
      if (depth < 0) problems.push(`line ${number}: end without a subgraph`);
      return;
    }
    const subgraph = SUBGRAPH_LINE.exec(line);
    if (subgraph) {
      checkId(number, subgraph[1], subgraphs);
      subgraphs.add(subgraph[1]);
      checkLabel(number, subgraph[2]);
      depth += 1;
      return;
    }
    const node = NODE_LINE.exec(line);
    if (node) {
      checkId(number, node[1], nodes);
      nodes.add(node[1]);
      checkLabel(number, node.slice(2).find((label) => label !== undefined) ?? "");
      return;
    }
    const link = LINK_LINE.exec(line);
    if (link) {
      if (link[2] !== undefined) checkLabel(number, link[2]);
      linked.push({ line: number, ids: [link[1], link[3]] });
      return;
    }
    problems.push(`line ${number}: "${line}" is none of: subgraph <id>["title"], end, <id><shape>"label"<shape>, <id> --> <id>, <id> -.-> <id>, with an optional |"label"|`);
  });
  if (depth > 0) problems.push(`${depth} subgraph${depth === 1 ? "" : "s"} without end`);
  for (const id of nodes) if (subgraphs.has(id)) problems.push(`id "${id}" is both a subgraph and a node (flowDb.ts getData: one parentDB entry per id)`);
  for (const { line, ids } of linked) for (const id of ids) if (!nodes.has(id)) problems.push(`line ${line}: link to "${id}", which no node statement declares`);
  return problems;
}
