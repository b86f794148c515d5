import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../../src/app";
import { api, signup } from "../support/api";
import { createGroup } from "../support/channels";
import { channelStubOf, userStubOf } from "../support/evict";

/** The chaos run's eviction hooks, as its server has them: the same bindings with TEST_HOOKS on. */
function withHooks(path: string, vars: Record<string, string> = { TEST_HOOKS: "on" }) {
  return buildApp().request(path, { method: "POST" }, { ...env, ...vars });
}

/** Marks the object's current instance in memory; true when a later instance still has the mark. */
const mark = (stub: DurableObjectStub) =>
  runInDurableObject(stub, (o: object) => {
    (o as { chaosMark?: boolean }).chaosMark = true;
  });
const marked = (stub: DurableObjectStub) =>
  runInDurableObject(stub, (o: object) => (o as { chaosMark?: boolean }).chaosMark === true);

describe("POST /api/_test/…/evict (the chaos run's object evictions)", () => {
  it("ends a channel's instance: its memory is gone, its messages are not", async () => {
    const owner = await signup("owner");
    const channel = await createGroup(owner);
    for (const n of [0, 1, 2]) {
      const sent = await api("POST", `/api/channels/${channel.id}/messages`, {
        token: owner.accessToken,
        body: { clientMsgId: `m${n}`, text: `before ${n}` },
      });
      expect(sent.status).toBe(201);
    }
    await mark(channelStubOf(channel.id));

    const res = await withHooks(`/api/_test/channels/${channel.id}/evict`);
    expect(res.status).toBe(204);
    expect(await marked(channelStubOf(channel.id))).toBe(false);
    const history = await api("GET", `/api/channels/${channel.id}/messages`, { token: owner.accessToken });
    expect(history.body.messages.map((m: { text: string }) => m.text)).toEqual(["before 0", "before 1", "before 2"]);
  });

  it("ends a user's instance", async () => {
    const u = await signup("u");
    await api("GET", "/api/channels", { token: u.accessToken });
    await mark(userStubOf(u.id));
    expect((await withHooks(`/api/_test/users/${u.id}/evict`)).status).toBe(204);
    expect(await marked(userStubOf(u.id))).toBe(false);
  });

  it("is a 404 unless TEST_HOOKS is on", async () => {
    const u = await signup("u");
    await mark(userStubOf(u.id));
    expect((await withHooks(`/api/_test/users/${u.id}/evict`, {})).status).toBe(404);
    expect(await marked(userStubOf(u.id))).toBe(true);
  });
});
