import {
  deleteMember,
  updateChannelSettings,
  updateMemberRole,
  writeChannel,
  writeMember,
} from "../../src/channels/d1-membership";
import { config } from "../../src/config";
import type { ChannelServerFrame } from "../../src/protocol/frames";
import { fail, type Outcome } from "../../src/protocol/outcome";
import type { Channel, ChannelKind, Role, Visibility } from "../../src/protocol/types";
import type { ChannelStore } from "./channel-store";
import type { FanOut } from "./fan-out";
import { tellInboxes } from "./inboxes";
import {
  type ChannelRecord,
  canView,
  checkAdd,
  checkRemove,
  checkSetRole,
  checkUpdate,
  memberLimit,
  notMember,
  successor,
  toChannel,
} from "./membership";

export interface CreateChannel {
  id: string;
  kind: ChannelKind;
  name: string | null;
  visibility: Visibility;
  createdBy: string;
  memberIds: readonly string[];
}

/** A rename or a new topic; `topic: null` clears it. Absent fields stay as they are. */
export interface ChannelSettings {
  name?: string;
  topic?: string | null;
}

export interface MemberChangesDeps {
  ctx: DurableObjectState;
  env: Env;
  store: ChannelStore;
  fanOut: FanOut;
  /** To every channel socket. */
  broadcast: (frame: ChannelServerFrame) => void;
  /** Closes a removed member's channel sockets (4403). */
  dropSocketsOf: (userId: string) => void;
  /** Usernames from D1, none when it cannot answer. */
  readUsernames: (userIds: readonly string[]) => Promise<Map<string, string>>;
}

/**
 * A channel coming into being and its members changing: each change is checked by the
 * rules of membership.ts, written to D1 and then here, inside blockConcurrencyWhile (so
 * no message or other change comes between), and then told to whoever it concerns:
 * the channel's sockets, the members' inboxes and the fan-out's online set.
 */
export class MemberChanges {
  private readonly ctx: DurableObjectState;
  private readonly env: Env;
  private readonly store: ChannelStore;
  private readonly fanOut: FanOut;
  private readonly broadcast: MemberChangesDeps["broadcast"];
  private readonly dropSocketsOf: MemberChangesDeps["dropSocketsOf"];
  private readonly readUsernames: MemberChangesDeps["readUsernames"];

  constructor(deps: MemberChangesDeps) {
    this.ctx = deps.ctx;
    this.env = deps.env;
    this.store = deps.store;
    this.fanOut = deps.fanOut;
    this.broadcast = deps.broadcast;
    this.dropSocketsOf = deps.dropSocketsOf;
    this.readUsernames = deps.readUsernames;
  }

  /** Creates the channel, or returns it unchanged if it exists (DM get-or-create relies on this). */
  async create(init: CreateChannel): Promise<Outcome<{ channel: Channel; created: boolean }>> {
    const existing = this.store.channel();
    if (existing) return { ok: true, channel: toChannel(existing), created: false };
    const memberIds = [...new Set([init.createdBy, ...init.memberIds])];
    const max = memberLimit(init.visibility, config(this.env));
    if (memberIds.length > max) return fail("channel_full", `A channel has at most ${max} members`);

    return this.ctx.blockConcurrencyWhile(async () => {
      const raced = this.store.channel();
      if (raced) return { ok: true as const, channel: toChannel(raced), created: false };
      const { memberIds: _, ...fields } = init;
      const record: ChannelRecord = { ...fields, topic: null, createdAt: Date.now(), memberCount: memberIds.length };
      const members = memberIds.map((userId) => ({
        userId,
        role: (init.kind === "group" && userId === init.createdBy ? "owner" : "member") as Role,
        joinedAt: record.createdAt,
      }));
      const [, names] = await Promise.all([writeChannel(this.env.DB, record, members), this.readUsernames(memberIds)]);
      this.store.createChannel(record, members);
      this.store.names().learn(names);
      const channel = toChannel(record);
      const told = await tellInboxes(this.env, memberIds, (inbox) => inbox.channelEvent("added", channel));
      for (const [userId, presence] of told) this.fanOut.presence(userId, presence);
      return { ok: true as const, channel, created: true };
    });
  }

  /** Adds `userId` (a self-join when actorId === userId). Adding a member again changes nothing. */
  async addMember(actorId: string, userId: string): Promise<Outcome<{ channel: Channel; added: boolean }>> {
    const ch = this.store.channel();
    if (!ch) return notMember();
    return this.ctx.blockConcurrencyWhile(async () => {
      const members = this.store.members();
      const actor = { id: actorId, role: members.get(actorId)?.role };
      // Before any rule that would tell a DM from a private group from nothing at all.
      if (!canView(ch, actor.role)) return notMember();
      if (members.has(userId)) return { ok: true as const, channel: toChannel(ch), added: false };
      const problem = checkAdd(ch, actor, userId, members.size, memberLimit(ch.visibility, config(this.env)));
      if (problem) return problem;
      const member = { userId, role: "member" as const, joinedAt: Date.now() };
      const [, names] = await Promise.all([
        writeMember(this.env.DB, ch.id, member, members.size + 1),
        this.readUsernames([userId]),
      ]);
      this.store.insertMember(member.userId, member.role, member.joinedAt);
      this.store.names().learn(names);
      this.broadcast({ type: "member", channelId: ch.id, userId, event: "joined" });
      const channel = toChannel(this.store.channel()!);
      const lastSeq = this.store.log().lastSeq;
      const told = await tellInboxes(this.env, [userId], (inbox) =>
        inbox.channelEvent("added", channel, { lastSeq, readSeq: 0 }),
      );
      for (const [id, presence] of told) this.fanOut.presence(id, presence);
      return { ok: true as const, channel, added: true };
    });
  }

  /** A member goes (leaves, is removed, or is erased: `erasing` skips the rules, and an erased account leaves even a DM). */
  async remove(actorId: string, userId: string, erasing: boolean): Promise<Outcome<{ channel: Channel }>> {
    const ch = this.store.channel();
    // checkRemove refuses a non-member with this same answer before any other rule.
    if (!ch) return notMember();
    return this.ctx.blockConcurrencyWhile(async () => {
      const members = this.store.members();
      const target = members.get(userId);
      const problem =
        erasing && target
          ? null
          : checkRemove(ch, { id: actorId, role: members.get(actorId)?.role }, target && { userId, role: target.role });
      if (problem) return problem;
      const heir =
        target?.role === "owner" ? successor(this.store.memberRows().filter((m) => m.userId !== userId)) : undefined;
      const promote = heir ? { userId: heir, role: "owner" as const } : undefined;
      await deleteMember(this.env.DB, ch.id, userId, members.size - 1, promote);
      this.store.deleteMember(userId, heir);
      this.fanOut.left(userId);
      this.dropSocketsOf(userId);
      this.broadcast({ type: "member", channelId: ch.id, userId, event: "left" });
      const channel = toChannel(this.store.channel()!);
      await tellInboxes(this.env, [userId], (inbox) => inbox.channelEvent("removed", channel));
      return { ok: true as const, channel };
    });
  }

  /** A new name or topic, by the owner or an admin (the Worker has checked the values). */
  async updateSettings(actorId: string, changes: ChannelSettings): Promise<Outcome<{ channel: Channel }>> {
    const ch = this.store.channel();
    if (!ch) return notMember();
    return this.ctx.blockConcurrencyWhile(async () => {
      const current = this.store.channel()!;
      const problem = checkUpdate(current, this.store.roleOf(actorId));
      if (problem) return problem;
      const name = changes.name ?? current.name;
      const topic = changes.topic === undefined ? current.topic : changes.topic;
      if (name === current.name && topic === current.topic) return { ok: true as const, channel: toChannel(current) };
      await updateChannelSettings(this.env.DB, current.id, name, topic);
      const channel = toChannel(this.store.updateSettings(name, topic));
      this.announceUpdate(channel);
      return { ok: true as const, channel };
    });
  }

  /** The owner makes a member an admin, or an admin a plain member again. */
  async setRole(actorId: string, userId: string, role: "admin" | "member"): Promise<Outcome<{ changed: boolean }>> {
    const ch = this.store.channel();
    if (!ch) return notMember();
    return this.ctx.blockConcurrencyWhile(async () => {
      const members = this.store.members();
      const target = members.get(userId);
      const problem = checkSetRole(
        ch,
        { id: actorId, role: members.get(actorId)?.role },
        target && { userId, role: target.role },
      );
      if (problem) return problem;
      if (target!.role === role) return { ok: true as const, changed: false };
      await updateMemberRole(this.env.DB, ch.id, userId, role);
      this.store.setRole(userId, role);
      return { ok: true as const, changed: true };
    });
  }

  /**
   * Tells the members that the channel's name or topic changed: a `channel` `updated`
   * frame on the user sockets of those online, relayed like a message; the others see
   * it in GET /api/channels, which pulls the channel as it is. So a rename costs the
   * same in a channel of 10,000 as in one of ten online. Not on channel sockets: the
   * user socket carries it, and the channel socket's frames stay as the protocol lists them.
   */
  private announceUpdate(channel: Channel): void {
    this.fanOut.relay({ type: "channel", event: "updated", channel });
  }
}
