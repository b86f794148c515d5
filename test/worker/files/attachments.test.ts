import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChannelDO } from "../../../durable/channel/channel-do";
import { readMessages } from "../../../src/history/d1-history";
import { TEXT_BUDGET_BYTES } from "../../../src/protocol/limits";
import { Message } from "../../../src/protocol/types";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, settledChannelList } from "../support/channels";
import { channelStubOf } from "../support/evict";
import { download, PDF, png, upload } from "../support/files";
import { openChannelSocket, openUserSocket } from "../support/socket";

async function uploaded(user: TestUser, channelId: string, n = 1, type = "image/png") {
  const files = [];
  for (let i = 0; i < n; i++) {
    const res = await upload(user, channelId, type === "image/png" ? png(20 + i, 10) : PDF, { type, name: `f${i}` });
    expect(res.status).toBe(201);
    files.push(res.body.file);
  }
  return files;
}

function send(user: TestUser, channelId: string, body: Record<string, unknown>) {
  return api("POST", `/api/channels/${channelId}/messages`, {
    token: user.accessToken,
    body: { clientMsgId: crypto.randomUUID(), text: "", ...body },
  });
}

describe("messages with files", () => {
  it("carry their files to channel sockets, user sockets, history, catch-up and the D1 copy", async () => {
    const [owner, member] = await Promise.all([signup("att"), signup("att_m")]);
    const g = (await createGroup(owner, [member])).id;
    const files = await uploaded(owner, g, 2);
    const chan = await openChannelSocket(g, member.accessToken);
    const inbox = await openUserSocket(member.accessToken);
    await chan.until((f) => f.some((x) => x.type === "synced"));

    const res = await send(owner, g, { attachments: files.map((f) => f.id) });
    expect(res.status).toBe(201);
    const message = res.body.message;
    expect(message.text).toBe("");
    expect(message.attachments.map((f: any) => f.id)).toEqual(files.map((f) => f.id));
    expect(message.attachments[0]).toMatchObject({ name: "f0", contentType: "image/png", width: 20, height: 10 });
    expect(Message.safeParse(message).success).toBe(true);

    const live = await chan.until((f) => f.find((x) => x.type === "message"));
    expect(live.message.attachments.map((f: any) => f.id)).toEqual(files.map((f) => f.id));
    const relayed = await inbox.until((f) => f.find((x) => x.type === "message" && x.message.channelId === g));
    expect(relayed.message.attachments).toHaveLength(2);
    // Every copy's URL downloads the file without the bearer header.
    for (const copy of [message, live.message, relayed.message]) {
      expect((await download(copy.attachments[1].url)).status).toBe(200);
    }

    const page = await api("GET", `/api/channels/${g}/messages`, { token: member.accessToken });
    expect(page.body.messages[0].attachments.map((f: any) => f.id)).toEqual(files.map((f) => f.id));

    const list = await settledChannelList(member);
    const summary = list.body.channels.find((c: any) => c.id === g);
    expect(summary.lastMessage.attachments.map((f: any) => f.id)).toEqual(files.map((f) => f.id));
    expect((await download(summary.lastMessage.attachments[0].url)).status).toBe(200);

    const later = await openChannelSocket(g, member.accessToken, 0);
    const caughtUp = await later.until((f) => f.find((x) => x.type === "message"));
    expect(caughtUp.message.attachments).toHaveLength(2);

    while (!(await runDurableObjectAlarm(channelStubOf(g)))) await new Promise((r) => setTimeout(r, 10));
    const fromD1 = await readMessages(
      env.DB,
      g,
      { afterSeq: 0, beforeSeq: 10, limit: 10, from: "after" },
      TEXT_BUDGET_BYTES,
    );
    expect(fromD1.messages[0]!.attachments!.map((f) => ({ ...f, url: undefined }))).toEqual(
      message.attachments.map((f: any) => ({ ...f, url: undefined })),
    );
    for (const s of [chan, inbox, later]) s.close();
  });

  it("are sent over the channel socket too", async () => {
    const owner = await signup("att_ws");
    const g = (await createGroup(owner)).id;
    const [file] = await uploaded(owner, g);
    const chan = await openChannelSocket(g, owner.accessToken);
    await chan.until((f) => f.some((x) => x.type === "synced"));
    chan.send({ type: "send", clientMsgId: "ws-1", text: "look", attachments: [file.id] });
    const ack = await chan.until((f) => f.find((x) => x.type === "ack" || x.type === "error"));
    expect(ack.type).toBe("ack");
    const msg = await chan.until((f) => f.find((x) => x.type === "message"));
    expect(msg.message).toMatchObject({ text: "look", attachments: [{ id: file.id }] });
    chan.close();
  });

  it("refuse more than 10 files, repeats, files of others or of other channels, files already attached and unknown ids", async () => {
    const [owner, member] = await Promise.all([signup("att_bad"), signup("att_bad_m")]);
    const g = (await createGroup(owner, [member])).id;
    const other = (await createGroup(owner)).id;
    const eleven = await uploaded(owner, g, 11, "application/pdf");
    const [theirs] = await uploaded(member, g);
    const [elsewhere] = await uploaded(owner, other);
    const cases: [string, string[]][] = [
      ["more than 10", eleven.map((f) => f.id)],
      ["a repeat", [eleven[0].id, eleven[0].id]],
      ["another member's file", [theirs.id]],
      ["a file of another channel", [elsewhere.id]],
      ["an unknown id", [`${g}.${"B".repeat(22)}`]],
    ];
    for (const [what, attachments] of cases) {
      const res = await send(owner, g, { attachments });
      expect(res.status, what).toBe(400);
      expect(res.body.error.code, what).toBe("invalid_request");
    }
    expect((await send(owner, g, { attachments: [eleven[0].id] })).status).toBe(201);
    const again = await send(owner, g, { attachments: [eleven[0].id] });
    expect(again.status).toBe(400);
    expect(again.body.error.message).toMatch(/already attached/);
    // Nothing refused was stored: the one message is the only one.
    const page = await api("GET", `/api/channels/${g}/messages`, { token: owner.accessToken });
    expect(page.body.messages).toHaveLength(1);
  });

  it("still need text when they have no files", async () => {
    const owner = await signup("att_txt");
    const g = (await createGroup(owner)).id;
    expect((await send(owner, g, { text: "" })).status).toBe(400);
    expect((await send(owner, g, { text: "", attachments: [] })).status).toBe(400);
  });

  it("a file not attached yet is its uploader's alone; attached, it is every member's", async () => {
    const [owner, member] = await Promise.all([signup("att_own"), signup("att_own_m")]);
    const g = (await createGroup(owner, [member])).id;
    const [file] = await uploaded(owner, g);
    expect((await download(`/api/files/${file.id}`, owner.accessToken)).status).toBe(200);
    expect((await download(`/api/files/${file.id}`, member.accessToken)).status).toBe(404);
    expect((await send(owner, g, { attachments: [file.id] })).status).toBe(201);
    expect((await download(`/api/files/${file.id}`, member.accessToken)).status).toBe(200);
  });

  it("a re-send answers the original message with its files", async () => {
    const owner = await signup("att_re");
    const g = (await createGroup(owner)).id;
    const [file] = await uploaded(owner, g);
    const first = await send(owner, g, { clientMsgId: "same", attachments: [file.id] });
    const again = await send(owner, g, { clientMsgId: "same", attachments: [file.id] });
    expect(again.status).toBe(200);
    expect(again.body.message.attachments[0].id).toBe(first.body.message.attachments[0].id);
  });

  it("the attached message is what the object stores (one write with the message)", async () => {
    const owner = await signup("att_row");
    const g = (await createGroup(owner)).id;
    const [file] = await uploaded(owner, g);
    const res = await send(owner, g, { attachments: [file.id] });
    const seq = await runInDurableObject(
      channelStubOf(g),
      (_i: ChannelDO, state) =>
        state.storage.sql.exec<{ seq: number }>("SELECT seq FROM files WHERE id = ?", file.id).one().seq,
    );
    expect(seq).toBe(res.body.message.seq);
  });
});
