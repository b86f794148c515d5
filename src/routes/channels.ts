import { inArray } from "drizzle-orm";
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { z } from "zod";
import { memberLimit } from "../../durable/channel/membership";
import { channelStub } from "../../durable/stubs";
import { channelList } from "../channels/channel-list";
import { DIRECTORY_PAGE_SIZE } from "../channels/d1-directory";
import { publicChannelsPage } from "../channels/directory";
import { CHANNEL_ID, newGroupId } from "../channels/ids";
import { locationHintFor } from "../channels/placement";
import { isReactionEmoji } from "../channels/reaction-emoji";
import { config } from "../config";
import type { Db } from "../db/client";
import { users } from "../db/schema";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { ApiError, unwrap } from "../http/errors";
import { allowedOrigin } from "../http/security";
import { internalUpgrade } from "../http/upgrade";
import { valid } from "../http/validate";
import { errors, jsonAnswer, noContent, webSocketUpgrade } from "../openapi/describe";
import {
  ClientMsgId,
  HISTORY_DEFAULT_LIMIT,
  HISTORY_MAX_LIMIT,
  MAX_ATTACHMENTS,
  MAX_TOPIC_CODE_POINTS,
} from "../protocol/limits";
import {
  ChangesPage,
  Channel,
  ChannelSummary,
  Member,
  Message,
  MessagePage,
  NotificationLevel,
} from "../protocol/types";
import { stripFormatCharacters } from "../users/format-characters";
import { codePoints } from "../users/user";
import { UploadQuery, uploadDocs, uploadFile } from "./files";

const ChannelParam = z.object({ id: z.string().regex(CHANNEL_ID, "not a channel id") });
/** Plain decimal digits only: coercion would also take "", "0x10" and "1e2". */
const Seq = z
  .string()
  .regex(/^\d{1,15}$/, "must be a non-negative integer")
  .transform(Number);
const JsonSeq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const UserId = z.string().min(1).max(64);
const AddMember = z.object({ userId: UserId });
const MemberParam = ChannelParam.extend({ userId: UserId });
const MessageParam = ChannelParam.extend({ seq: Seq });
const ReactionParam = MessageParam.extend({
  emoji: z.string().refine(isReactionEmoji, "must be one emoji or a :shortcode: of a-z 0-9 _ + -"),
});
const Limit = z.coerce.number().int().min(1).max(HISTORY_MAX_LIMIT).default(HISTORY_DEFAULT_LIMIT);
/** Shown to every member: invisible format characters go, as in display names. */
const GroupName = z
  .string()
  .transform((s) => stripFormatCharacters(s).trim())
  .pipe(z.string().min(1, "name must have a visible character").max(100));
/** Like a name, but may be empty: an empty topic clears it (null). */
const Topic = z
  .string()
  .refine((s) => s.isWellFormed(), "topic is not well-formed UTF-16")
  .transform((s) => stripFormatCharacters(s).trim())
  .refine((s) => codePoints(s) <= MAX_TOPIC_CODE_POINTS, `topic must be at most ${MAX_TOPIC_CODE_POINTS} characters`)
  .transform((s) => (s === "" ? null : s))
  .meta({ maxLength: MAX_TOPIC_CODE_POINTS });
const Settings = z
  .object({ name: GroupName.optional(), topic: Topic.optional() })
  .refine((b) => b.name !== undefined || b.topic !== undefined, "give a name, a topic or both");
const SetRole = z.object({ role: z.enum(["admin", "member"]) });
const DirectoryQuery = z.object({
  q: z.string().max(100).default(""),
  cursor: z.string().min(1).max(200).optional(),
});

const OneChannel = z.object({ channel: Channel });
const OneMessage = z.object({ message: Message });
const MEMBERS_ONLY = "403 for a non-member, and alike for a channel that does not exist.";

/** What the OpenAPI document says of each route beyond its request schemas and middleware. */
const docs = {
  create: describeRoute({
    tags: ["channels"],
    operationId: "createChannel",
    summary: "Create a group; the caller is its owner",
    description:
      "404 when a member id is no user; 409 past the member limit: MAX_CHANNEL_MEMBERS (default 10000) for a public group, MAX_GROUP_MEMBERS (default 100) for a private one.",
    responses: { 201: jsonAnswer("The new group", OneChannel), ...errors("not_found", "channel_full") },
  }),
  directory: describeRoute({
    tags: ["channels"],
    operationId: "listPublicChannels",
    summary: "Browse and search public groups, largest first",
    description:
      `Public groups whose name starts with \`q\` (ignoring case and invisible format characters; every public group when \`q\` is empty), ` +
      `by member count, largest first, ${DIRECTORY_PAGE_SIZE} a page. \`nextCursor\`, when present, fetches the next page; ` +
      "a cursor is opaque, and one this server did not give out is 400.",
    responses: {
      200: jsonAnswer(
        "A page of the directory",
        z.object({ channels: z.array(Channel), nextCursor: z.string().optional() }),
      ),
    },
  }),
  list: describeRoute({
    tags: ["channels"],
    operationId: "listChannels",
    summary: "Every channel the caller belongs to, with unread counts",
    description:
      "Each channel's counters come from the channel itself, so they are exact whatever the caller missed: " +
      "`unread` messages after the read cursor, and `mentions`, the unread ones that mention the caller as they are now " +
      "(an edit adding or removing a mention counts at once; reading up to a message clears it).",
    responses: { 200: jsonAnswer("The caller's inbox", z.object({ channels: z.array(ChannelSummary) })) },
  }),
  socket: describeRoute({
    tags: ["channels"],
    operationId: "openChannelSocket",
    summary: "Open the channel socket (a channel on screen)",
    description:
      "A WebSocket upgrade. 403 for a non-member, a channel that does not exist, or a browser Origin that is not allowed.",
    ...webSocketUpgrade(
      "It sends every message with `seq > after` (a `gap` frame first when more than 500 are missing); " +
        "with `rev`, first an `update` for every message with `seq ≤ after` changed after that rev (or one `resync` when there are more than 500, " +
        "or older messages among them: then page `/changes`); then `synced` with `lastSeq` and `rev`; then live `message`, `update`, `typing`, `read` and `member` frames. " +
        "It takes `send`, `typing`, `read` and `ping`.",
      "forbidden",
    ),
  }),
  info: describeRoute({
    tags: ["channels"],
    operationId: "getChannel",
    summary: "A channel and its members",
    description:
      "Public groups are visible to everyone; anything else is 403 for non-members, as is a channel that does not exist.",
    responses: {
      200: jsonAnswer("The channel", z.object({ channel: Channel, members: z.array(Member) })),
      ...errors("forbidden"),
    },
  }),
  update: describeRoute({
    tags: ["channels"],
    operationId: "updateChannel",
    summary: "Rename a group or set its topic",
    description:
      `The owner or an admin of a group. \`name\` follows the rules of creation; \`topic\` is at most ${MAX_TOPIC_CODE_POINTS} characters ` +
      "after trimming and dropping invisible format characters, and an empty one clears it. Members get a `channel` `updated` frame on their user socket. " +
      "400 without either field; 403 for other members, for DMs (which have no name) and for non-members, as for a channel that does not exist.",
    responses: { 200: jsonAnswer("The channel as it is now", OneChannel), ...errors("forbidden") },
  }),
  setRole: describeRoute({
    tags: ["channels"],
    operationId: "setMemberRole",
    summary: "Make a member an admin, or an admin a member again",
    description:
      "The owner only (403 for anyone else, for DMs and for a channel that does not exist); 404 when the user is not a member; " +
      "409 for the owner's own role, which passes on only when the owner leaves. Setting the role a member already has changes nothing.",
    responses: { 204: noContent("Done"), ...errors("forbidden", "not_found", "conflict") },
  }),
  addMember: describeRoute({
    tags: ["channels"],
    operationId: "addMember",
    summary: "Join a public group, or add someone to a group one belongs to",
    description:
      "Adding a member again changes nothing. 403 for DMs, for non-members of a private group and for a channel that does not exist; 404 when the user does not exist; 409 past the member limit (MAX_CHANNEL_MEMBERS for a public group, MAX_GROUP_MEMBERS for a private one).",
    responses: { 200: jsonAnswer("The channel", OneChannel), ...errors("forbidden", "not_found", "channel_full") },
  }),
  removeMember: describeRoute({
    tags: ["channels"],
    operationId: "removeMember",
    summary: "Leave a group, or remove a member from it",
    description:
      "Anyone may leave; the owner and admins remove members; only the owner removes an admin. 403 otherwise, and for a channel that does not exist; 404 when the user is not a member.",
    responses: { 204: noContent("Removed"), ...errors("forbidden", "not_found") },
  }),
  history: describeRoute({
    tags: ["channels"],
    operationId: "listMessages",
    summary: "A page of history, ascending by seq",
    description: `\`after\`: messages with a greater seq; \`before\`: the ones just below it (scroll-back); neither: the latest. ${MEMBERS_ONLY}`,
    responses: {
      200: jsonAnswer("The page", MessagePage),
      ...errors("forbidden", "unavailable"),
    },
  }),
  send: describeRoute({
    tags: ["channels"],
    operationId: "sendMessage",
    summary: "Send a message",
    description: `Re-sending a \`clientMsgId\` answers the original message (200) and stores nothing. \`replyTo\` makes it a reply: the parent must be a message of this channel, not deleted and no reply itself (400 otherwise); the parent's \`replyCount\` and \`lastReplyAt\` move. \`attachments\`: ids of at most ${MAX_ATTACHMENTS} files the caller uploaded to this channel and attached to no message yet (400 otherwise); with files \`text\` may be empty. \`@username\` of a member of the channel (case-insensitive) puts them in the message's \`mentions\`. 413 for a text over the limit; 429 past the send rate. ${MEMBERS_ONLY}`,
    responses: {
      200: jsonAnswer("A re-send: the original message", OneMessage),
      201: jsonAnswer("Stored and sequenced", OneMessage),
      ...errors("forbidden", "message_too_long", "rate_limited", "unavailable"),
    },
  }),
  edit: describeRoute({
    tags: ["channels"],
    operationId: "editMessage",
    summary: "Change the text of one's own message",
    description:
      "The sender only (403 for anyone else). The text rules of sending apply (400, 413); 429 past the send rate. " +
      "A deleted or unknown seq is 404. The message takes the channel's next `rev` and gets `editedAt`, and its `mentions` are computed afresh from the new text; every channel socket gets an `update` frame. Edits never push. " +
      `The same text again changes nothing. ${MEMBERS_ONLY}`,
    responses: {
      200: jsonAnswer("The message as it is now", OneMessage),
      ...errors("forbidden", "not_found", "message_too_long", "rate_limited"),
    },
  }),
  remove: describeRoute({
    tags: ["channels"],
    operationId: "deleteMessage",
    summary: "Delete a message",
    description:
      "Its sender, or the owner or an admin of a group (403 for anyone else). The text is erased from every store, not hidden; " +
      'the message stays as a tombstone (`deleted: true`, text `""`) that keeps its seq, and every channel socket gets an `update` frame. ' +
      `A deleted or unknown seq is 404. ${MEMBERS_ONLY}`,
    responses: { 204: noContent("Deleted"), ...errors("forbidden", "not_found") },
  }),
  react: describeRoute({
    tags: ["channels"],
    operationId: "addReaction",
    summary: "React to a message",
    description:
      "`:emoji` (URL-encoded) is one emoji, a single grapheme cluster, or a shortcode `:[a-z0-9_+-]{1,32}:`; anything else is 400. " +
      "Idempotent: reacting again changes nothing. A new emoji past 20 distinct ones on the message is 409. " +
      "Every channel socket gets an `update` frame; reactions never push. 404 for an unknown or deleted message; 429 past the send rate. " +
      MEMBERS_ONLY,
    responses: { 204: noContent("Done"), ...errors("forbidden", "not_found", "conflict", "rate_limited") },
  }),
  unreact: describeRoute({
    tags: ["channels"],
    operationId: "removeReaction",
    summary: "Take back one's reaction",
    description: `Idempotent: taking back a reaction one does not have changes nothing. 404 for an unknown or deleted message. ${MEMBERS_ONLY}`,
    responses: { 204: noContent("Done"), ...errors("forbidden", "not_found", "rate_limited") },
  }),
  replies: describeRoute({
    tags: ["channels"],
    operationId: "listReplies",
    summary: "A page of a thread's replies, ascending by seq",
    description: `The replies with a seq above \`after\` (default 0), at most \`limit\`; 404 when the parent does not exist. ${MEMBERS_ONLY}`,
    responses: { 200: jsonAnswer("The page", MessagePage), ...errors("forbidden", "not_found", "unavailable") },
  }),
  changes: describeRoute({
    tags: ["channels"],
    operationId: "listChanges",
    summary: "Every message changed after a rev, as it is now, ascending by rev",
    description:
      "New, edited and deleted messages alike. `rev` is the channel's counter now; while `hasMore`, ask again with `afterRev` set to the last message's rev. " +
      `${MEMBERS_ONLY}`,
    responses: { 200: jsonAnswer("The page", ChangesPage), ...errors("forbidden", "unavailable") },
  }),
  read: describeRoute({
    tags: ["channels"],
    operationId: "markRead",
    summary: "Move the caller's read cursor forward",
    description: `The cursor never moves back nor past the last message. ${MEMBERS_ONLY}`,
    responses: { 204: noContent("Done"), ...errors("forbidden") },
  }),
  notifications: describeRoute({
    tags: ["channels"],
    operationId: "setNotifications",
    summary: "Choose when the caller gets a Web Push for this channel",
    description: `\`all\`: every message; \`mentions\`: messages that mention the caller; \`nothing\`: never. Without a choice a channel of up to 100 members pushes \`all\`, a larger one \`mentions\`; \`channelSummary.notifications\` shows the level in force. Edits, deletes and reactions never push. ${MEMBERS_ONLY}`,
    responses: { 204: noContent("Done"), ...errors("forbidden") },
  }),
};

/** D1 binds at most 100 values per query. */
const D1_MAX_BOUND = 100;

/** Every id must belong to an existing user: one D1 query per 100 distinct ids. */
async function assertUsersExist(orm: Db, ids: readonly string[]): Promise<void> {
  const unique = [...new Set(ids)];
  const chunks = Array.from({ length: Math.ceil(unique.length / D1_MAX_BOUND) }, (_, i) =>
    unique.slice(i * D1_MAX_BOUND, (i + 1) * D1_MAX_BOUND),
  );
  const found = await Promise.all(
    chunks.map((chunk) => orm.select({ id: users.id }).from(users).where(inArray(users.id, chunk))),
  );
  if (found.flat().length !== unique.length) throw new ApiError("not_found", "No such user");
}

export const channelRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .post(
    "/",
    docs.create,
    valid(
      "json",
      z.object({
        name: GroupName,
        memberIds: z.array(UserId).max(1000).optional(),
        visibility: z.enum(["public", "private"]).optional(),
      }),
    ),
    async (c) => {
      const { name, memberIds = [], visibility = "private" } = c.req.valid("json");
      const max = memberLimit(visibility, config(c.env));
      if (new Set([c.var.auth.userId, ...memberIds]).size > max) {
        throw new ApiError("channel_full", `A channel has at most ${max} members`);
      }
      await assertUsersExist(c.var.db, memberIds);
      const id = newGroupId();
      const { channel } = unwrap(
        await channelStub(c.env, id, locationHintFor(c.req.raw.cf)).create({
          id,
          kind: "group",
          name,
          visibility,
          createdBy: c.var.auth.userId,
          memberIds,
        }),
      );
      return c.json({ channel }, 201);
    },
  )
  .get("/", docs.list, async (c) => c.json({ channels: await channelList(c.env, c.var.db, c.var.auth.userId) }))
  // Before "/:id": "public" is not a channel id.
  .get("/public", docs.directory, valid("query", DirectoryQuery), async (c) => {
    const { q, cursor } = c.req.valid("query");
    return c.json(await publicChannelsPage(c.var.db, q, cursor));
  })
  .get(
    "/:id/ws",
    docs.socket,
    allowedOrigin,
    valid("param", ChannelParam),
    valid("query", z.object({ after: Seq.default(0), rev: Seq.optional() })),
    async (c) => {
      const { after, rev } = c.req.valid("query");
      const upgrade = internalUpgrade(c.req.raw, c.var.auth, {
        after: String(after),
        ...(rev !== undefined ? { rev: String(rev) } : {}),
      });
      return channelStub(c.env, c.req.valid("param").id).fetch(upgrade);
    },
  )
  .get("/:id", docs.info, valid("param", ChannelParam), async (c) => {
    const res = unwrap(await channelStub(c.env, c.req.valid("param").id).info(c.var.auth.userId));
    return c.json({ channel: res.channel, members: res.members });
  })
  .patch("/:id", docs.update, valid("param", ChannelParam), valid("json", Settings), async (c) => {
    const { name, topic } = c.req.valid("json");
    const changes = { ...(name !== undefined ? { name } : {}), ...(topic !== undefined ? { topic } : {}) };
    const res = unwrap(await channelStub(c.env, c.req.valid("param").id).updateSettings(c.var.auth.userId, changes));
    return c.json({ channel: res.channel });
  })
  .put("/:id/members/:userId/role", docs.setRole, valid("param", MemberParam), valid("json", SetRole), async (c) => {
    const { id, userId } = c.req.valid("param");
    unwrap(await channelStub(c.env, id).setRole(c.var.auth.userId, userId, c.req.valid("json").role));
    return c.body(null, 204);
  })
  .post("/:id/members", docs.addMember, valid("param", ChannelParam), valid("json", AddMember), async (c) => {
    const { userId } = c.req.valid("json");
    if (userId !== c.var.auth.userId) await assertUsersExist(c.var.db, [userId]);
    const { channel } = unwrap(await channelStub(c.env, c.req.valid("param").id).addMember(c.var.auth.userId, userId));
    return c.json({ channel });
  })
  .delete("/:id/members/:userId", docs.removeMember, valid("param", MemberParam), async (c) => {
    const { id, userId } = c.req.valid("param");
    unwrap(await channelStub(c.env, id).removeMember(c.var.auth.userId, userId));
    return c.body(null, 204);
  })
  .get(
    "/:id/messages",
    docs.history,
    valid("param", ChannelParam),
    valid(
      "query",
      z
        .object({
          after: Seq.optional(),
          before: Seq.optional(),
          limit: Limit,
        })
        .refine((q) => q.after === undefined || q.before === undefined, "use either after or before, not both"),
    ),
    async (c) => {
      const page = unwrap(
        await channelStub(c.env, c.req.valid("param").id).history(c.var.auth.userId, c.req.valid("query")),
      );
      return c.json({ messages: page.messages, hasMore: page.hasMore });
    },
  )
  .post(
    "/:id/messages",
    docs.send,
    valid("param", ChannelParam),
    // Only a string may cross into the ChannelDO: an RPC argument is structured-cloned, which
    // recurses, so deeply nested JSON here was a stack overflow. The ChannelDO's checkText
    // still owns the string rules (empty, ill-formed, too long) and their error codes.
    valid(
      "json",
      z.object({
        clientMsgId: ClientMsgId,
        text: z.string({ error: "must be a string" }),
        replyTo: JsonSeq.optional(),
        attachments: z
          .array(z.string().max(128))
          .max(MAX_ATTACHMENTS, `a message carries at most ${MAX_ATTACHMENTS} files`)
          .optional(),
      }),
    ),
    async (c) => {
      const { clientMsgId, text, replyTo, attachments } = c.req.valid("json");
      const stub = channelStub(c.env, c.req.valid("param").id);
      const res = unwrap(
        await stub.send(c.var.auth.userId, clientMsgId, text, {
          ...(replyTo !== undefined ? { replyTo } : {}),
          ...(attachments ? { attachments } : {}),
        }),
      );
      return c.json({ message: res.message }, res.created ? 201 : 200);
    },
  )
  .patch(
    "/:id/messages/:seq",
    docs.edit,
    valid("param", MessageParam),
    // A string only, as for sending; the ChannelDO's checkText owns the text rules.
    valid("json", z.object({ text: z.string({ error: "must be a string" }) })),
    async (c) => {
      const { id, seq } = c.req.valid("param");
      const res = unwrap(await channelStub(c.env, id).editMessage(c.var.auth.userId, seq, c.req.valid("json").text));
      return c.json({ message: res.message });
    },
  )
  .delete("/:id/messages/:seq", docs.remove, valid("param", MessageParam), async (c) => {
    const { id, seq } = c.req.valid("param");
    unwrap(await channelStub(c.env, id).deleteMessage(c.var.auth.userId, seq));
    return c.body(null, 204);
  })
  .put("/:id/messages/:seq/reactions/:emoji", docs.react, valid("param", ReactionParam), async (c) => {
    const { id, seq, emoji } = c.req.valid("param");
    unwrap(await channelStub(c.env, id).react(c.var.auth.userId, seq, emoji, true));
    return c.body(null, 204);
  })
  .delete("/:id/messages/:seq/reactions/:emoji", docs.unreact, valid("param", ReactionParam), async (c) => {
    const { id, seq, emoji } = c.req.valid("param");
    unwrap(await channelStub(c.env, id).react(c.var.auth.userId, seq, emoji, false));
    return c.body(null, 204);
  })
  .get(
    "/:id/messages/:seq/replies",
    docs.replies,
    valid("param", MessageParam),
    valid("query", z.object({ after: Seq.default(0), limit: Limit })),
    async (c) => {
      const { id, seq } = c.req.valid("param");
      const { after, limit } = c.req.valid("query");
      const page = unwrap(await channelStub(c.env, id).replies(c.var.auth.userId, seq, after, limit));
      return c.json({ messages: page.messages, hasMore: page.hasMore });
    },
  )
  .get(
    "/:id/changes",
    docs.changes,
    valid("param", ChannelParam),
    valid("query", z.object({ afterRev: Seq.default(0), limit: Limit })),
    async (c) => {
      const { afterRev, limit } = c.req.valid("query");
      const page = unwrap(
        await channelStub(c.env, c.req.valid("param").id).changes(c.var.auth.userId, afterRev, limit),
      );
      return c.json({ messages: page.messages, rev: page.rev, hasMore: page.hasMore });
    },
  )
  .post("/:id/files", uploadDocs, valid("param", ChannelParam), valid("query", UploadQuery), async (c) =>
    uploadFile(c, c.req.valid("param").id, c.req.valid("query").name),
  )
  .post("/:id/read", docs.read, valid("param", ChannelParam), valid("json", z.object({ seq: JsonSeq })), async (c) => {
    const { userId, deviceId } = c.var.auth;
    unwrap(await channelStub(c.env, c.req.valid("param").id).markRead(userId, c.req.valid("json").seq, deviceId));
    return c.body(null, 204);
  })
  .put(
    "/:id/notifications",
    docs.notifications,
    valid("param", ChannelParam),
    valid("json", z.object({ level: NotificationLevel })),
    async (c) => {
      const stub = channelStub(c.env, c.req.valid("param").id);
      unwrap(await stub.setNotifications(c.var.auth.userId, c.req.valid("json").level));
      return c.body(null, 204);
    },
  );
