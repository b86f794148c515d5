import { eq } from "drizzle-orm";
import { userStub } from "../../durable/stubs";
import type { Db } from "../db/client";
import { channelMembers, channels, devices, users } from "../db/schema";
import type { SentCursor } from "../history/d1-history";
import { readSentHistory, type ShardAccess } from "../history/sharded-history";
import { listBlocked } from "./blocks";

/** Messages per D1 page of the export, and the most text bytes a page may carry. */
export const EXPORT_PAGE_ROWS = 1000;
export const EXPORT_PAGE_BYTES = 1024 * 1024;

/**
 * Everything stored about a user, as one JSON document written as a stream: the small
 * parts (profile, devices, channels, blocks, push subscriptions) first, then every
 * message they sent, one D1 page per pull. Only a page is ever in memory, so a user
 * with a hundred thousand messages costs what one with a thousand does; a page is
 * read only when the reader has taken the one before (backpressure).
 */
export function exportStream(env: Env, db: Db, userId: string, shards: ShardAccess): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let cursor: SentCursor | null = null;
  let started = false;
  let first = true;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!started) {
          started = true;
          const head = JSON.stringify(await aboutUser(env, db, userId));
          // The head is an object; the messages go in as its last member.
          controller.enqueue(encoder.encode(`${head.slice(0, -1)},"messages":[`));
          return;
        }
        const page = await readSentHistory(shards, userId, cursor, EXPORT_PAGE_ROWS, EXPORT_PAGE_BYTES);
        const last = page.at(-1);
        if (!last) {
          controller.enqueue(encoder.encode("]}"));
          controller.close();
          return;
        }
        cursor = { channelId: last.channelId, seq: last.seq };
        const body = page.map((m) => JSON.stringify(m)).join(",");
        controller.enqueue(encoder.encode(first ? body : `,${body}`));
        first = false;
      },
    },
    { highWaterMark: 0 },
  );
}

async function aboutUser(env: Env, db: Db, userId: string) {
  const [profile, deviceRows, memberships, blocked, stored] = await Promise.all([
    db
      .select({
        id: users.id,
        username: users.username,
        displayName: users.displayName,
        avatarUrl: users.avatarUrl,
        statusText: users.statusText,
        createdAt: users.createdAt,
      })
      .from(users)
      .where(eq(users.id, userId))
      .get(),
    db
      .select({
        id: devices.id,
        name: devices.name,
        createdAt: devices.createdAt,
        lastSeenAt: devices.lastSeenAt,
        revokedAt: devices.revokedAt,
      })
      .from(devices)
      .where(eq(devices.userId, userId))
      .orderBy(devices.createdAt),
    db
      .select({
        id: channels.id,
        kind: channels.kind,
        name: channels.name,
        topic: channels.topic,
        visibility: channels.visibility,
        createdAt: channels.createdAt,
        role: channelMembers.role,
        joinedAt: channelMembers.joinedAt,
      })
      .from(channelMembers)
      .innerJoin(channels, eq(channels.id, channelMembers.channelId))
      .where(eq(channelMembers.userId, userId))
      .orderBy(channelMembers.joinedAt),
    listBlocked(db, userId),
    userStub(env, userId).exportData(),
  ]);
  return {
    exportedAt: Date.now(),
    user: profile,
    devices: deviceRows,
    channels: memberships,
    blockedUserIds: blocked,
    pushSubscriptions: stored.pushSubscriptions,
  };
}
