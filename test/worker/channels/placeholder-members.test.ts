import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../../src/app";
import { api, signup } from "../support/api";
import { createGroup } from "../support/channels";

/** The hook as the benchmark's server has it: the same bindings with TEST_HOOKS on. */
function withHooks(path: string, body: unknown) {
  return buildApp().request(
    path,
    { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
    { ...env, TEST_HOOKS: "on" },
  );
}

describe("POST /api/_test/channels/:id/placeholder-members (the benchmark's offline members)", () => {
  it("adds members that exist in D1 and in the channel", async () => {
    const owner = await signup("owner");
    const channel = await createGroup(owner, [], "public");

    const res = await withHooks(`/api/_test/channels/${channel.id}/placeholder-members`, { count: 30 });
    expect(res.status).toBe(200);
    const { userIds } = (await res.json()) as { userIds: string[] };
    expect(new Set(userIds).size).toBe(30);

    const info = await api("GET", `/api/channels/${channel.id}`, { token: owner.accessToken });
    expect(info.body.members.map((m: { userId: string }) => m.userId).sort()).toEqual([owner.id, ...userIds].sort());
    const { results } = await env.DB.prepare("SELECT user_id FROM channel_members WHERE channel_id = ?")
      .bind(channel.id)
      .all<{ user_id: string }>();
    expect(results.map((r) => r.user_id).sort()).toEqual([owner.id, ...userIds].sort());
  });

  it("answers 403 for a channel nobody created, and 400 for a count out of range", async () => {
    const missing = await withHooks("/api/_test/channels/g_0000000000000000000000/placeholder-members", { count: 1 });
    const owner = await signup("owner");
    const channel = await createGroup(owner);
    const tooMany = await withHooks(`/api/_test/channels/${channel.id}/placeholder-members`, { count: 1001 });
    expect([missing.status, tooMany.status]).toEqual([403, 400]);
  });

  it("is a 404 unless TEST_HOOKS is on", async () => {
    const owner = await signup("owner");
    const channel = await createGroup(owner);
    const res = await api("POST", `/api/_test/channels/${channel.id}/placeholder-members`, { body: { count: 1 } });
    expect(res.status).toBe(404);
  });
});
