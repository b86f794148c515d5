import { channelStub, userStub } from "../../durable/stubs";
import type { Db } from "../db/client";
import { loggableError } from "../log";
import { defaultNotificationLevel } from "../protocol/limits";
import { type ChannelSummary, readCounters } from "../protocol/types";
import { listChannelsOf } from "./d1-queries";

type Stored = Omit<ChannelSummary, "notifications">;

/**
 * GET /api/channels: D1 has the authoritative membership, and each channel its own
 * counters, pulled here: nothing is written to a member's inbox per message, so the
 * unread count of someone who was away is computed now, exactly, from the channel. A
 * channel that cannot answer shows as the inbox last knew it. What changed since the
 * last pull goes back to the inbox (contacts are ranked by recent activity).
 */
export async function channelList(env: Env, orm: Db, userId: string): Promise<ChannelSummary[]> {
  const inbox = userStub(env, userId);
  const [memberOf, stored] = await Promise.all([listChannelsOf(orm, userId), inbox.listChannels()]);
  const storedById = new Map(stored.map((s) => [s.id, s]));
  const pulled = await Promise.all(
    memberOf.map(async (id): Promise<ChannelSummary | undefined> => {
      try {
        const s = await channelStub(env, id).summary(userId);
        if (!s.ok) return undefined;
        return {
          ...s.channel,
          ...readCounters(s.lastSeq, s.readSeq),
          mentions: s.mentions,
          ...(s.lastMessage ? { lastMessage: s.lastMessage } : {}),
          notifications: s.notifications,
        };
      } catch (err) {
        console.warn("channel summary failed; the inbox's copy stands in", loggableError(err));
        const copy = storedById.get(id);
        return copy && { ...copy, notifications: defaultNotificationLevel(copy.memberCount) };
      }
    }),
  );
  const list = pulled.filter((s) => s !== undefined);
  const changed = list.filter((s) => isNewer(s, storedById.get(s.id)));
  if (changed.length > 0) {
    await inbox
      .remember(changed.map(({ unread: _, notifications: __, ...s }) => s))
      .catch((err) => console.warn("inbox update failed", loggableError(err)));
  }
  return list;
}

function isNewer(s: ChannelSummary, stored: Stored | undefined): boolean {
  return (
    !stored ||
    s.lastSeq !== stored.lastSeq ||
    s.readSeq !== stored.readSeq ||
    s.mentions !== stored.mentions ||
    s.name !== stored.name ||
    // An edit or delete of the last message: the copy must not keep erased text.
    s.lastMessage?.rev !== stored.lastMessage?.rev
  );
}
