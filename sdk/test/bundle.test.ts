import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

/**
 * What an app's bundler ships of the SDK. The protocol's schemas are written with
 * `zod/mini` so that only the zod functions they use are bundled; one import of classic
 * zod (`"zod"`) anywhere in the SDK or the protocol module brings all of it back, and
 * doubles the web client's bundle.
 */
describe("the SDK's bundle", () => {
  it("holds zod's core and mini API, not classic zod or its locales", async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL("../src/index.ts", import.meta.url))],
      bundle: true,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      minify: true,
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    // The files that contribute bytes: every file read is listed, shaken out or not.
    const [output] = Object.values(result.metafile.outputs);
    const zodFiles = Object.entries(output!.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path.split("node_modules/zod/")[1])
      .filter((path) => path !== undefined);
    expect(zodFiles.filter((path) => !/^v4\/(core|mini)\//.test(path))).toEqual([]);
    expect(zodFiles).toContain("v4/mini/schemas.js");
  });
});
