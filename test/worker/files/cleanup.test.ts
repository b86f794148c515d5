import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ChannelDO } from "../../../durable/channel/channel-do";
import { UNATTACHED_TTL_MS } from "../../../durable/channel/file-store";
import { api, signup } from "../support/api";
import { createGroup } from "../support/channels";
import { channelStubOf, evict } from "../support/evict";
import { download, png, storedKeys, upload } from "../support/files";

afterEach(() => {
  vi.restoreAllMocks();
});

const HOUR = 60 * 60 * 1000;

/** Runs the channel's alarm as it would fire at `at` (the clock moved forward). */
async function alarmAt(channelId: string, at: number): Promise<void> {
  vi.spyOn(Date, "now").mockImplementation(() => at);
  await runInDurableObject(channelStubOf(channelId), async (_i, state) => {
    await state.storage.setAlarm(at);
  });
  await runDurableObjectAlarm(channelStubOf(channelId));
}

describe("files never attached", () => {
  it("are deleted within 24 h by the alarm, bytes and record; attached files stay; a second run changes nothing", async () => {
    const owner = await signup("sweep");
    const g = (await createGroup(owner)).id;
    const start = Date.now();
    const kept = (await upload(owner, g, png(1, 1))).body.file;
    const dropped = (await upload(owner, g, png(2, 2))).body.file;
    expect(
      (
        await api("POST", `/api/channels/${g}/messages`, {
          token: owner.accessToken,
          body: { clientMsgId: "k", text: "", attachments: [kept.id] },
        })
      ).status,
    ).toBe(201);
    expect(UNATTACHED_TTL_MS).toBeLessThanOrEqual(24 * HOUR);

    // The object asked for an alarm no later than the file's deadline.
    const alarm = await runInDurableObject(channelStubOf(g), (_i, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(start + 24 * HOUR);

    await alarmAt(g, start + UNATTACHED_TTL_MS - HOUR);
    expect((await storedKeys(g)).sort()).toEqual([`files/${kept.id}`, `files/${dropped.id}`].sort());

    await alarmAt(g, start + 24 * HOUR);
    expect(await storedKeys(g)).toEqual([`files/${kept.id}`]);
    await alarmAt(g, start + 25 * HOUR);
    expect(await storedKeys(g)).toEqual([`files/${kept.id}`]);
    vi.restoreAllMocks(); // the access token would have expired at the moved clock
    expect((await download(`/api/files/${dropped.id}`, owner.accessToken)).status).toBe(404);
    expect((await download(`/api/files/${kept.id}`, owner.accessToken)).status).toBe(200);
  });
});

describe("deleting a message", () => {
  async function messageWithFiles(prefix: string) {
    const owner = await signup(prefix);
    const g = (await createGroup(owner)).id;
    const files = [(await upload(owner, g, png(1, 1))).body.file, (await upload(owner, g, png(2, 1))).body.file];
    const other = (await upload(owner, g, png(3, 1))).body.file;
    const sent = await api("POST", `/api/channels/${g}/messages`, {
      token: owner.accessToken,
      body: { clientMsgId: "m", text: "two", attachments: files.map((f) => f.id) },
    });
    await api("POST", `/api/channels/${g}/messages`, {
      token: owner.accessToken,
      body: { clientMsgId: "n", text: "", attachments: [other.id] },
    });
    return { owner, g, files, other, seq: sent.body.message.seq as number };
  }

  it("deletes its files: 404 when it returns, through the id and the URL; the other message's file stays", async () => {
    const { owner, g, files, other, seq } = await messageWithFiles("delfiles");
    expect((await api("DELETE", `/api/channels/${g}/messages/${seq}`, { token: owner.accessToken })).status).toBe(204);
    for (const f of files) {
      expect((await download(`/api/files/${f.id}`, owner.accessToken)).status).toBe(404);
      expect((await download(f.url)).status).toBe(404);
    }
    expect(await storedKeys(g)).toEqual([`files/${other.id}`]);
    expect((await download(`/api/files/${other.id}`, owner.accessToken)).status).toBe(200);
  });

  it("R2 failing when it is deleted: the files are gone at once for members, and the alarm deletes the bytes after an eviction", async () => {
    const { owner, g, files, other, seq } = await messageWithFiles("delfilesr2");
    await runInDurableObject(channelStubOf(g), (instance: ChannelDO) => {
      const files = (instance as any).files;
      files.bucket = { delete: () => Promise.reject(new Error("R2 is down")) };
    });
    expect((await api("DELETE", `/api/channels/${g}/messages/${seq}`, { token: owner.accessToken })).status).toBe(204);
    for (const f of files) expect((await download(`/api/files/${f.id}`, owner.accessToken)).status).toBe(404);
    expect((await storedKeys(g)).length).toBe(3);
    // The release was stored with the tombstone: a new instance (with R2 back) finishes it.
    await evict(channelStubOf(g));
    expect(await runDurableObjectAlarm(channelStubOf(g))).toBe(true);
    expect(await storedKeys(g)).toEqual([`files/${other.id}`]);
  });
});
