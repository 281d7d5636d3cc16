/**
 * A project as a folder of YAML files: `project.yaml` (key, name, deployments) and one file per resource,
 * `flags/<key>.yaml`, `metrics/<key>.yaml`, `groups/<key>.yaml`. Reading checks every file against its schema and
 * names the file and field of any error. Writing leaves a file whose content did not change untouched and edits a
 * changed one in place, so comments someone wrote in it survive an export.
 */
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Document, isMap, isScalar, isSeq, parseDocument, type Node } from "yaml";
import type * as z from "zod";
import { CliError } from "./client.js";
import {
  deepEqual,
  FILE_SCHEMAS,
  FOLDERS,
  forFile,
  projectFileSchema,
  RESOURCE_KINDS,
  type ProjectFile,
  type ResourceKind,
} from "./resources.js";

export interface FolderResource {
  /** Relative to the folder, e.g. `flags/checkout.yaml`. */
  file: string;
  value: Record<string, unknown>;
}

export interface ProjectFolder {
  project: ProjectFile | undefined;
  resources: Record<ResourceKind, Map<string, FolderResource>>;
}

const YAML_FILE = /\.ya?ml$/;
const STRINGIFY = { lineWidth: 0 } as const;

function parseFile(file: string, text: string, schema: z.ZodType): Record<string, unknown> {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new CliError(`${file}: ${doc.errors[0]!.message}`);
  const parsed = schema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
    throw new CliError(`${file}${at}: ${issue.message}`);
  }
  return parsed.data as Record<string, unknown>;
}

async function filesIn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => YAML_FILE.test(name)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

export async function readFolder(dir: string): Promise<ProjectFolder> {
  let project: ProjectFile | undefined;
  try {
    project = parseFile("project.yaml", await readFile(join(dir, "project.yaml"), "utf8"), projectFileSchema) as never;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const resources = {} as ProjectFolder["resources"];
  for (const kind of RESOURCE_KINDS) {
    const found = new Map<string, FolderResource>();
    for (const name of await filesIn(join(dir, FOLDERS[kind]))) {
      const file = `${FOLDERS[kind]}/${name}`;
      const value = parseFile(file, await readFile(join(dir, file), "utf8"), FILE_SCHEMAS[kind]);
      const key = String(value["key"]);
      if (name.replace(YAML_FILE, "") !== key)
        throw new CliError(`${file}: holds ${kind} '${key}': name it ${key}.yaml`);
      found.set(key, { file, value });
    }
    resources[kind] = found;
  }
  return { project, resources };
}

/** `node` edited to hold `value`, keeping the comments on every key and item that stays. */
function update(doc: Document, node: unknown, value: unknown): unknown {
  if (isMap(node) && typeof value === "object" && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const pair of [...node.items]) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (!(key in record)) node.delete(pair.key);
    }
    for (const [key, item] of Object.entries(record)) {
      const existing = node.get(key, true);
      node.set(key, existing === undefined ? doc.createNode(item) : update(doc, existing, item));
    }
    return node;
  }
  if (isSeq(node) && Array.isArray(value)) {
    value.forEach((item, index) => {
      const existing = node.get(index, true);
      if (existing === undefined) node.add(doc.createNode(item));
      else node.set(index, update(doc, existing, item));
    });
    while (node.items.length > value.length) node.delete(node.items.length - 1);
    return node;
  }
  if (isScalar(node) && (value === null || typeof value !== "object")) {
    node.value = value;
    return node;
  }
  const created = doc.createNode(value) as Node;
  const old = node as Node;
  if (old.commentBefore) created.commentBefore = old.commentBefore;
  if (old.comment) created.comment = old.comment;
  return created;
}

/** The text to write for `value`, given what the file holds now (undefined: unchanged, keep the file). */
function fileText(current: string | undefined, value: Record<string, unknown>, schema: z.ZodType): string | undefined {
  if (current !== undefined) {
    const doc = parseDocument(current);
    if (doc.errors.length === 0) {
      const held = schema.safeParse(doc.toJS() ?? {});
      if (held.success && deepEqual(held.data, schema.parse(value))) return undefined;
      doc.contents = update(doc, doc.contents, value) as never;
      const text = doc.toString(STRINGIFY);
      if (deepEqual(parseDocument(text).toJS(), value)) return text;
    }
  }
  return new Document(value).toString(STRINGIFY);
}

export interface ExportedFolder {
  written: string[];
  unchanged: string[];
  removed: string[];
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Writes the project into `dir`; a resource file whose resource is gone from the project is removed. */
export async function writeFolder(
  dir: string,
  project: ProjectFile,
  resources: Record<ResourceKind, Record<string, unknown>[]>,
): Promise<ExportedFolder> {
  const result: ExportedFolder = { written: [], unchanged: [], removed: [] };
  const write = async (file: string, value: Record<string, unknown>, schema: z.ZodType) => {
    const text = fileText(await readIfExists(join(dir, file)), forFile(schema, value), schema);
    if (text === undefined) result.unchanged.push(file);
    else {
      await writeFile(join(dir, file), text);
      result.written.push(file);
    }
  };
  await mkdir(dir, { recursive: true });
  await write("project.yaml", project, projectFileSchema);
  for (const kind of RESOURCE_KINDS) {
    const folder = FOLDERS[kind];
    await mkdir(join(dir, folder), { recursive: true });
    const keys = new Set<string>();
    for (const value of [...resources[kind]].sort((a, b) => String(a["key"]).localeCompare(String(b["key"])))) {
      keys.add(String(value["key"]));
      await write(`${folder}/${String(value["key"])}.yaml`, value, FILE_SCHEMAS[kind]);
    }
    for (const name of await filesIn(join(dir, folder))) {
      if (keys.has(name.replace(YAML_FILE, ""))) continue;
      await rm(join(dir, folder, name));
      result.removed.push(`${folder}/${name}`);
    }
  }
  return result;
}
