import { channelStub, userStub } from "../../durable/stubs";
import type { Db } from "../db/client";
import type { ChannelSummary } from "../protocol/types";
import { listChannelsOf } from "./d1-queries";

/**
 * GET /api/channels: the inbox (UserDO) has the counters, D1 has the authoritative
 * membership; both are read in parallel. A channel the inbox missed (a lost event) is
 * filled in from its ChannelDO and handed to the inbox, so the repair happens once.
 */
export async function channelList(env: Env, orm: Db, userId: string): Promise<ChannelSummary[]> {
  const inbox = userStub(env, userId);
  const [memberOf, summaries] = await Promise.all([listChannelsOf(orm, userId), inbox.listChannels()]);
  const byId = new Map(summaries.map((s) => [s.id, s]));
  const missing = memberOf.filter((id) => !byId.has(id));
  const repaired = await Promise.all(
    missing.map(async (id) => {
      const s = await channelStub(env, id).summary(userId);
      if (!s.ok) return undefined;
      const counters = {
        lastSeq: s.lastSeq,
        readSeq: s.readSeq,
        ...(s.lastMessage ? { lastMessage: s.lastMessage } : {}),
      };
      await inbox.channelEvent("added", s.channel, counters);
      return { ...s.channel, ...counters, unread: Math.max(0, s.lastSeq - s.readSeq) };
    }),
  );
  const member = new Set(memberOf);
  return [...summaries.filter((s) => member.has(s.id)), ...repaired.filter((s) => s !== undefined)];
}
