/**
 * Docs and comments that name files must name files that exist: a Markdown link, or a path
 * (`docs/ingest.md`, `edge/src/queue.ts`, `flag-store.ts`) in a Markdown file or a code comment.
 * A stale name misleads more than none, and nothing else notices one: the compiler checks
 * imports, not prose. `npx tsx scripts/check-references.ts` lists the broken ones;
 * `check-references.test.ts` keeps the tree at none.
 *
 * How a name resolves: a Markdown link's target relative to its file (an `#anchor` must be a
 * heading there); a path relative to the repository root or its file's folder, or as the tail
 * of a file's path (`report/analyse.ts`, `index.ts`): prose names files loosely, so a name only
 * fails when no file could be meant. `.js` names the `.ts` it compiles from (ESM imports).
 * URLs, globs (`*.test.ts`), placeholders (`<name>.ts`), Markdown code blocks, what the tree
 * writes at run time (under an ignored folder such as `.data/`) and the few names of files
 * elsewhere (`ELSEWHERE`) are not checked.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface BrokenReference {
  /** The file that names it, relative to the root. */
  file: string;
  line: number;
  /** The name as written. */
  reference: string;
}

/** Extensions a name must end with to count as a file name (`.js` only with a folder: "Node.js" is not a file). */
const PATH =
  /(?<![\w.@/<>*{}$-])((?:\.{1,2}\/)?(?:[\w.-]+\/)*[\w-][\w.-]*\.(?:tsx?|mjs|md|jsonc?|toml|py|css|js))(?![\w/*-])/g;
const URL = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi;
/** Markdown link targets: `[text](target)` and `[text](target "title")`. */
const MARKDOWN_LINK = /\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
const SOURCE = /\.(?:tsx?|mjs)$/;
const CODE_BLOCK = /^```[\s\S]*?^```/gm;

/** Names of files that are not in the tree, by the file naming them: why each is not a file of ours. */
const ELSEWHERE: Record<string, Record<string, string>> = {
  "control-plane/src/routes/console.ts": { "app.css": "the console's bundle, built at start" },
  "scripts/local-main.ts": { "local.json": "the local system's state file, .data/local.json" },
  "edge/src/streaming/flag-stream-hub.ts": { "transport/stream.js": "a file of the Amplitude SDK" },
  "stats-lambda/src/early-conversions.integration.test.ts": { "DESIGN.md": "the product design, beside the tree" },
};

/** Tracked and new (not ignored) files, relative to `root`. */
export function listFiles(root: string): string[] {
  const out = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], {
    cwd: root,
    encoding: "utf8",
  });
  return out.split("\0").filter((file) => file && existsSync(join(root, file)));
}

/**
 * Strings first, so that a `//` or `/*` inside one is not a comment; what is left of each match
 * is a comment. (A regular-expression literal holding a quote could fool it; none does, and a
 * fooled scan reports a name rather than missing one.)
 */
const STRING_OR_COMMENT = /"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`|(\/\*[\s\S]*?\*\/|\/\/[^\n]*)/g;

/** The text of each comment in a TypeScript source, with the line it starts on. */
export function commentsOf(text: string): { text: string; line: number }[] {
  const comments: { text: string; line: number }[] = [];
  let line = 1;
  let at = 0;
  for (const match of text.matchAll(STRING_OR_COMMENT)) {
    if (match[1] === undefined) continue;
    line += newlines(text, at, match.index!);
    at = match.index!;
    comments.push({ text: match[1], line });
  }
  return comments;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_[\]()]/g, "")
    .replace(/[^\p{L}\p{N} -]/gu, "")
    .replace(/ /g, "-");
}

function headingsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const match of markdown.matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) anchors.add(anchorOf(match[1]!));
  return anchors;
}

/** Every broken reference under `root`, in `files` (all tracked files when absent). */
export function findBrokenReferences(root: string, files = listFiles(root)): BrokenReference[] {
  const known = new Set(files.map((file) => normalize(file)));
  const generated = ignoredFolders(root);
  const exists = (path: string) => known.has(path) || existsSync(join(root, path));
  const broken: BrokenReference[] = [];

  /** Whether `name`, written in `file`, can mean a file of the tree. */
  const resolves = (file: string, name: string): boolean => {
    const candidates = name.endsWith(".js")
      ? [name, name.replace(/\.js$/, ".ts"), name.replace(/\.js$/, ".tsx")]
      : [name];
    return candidates.some((candidate) => {
      const fromFolder = relative(root, resolve(root, dirname(file), candidate));
      if (exists(fromFolder)) return true;
      if (candidate.startsWith(".")) return false;
      if (exists(normalize(candidate))) return true;
      const tail = `/${normalize(candidate)}`;
      for (const path of known) if (path.endsWith(tail)) return true;
      return false;
    });
  };

  const checkPaths = (file: string, text: string, firstLine: number) => {
    const prose = text.replace(URL, (url) => " ".repeat(url.length));
    for (const match of prose.matchAll(PATH)) {
      const name = match[1]!;
      if (name.endsWith(".js") && !name.includes("/")) continue;
      if (generated.some((folder) => normalize(name).startsWith(folder))) continue;
      if (ELSEWHERE[file]?.[name] !== undefined || resolves(file, name)) continue;
      broken.push({ file, line: firstLine + lineOf(prose, match.index!) - 1, reference: name });
    }
  };

  for (const file of files) {
    if (file.endsWith(".md")) {
      const text = readFileSync(join(root, file), "utf8");
      for (const match of text.matchAll(MARKDOWN_LINK)) {
        const target = match[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        const [path, anchor] = target.split("#") as [string, string | undefined];
        const linked = path === "" ? file : relative(root, resolve(root, dirname(file), decodeURI(path)));
        const ok = path === "" || exists(linked) ? true : existsSync(join(root, linked));
        const anchorOk =
          !ok || anchor === undefined || !linked.endsWith(".md")
            ? true
            : headingsOf(readFileSync(join(root, linked), "utf8")).has(anchor);
        if (!ok || !anchorOk) broken.push({ file, line: lineOf(text, match.index!), reference: target });
      }
      const blank = (skipped: string) => skipped.replace(/[^\n]/g, " ");
      checkPaths(file, text.replace(CODE_BLOCK, blank).replace(MARKDOWN_LINK, blank), 1);
    } else if (SOURCE.test(file)) {
      const text = readFileSync(join(root, file), "utf8");
      for (const comment of commentsOf(text)) checkPaths(file, comment.text, comment.line);
    }
  }
  return broken;
}

/** Folders `.gitignore` names (`.data/`, `dist/`): what is under them is written at run time. */
function ignoredFolders(root: string): string[] {
  const gitignore = join(root, ".gitignore");
  if (!existsSync(gitignore)) return [];
  return readFileSync(gitignore, "utf8")
    .split("\n")
    .map((line) => line.trim().replace(/^\//, ""))
    .filter((line) => line.endsWith("/") && !line.startsWith("#"));
}

function newlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === 10) count++;
  return count;
}

const lineOf = (text: string, index: number) => 1 + newlines(text, 0, index);

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const broken = findBrokenReferences(root);
  for (const { file, line, reference } of broken) console.log(`${file}:${line}: no file "${reference}"`);
  process.exitCode = broken.length > 0 ? 1 : 0;
}
