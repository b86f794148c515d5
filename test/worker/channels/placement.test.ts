import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";
import { signup } from "../support/api";

/** The creator's place reaches the Durable Object's creation as a hint it accepts (src/channels/placement.ts). */
it("creates groups and DMs with a location hint from the creator's continent", async () => {
  const [alice, bob] = await Promise.all([signup("pl_alice"), signup("pl_bob")]);
  const post = (path: string, body: unknown, cf: Record<string, string>) =>
    exports.default.fetch(`https://chat.test${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${alice.accessToken}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
      cf,
    } as RequestInit);
  const places: Record<string, string>[] = [
    { continent: "EU", longitude: "2.3" },
    { continent: "NA", longitude: "-120" },
    { continent: "AS", country: "SA" },
  ];
  for (const cf of places) {
    const group = await post("/api/channels", { name: `g ${cf.continent}` }, cf);
    expect(group.status).toBe(201);
  }
  const dm = await post("/api/dms", { userId: bob.id }, { continent: "OC" });
  expect(dm.status).toBe(201);
});
