import { describe, expect, it } from "vitest";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, sendHttp, settledChannelList } from "../support/channels";
import { openUserSocket, type TestSocket } from "../support/socket";

/**
 * Presence is pushed to DM partners and members of shared channels of at most 100
 * members; members of a larger channel ask GET /api/presence instead.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const presenceOf = (sock: TestSocket, u: TestUser) =>
  sock.frames.filter((f) => f.type === "presence" && f.userId === u.id).map((f) => f.status as string);

async function watching(u: TestUser) {
  const sock = await openUserSocket(u.accessToken);
  await sock.until((f) => f.find((x) => x.type === "hello"));
  return sock;
}

describe("presence and large channels", () => {
  it("a member of a 101-member channel is not told; DM partners and small-group members are; at 100 they are", async () => {
    const [a, crowdMate, groupMate, dmPartner] = await Promise.all(
      ["a", "crowd", "group", "dm"].map((p) => signup(`plc_${p}`)),
    );
    const filler: TestUser[] = [];
    for (let i = 0; i < 5; i++) filler.push(...(await Promise.all(Array.from({ length: 20 }, () => signup("plc_f")))));
    // a + crowdMate + 99 others: 101 members.
    const crowd = await createGroup(a!, [crowdMate!, ...filler.slice(0, 99)], "public", "Crowd");
    await createGroup(a!, [groupMate!], "private", "Small");
    expect((await api("POST", "/api/dms", { token: a!.accessToken, body: { userId: dmPartner!.id } })).status).toBe(
      201,
    );

    // The crowd is where a talked last, so it would rank first among a's contacts (at most
    // 100 are told): without the size rule the crowd mate would be told, not the others.
    expect((await sendHttp(a!, crowd.id, "hello crowd")).status).toBe(201);
    await settledChannelList(a!);

    const crowdSock = await watching(crowdMate!);
    const groupSock = await watching(groupMate!);
    const dmSock = await watching(dmPartner!);
    const aSock = await watching(a!);
    await groupSock.until(() => presenceOf(groupSock, a!).includes("online"), 5_000, "group mate told");
    await dmSock.until(() => presenceOf(dmSock, a!).includes("online"), 5_000, "DM partner told");
    // The fan-out to every contact runs at once: by now the crowd mate would have it too.
    await sleep(300);
    expect(presenceOf(crowdSock, a!)).toEqual([]);
    // It can still ask.
    const asked = await api("GET", `/api/presence?userIds=${a!.id}`, { token: crowdMate!.accessToken });
    expect(asked.body.presence[0].status).toBe("online");

    // Down to 100 members: the crowd mate is a contact again, and hears a go offline.
    const left = await api("DELETE", `/api/channels/${crowd.id}/members/${filler[0]!.id}`, {
      token: filler[0]!.accessToken,
    });
    expect(left.status).toBe(204);
    aSock.close();
    await crowdSock.until(() => presenceOf(crowdSock, a!).includes("offline"), 5_000, "crowd mate told");
    await groupSock.until(() => presenceOf(groupSock, a!).includes("offline"), 5_000, "group mate told offline");
    for (const s of [crowdSock, groupSock, dmSock]) s.close();
  }, 60_000);
});
