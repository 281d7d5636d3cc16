import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readFolder, writeFolder } from "./folder.js";
import { flagFileSchema } from "./resources.js";

const dirs: string[] = [];
const folderWith = async (files: Record<string, string>) => {
  const dir = await mkdtemp(join(tmpdir(), "folder-test-"));
  dirs.push(dir);
  for (const [file, text] of Object.entries(files)) {
    await mkdir(join(dir, file, ".."), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  return dir;
};
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

const flag = "key: nav\nname: Nav\ntype: release\nvariants:\n  - key: on\n";
const project = { key: "shop", name: "Shop", deployments: [] };
const noResources = { flag: [], metric: [], group: [], segment: [] };

describe("readFolder", () => {
  it("names the file and field of a bad value", async () => {
    const dir = await folderWith({ "flags/nav.yaml": `${flag}rollout: 120\n` });
    await expect(readFolder(dir)).rejects.toThrow(
      /^flags\/nav\.yaml at rollout: Too big: expected number to be <=100$/,
    );
  });

  it("refuses an unknown field, a file named after another key, and broken YAML", async () => {
    await expect(readFolder(await folderWith({ "flags/nav.yaml": `${flag}rolout: 50\n` }))).rejects.toThrow(
      /flags\/nav\.yaml: Unrecognized key: "rolout"/,
    );
    await expect(readFolder(await folderWith({ "flags/other.yaml": flag }))).rejects.toThrow(
      "flags/other.yaml: holds flag 'nav': name it nav.yaml",
    );
    await expect(readFolder(await folderWith({ "groups/g.yaml": "key: [g\n" }))).rejects.toThrow(/^groups\/g\.yaml: /);
  });
});

describe("writeFolder", () => {
  it("edits a changed file in place, keeping its comments, and removes files of resources that are gone", async () => {
    const dir = await folderWith({
      "flags/nav.yaml": `# Owned by the web team\n${flag}rollout: 20 # ramping up\n`,
      "groups/old.yaml": "key: old\nkind: mutex\n",
    });
    const nav = flagFileSchema.parse({
      key: "nav",
      name: "Nav",
      type: "release",
      variants: [{ key: "on" }],
      rollout: 30,
    });
    const result = await writeFolder(dir, project, { ...noResources, flag: [nav] });
    expect(result).toEqual({
      written: ["project.yaml", "flags/nav.yaml"],
      unchanged: [],
      removed: ["groups/old.yaml"],
    });
    expect(await readFile(join(dir, "flags/nav.yaml"), "utf8")).toBe(
      `# Owned by the web team\n${flag}rollout: 30 # ramping up\n`,
    );
    // Written again with the same content: nothing changes.
    expect((await writeFolder(dir, project, { ...noResources, flag: [nav] })).written).toEqual([]);
  });
});
