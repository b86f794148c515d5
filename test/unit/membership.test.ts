import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ChannelRecord,
  canView,
  checkAdd,
  checkRemove,
  checkSetRole,
  checkUpdate,
  memberLimit,
  successor,
  toChannel,
} from "../../durable/channel/membership";
import type { Role } from "../../src/protocol/types";

const MAX = 100;
const base = { id: "c1", createdBy: "owner", createdAt: 1_700_000_000_000, topic: null, memberCount: 2 };
const dm: ChannelRecord = { ...base, kind: "dm", name: null, visibility: "private" };
const publicGroup: ChannelRecord = { ...base, kind: "group", name: "Lobby", visibility: "public" };
const privateGroup: ChannelRecord = { ...base, kind: "group", name: "Staff", visibility: "private" };

const ROLES: Role[] = ["owner", "admin", "member"];
const as = (id: string, role: Role | undefined) => ({ id, role });
const codeOf = (outcome: ReturnType<typeof checkAdd>) => outcome?.error.code ?? "ok";

describe("toChannel", () => {
  it("shows a group's name, leaves a DM's out, and never exposes the creator", () => {
    expect(toChannel(publicGroup)).toEqual({
      id: "c1",
      kind: "group",
      name: "Lobby",
      visibility: "public",
      createdAt: base.createdAt,
      memberCount: 2,
    });
    const shown = toChannel(dm);
    expect(shown).toEqual({ id: "c1", kind: "dm", visibility: "private", createdAt: base.createdAt, memberCount: 2 });
    expect("name" in shown).toBe(false);
  });

  it("shows a topic when there is one, and leaves the field out when not", () => {
    expect(toChannel({ ...publicGroup, topic: "Rules: be kind" }).topic).toBe("Rules: be kind");
    expect("topic" in toChannel(publicGroup)).toBe(false);
  });
});

describe("canView", () => {
  it("members see every kind of channel, whatever their role", () => {
    for (const channel of [dm, publicGroup, privateGroup]) {
      for (const role of ROLES) expect(canView(channel, role)).toBe(true);
    }
  });

  it("a non-member sees a public group, never a private group or a DM", () => {
    expect(canView(publicGroup, undefined)).toBe(true);
    expect(canView(privateGroup, undefined)).toBe(false);
    // A DM is stored as private, but the rule must not depend on that: DMs are never public.
    expect(canView({ ...dm, visibility: "public" }, undefined)).toBe(false);
  });
});

describe("checkAdd", () => {
  it("a DM's members never change, not even by a member of it", () => {
    expect(codeOf(checkAdd(dm, as("a", "member"), "c", 2, MAX))).toBe("forbidden");
    expect(codeOf(checkAdd(dm, as("x", undefined), "x", 2, MAX))).toBe("forbidden");
  });

  it("anyone may join a public group themselves; a private group only by invitation", () => {
    expect(checkAdd(publicGroup, as("x", undefined), "x", 5, MAX)).toBeNull();
    const refused = checkAdd(privateGroup, as("x", undefined), "x", 5, MAX);
    expect(refused?.error.code).toBe("forbidden");
    expect(refused?.error.message).toMatch(/private/);
  });

  it("a non-member cannot add someone else, even to a public group", () => {
    for (const channel of [publicGroup, privateGroup]) {
      expect(codeOf(checkAdd(channel, as("x", undefined), "y", 5, MAX))).toBe("forbidden");
    }
  });

  it("any member, whatever their role, may invite to a group, public or private", () => {
    for (const channel of [publicGroup, privateGroup]) {
      for (const role of ROLES) expect(checkAdd(channel, as("m", role), "newcomer", 5, MAX)).toBeNull();
    }
  });

  it("the last free place is taken; a full channel refuses with channel_full", () => {
    expect(checkAdd(publicGroup, as("x", undefined), "x", MAX - 1, MAX)).toBeNull();
    expect(checkAdd(privateGroup, as("m", "member"), "y", MAX - 1, MAX)).toBeNull();
    const full = checkAdd(publicGroup, as("x", undefined), "x", MAX, MAX);
    expect(full?.error).toEqual({ code: "channel_full", message: `A channel has at most ${MAX} members` });
    expect(codeOf(checkAdd(privateGroup, as("m", "owner"), "y", MAX, MAX))).toBe("channel_full");
    // Over the limit (the limit was lowered since) is full too.
    expect(codeOf(checkAdd(publicGroup, as("x", undefined), "x", MAX + 3, MAX))).toBe("channel_full");
  });

  it("permission is decided before room: who may not join learns nothing about how full it is", () => {
    expect(codeOf(checkAdd(privateGroup, as("x", undefined), "x", MAX, MAX))).toBe("forbidden");
    expect(codeOf(checkAdd(publicGroup, as("x", undefined), "y", MAX, MAX))).toBe("forbidden");
    expect(codeOf(checkAdd(dm, as("a", "member"), "c", MAX, MAX))).toBe("forbidden");
  });
});

describe("memberLimit", () => {
  it("public groups take MAX_CHANNEL_MEMBERS, private groups and DMs MAX_GROUP_MEMBERS", () => {
    const limits = { MAX_GROUP_MEMBERS: 100, MAX_CHANNEL_MEMBERS: 10_000 };
    expect(memberLimit("public", limits)).toBe(10_000);
    expect(memberLimit("private", limits)).toBe(100);
  });
});

describe("checkUpdate", () => {
  it("the owner and admins change a group's name and topic; members and outsiders cannot", () => {
    for (const channel of [publicGroup, privateGroup]) {
      expect(checkUpdate(channel, "owner")).toBeNull();
      expect(checkUpdate(channel, "admin")).toBeNull();
      expect(codeOf(checkUpdate(channel, "member"))).toBe("forbidden");
      expect(checkUpdate(channel, undefined)?.error.message).toBe("Not a member of this channel");
    }
  });

  it("a DM has nothing to rename, whoever asks", () => {
    for (const role of ROLES) expect(codeOf(checkUpdate(dm, role))).toBe("forbidden");
  });
});

describe("checkSetRole", () => {
  const member = (userId: string, role: Role) => ({ userId, role });

  it("only the owner changes roles, of admins and members", () => {
    for (const target of ["admin", "member"] as const) {
      expect(checkSetRole(privateGroup, as("o", "owner"), member("t", target))).toBeNull();
      expect(codeOf(checkSetRole(privateGroup, as("a", "admin"), member("t", target)))).toBe("forbidden");
      expect(codeOf(checkSetRole(privateGroup, as("m", "member"), member("t", target)))).toBe("forbidden");
    }
  });

  it("the owner's role is not changed this way (409), and a non-member target is 404", () => {
    expect(codeOf(checkSetRole(publicGroup, as("o", "owner"), member("o", "owner")))).toBe("conflict");
    expect(codeOf(checkSetRole(publicGroup, as("o", "owner"), undefined))).toBe("not_found");
  });

  it("outsiders are refused before anything is said about the target; DMs have no roles", () => {
    expect(checkSetRole(publicGroup, as("x", undefined), undefined)?.error.message).toBe(
      "Not a member of this channel",
    );
    expect(codeOf(checkSetRole(dm, as("a", "member"), member("b", "member")))).toBe("forbidden");
  });

  it("an admin asking about a non-member learns nothing: 403 before 404", () => {
    expect(codeOf(checkSetRole(publicGroup, as("a", "admin"), undefined))).toBe("forbidden");
  });
});

describe("checkRemove", () => {
  const member = (userId: string, role: Role) => ({ userId, role });
  const outcome = (actorRole: Role, targetRole: Role) =>
    codeOf(checkRemove(privateGroup, as("actor", actorRole), member("target", targetRole)));

  it("removing someone else: the owner removes admins and members, an admin only members, nobody the owner", () => {
    const table = ROLES.flatMap((actor) => ROLES.map((target) => `${actor}→${target}: ${outcome(actor, target)}`));
    expect(table).toEqual([
      "owner→owner: forbidden",
      "owner→admin: ok",
      "owner→member: ok",
      "admin→owner: forbidden",
      "admin→admin: forbidden",
      "admin→member: ok",
      "member→owner: forbidden",
      "member→admin: forbidden",
      "member→member: forbidden",
    ]);
  });

  it("every member may leave a group, the owner included", () => {
    for (const channel of [publicGroup, privateGroup]) {
      for (const role of ROLES) expect(checkRemove(channel, as("me", role), member("me", role))).toBeNull();
    }
  });

  it("nobody leaves or is removed from a DM", () => {
    expect(codeOf(checkRemove(dm, as("a", "member"), member("a", "member")))).toBe("forbidden");
    expect(codeOf(checkRemove(dm, as("a", "member"), member("b", "member")))).toBe("forbidden");
  });

  it("a non-member is refused before anything is said about the target", () => {
    expect(codeOf(checkRemove(publicGroup, as("x", undefined), member("m", "member")))).toBe("forbidden");
    expect(codeOf(checkRemove(publicGroup, as("x", undefined), undefined))).toBe("forbidden");
    expect(codeOf(checkRemove(publicGroup, as("x", undefined), member("x", "member")))).toBe("forbidden");
  });

  it("removing someone who is not a member is not_found, for a member asking", () => {
    expect(codeOf(checkRemove(publicGroup, as("o", "owner"), undefined))).toBe("not_found");
    expect(codeOf(checkRemove(dm, as("a", "member"), undefined))).toBe("not_found");
  });
});

describe("successor", () => {
  const m = (userId: string, role: Role, joinedAt: number) => ({ userId, role, joinedAt });

  it("the longest-standing admin takes over, even when plain members joined earlier", () => {
    expect(successor([m("new-admin", "admin", 30), m("oldest", "member", 10), m("old-admin", "admin", 20)])).toBe(
      "old-admin",
    );
  });

  it("without admins, the longest-standing member", () => {
    expect(successor([m("b", "member", 20), m("a", "member", 10), m("c", "member", 30)])).toBe("a");
  });

  it("nobody left, nobody takes over", () => {
    expect(successor([])).toBeUndefined();
  });

  it("on equal join times the first listed wins (the store lists by join time, then id)", () => {
    expect(successor([m("a", "member", 10), m("b", "member", 10)])).toBe("a");
    expect(successor([m("b", "admin", 10), m("a", "admin", 10)])).toBe("b");
  });

  it("leaves the list it was given as it was", () => {
    const list = [m("b", "member", 20), m("a", "admin", 10)];
    const copy = structuredClone(list);
    successor(list);
    expect(list).toEqual(copy);
  });

  it("property: the heir is a remaining admin if there is one, and nobody of that kind joined earlier", () => {
    const remaining = fc.uniqueArray(
      fc.record({
        userId: fc.string({ minLength: 1, maxLength: 6 }),
        role: fc.constantFrom<Role>("admin", "member"),
        joinedAt: fc.integer({ min: 0, max: 50 }),
      }),
      { selector: (r) => r.userId, maxLength: 12 },
    );
    fc.assert(
      fc.property(remaining, (rows) => {
        const heirId = successor(rows);
        if (rows.length === 0) {
          expect(heirId).toBeUndefined();
          return;
        }
        const heir = rows.find((r) => r.userId === heirId);
        const pool = rows.some((r) => r.role === "admin") ? rows.filter((r) => r.role === "admin") : rows;
        expect(pool).toContain(heir);
        expect(Math.min(...pool.map((r) => r.joinedAt))).toBe(heir!.joinedAt);
      }),
    );
  });
});
