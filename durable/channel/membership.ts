import { type Failure, fail } from "../../src/protocol/outcome";
import type { Channel, ChannelKind, Member, Role, Visibility } from "../../src/protocol/types";

/**
 * Who may do what in a channel: pure decisions, so the rules read in one place and
 * are tested without a runtime. The ChannelDO applies them to its own storage.
 */

export interface ChannelRecord {
  id: string;
  kind: ChannelKind;
  name: string | null;
  topic: string | null;
  visibility: Visibility;
  createdBy: string;
  createdAt: number;
  /** Not a stored field: ChannelStore keeps it equal to the number of member rows. */
  memberCount: number;
}

export function toChannel(c: ChannelRecord): Channel {
  return {
    id: c.id,
    kind: c.kind,
    ...(c.name !== null ? { name: c.name } : {}),
    ...(c.topic !== null ? { topic: c.topic } : {}),
    visibility: c.visibility,
    createdAt: c.createdAt,
    memberCount: c.memberCount,
  };
}

/** The most members a channel may have: public groups are meant to be large, private ones are not. */
export function memberLimit(
  visibility: Visibility,
  limits: { MAX_GROUP_MEMBERS: number; MAX_CHANNEL_MEMBERS: number },
): number {
  return visibility === "public" ? limits.MAX_CHANNEL_MEMBERS : limits.MAX_GROUP_MEMBERS;
}

const canManage = (role: Role | undefined) => role === "owner" || role === "admin";

/**
 * The one refusal for a channel the caller is not a member of, and for an id no channel
 * has: the same code and message, so a DM or private group of others cannot be told
 * from one that does not exist.
 */
export function notMember(): Failure {
  return fail("forbidden", "Not a member of this channel");
}

/** Public groups are visible to every signed-in user; DMs and private groups only to members. */
export function canView(channel: ChannelRecord, role: Role | undefined): boolean {
  return role !== undefined || (channel.kind === "group" && channel.visibility === "public");
}

/** Adding `targetId`, by `actorId` (themselves for a self-join). Null means allowed. */
export function checkAdd(
  channel: ChannelRecord,
  actor: { id: string; role: Role | undefined },
  targetId: string,
  memberCount: number,
  maxMembers: number,
): Failure | null {
  if (channel.kind === "dm") return fail("forbidden", "A DM's members cannot change");
  const selfJoin = actor.id === targetId;
  if (actor.role === undefined) {
    if (!selfJoin) return fail("forbidden", "Only members can add people to a channel");
    if (channel.visibility !== "public")
      return fail("forbidden", "This channel is private: ask a member for an invite");
  }
  if (memberCount >= maxMembers) return fail("channel_full", `A channel has at most ${maxMembers} members`);
  return null;
}

/** Renaming a channel or setting its topic. Null means allowed. */
export function checkUpdate(channel: ChannelRecord, role: Role | undefined): Failure | null {
  if (role === undefined) return notMember();
  if (channel.kind === "dm") return fail("forbidden", "A DM has no name or topic to change");
  if (!canManage(role)) return fail("forbidden", "Only the owner or an admin can change a channel's settings");
  return null;
}

/** Making `target` an admin or a plain member again. Null means allowed. */
export function checkSetRole(
  channel: ChannelRecord,
  actor: { id: string; role: Role | undefined },
  target: Member | undefined,
): Failure | null {
  if (actor.role === undefined) return notMember();
  if (channel.kind === "dm") return fail("forbidden", "A DM has no roles to change");
  if (actor.role !== "owner") return fail("forbidden", "Only the owner can change roles");
  if (target === undefined) return fail("not_found", "Not a member of this channel");
  // Ownership passes only when the owner leaves (see successor): never by demotion.
  if (target.role === "owner") return fail("conflict", "The owner's role cannot be changed");
  return null;
}

/** Removing `target` (leave when actor is target). Null means allowed. */
export function checkRemove(
  channel: ChannelRecord,
  actor: { id: string; role: Role | undefined },
  target: Member | undefined,
): Failure | null {
  if (actor.role === undefined) return notMember();
  if (target === undefined) return fail("not_found", "Not a member of this channel");
  if (channel.kind === "dm") return fail("forbidden", "A DM's members cannot change");
  if (actor.id === target.userId) return null;
  if (!canManage(actor.role)) return fail("forbidden", "Only the owner or an admin can remove members");
  // An admin may remove plain members; only the owner may remove an admin; nobody removes the owner.
  if (target.role === "owner" || (target.role === "admin" && actor.role !== "owner")) {
    return fail("forbidden", `A ${actor.role} cannot remove a ${target.role}`);
  }
  return null;
}

/** When the owner leaves, the longest-standing admin, else the longest-standing member, takes over. */
export function successor(remaining: readonly (Member & { joinedAt: number })[]): string | undefined {
  const byAge = [...remaining].sort((a, b) => a.joinedAt - b.joinedAt);
  return (byAge.find((m) => m.role === "admin") ?? byAge[0])?.userId;
}
