import type { TimerControl } from "../kit/timers";
import { onSocketsChanged, type Status } from "./presence-rules";

/** A user's presence, as contacts are told it and as GET /api/presence answers. */
export interface Presence {
  userId: string;
  status: Status;
  lastActiveAt: number;
}

export type PresenceChange = Omit<Presence, "userId">;

/** The end of the grace period after the last socket went. */
export type PresenceTimer = "offline";

/**
 * Online or offline, kept in the `state` table so it survives eviction, with the grace
 * period that makes a quick reconnect invisible (presence-rules.ts has the rules). The
 * only code that reads or writes that table.
 */
export class UserPresence {
  constructor(
    private readonly sql: SqlStorage,
    private readonly timers: TimerControl<PresenceTimer>,
    private readonly graceMs: number,
    /** The object's name: its user's id, where the runtime provides it. */
    private readonly idName: string | undefined,
  ) {}

  /** The object is named after its user; older runtimes lack id.name, so the first socket also records it. */
  userId(): string | undefined {
    return this.idName ?? this.get("user_id");
  }

  rememberUser(userId: string): void {
    if (this.get("user_id") !== userId) this.set("user_id", userId);
  }

  /** `lastHeardAt` is when a live socket was last heard from; with none, the stored time counts. */
  current(lastHeardAt: number | null): Presence {
    const status = this.status();
    const lastActiveAt = lastHeardAt ?? Number(this.get("last_active_at") ?? 0);
    return { userId: this.userId() ?? "", status, lastActiveAt };
  }

  /**
   * Sockets opened, closed or fell silent. Going online happens at once and is
   * returned, to be announced; losing the last socket (`goneSince`: when it closed or
   * fell silent) starts the grace period, which may be over already: a silent socket
   * is found by a liveness check that comes as late as the grace period allows
   * (presence-rules.ts), and then the user goes offline in the same step, returned.
   */
  socketsChanged(anyAlive: boolean, goneSince: number): PresenceChange | null {
    const now = Date.now();
    switch (onSocketsChanged(this.status(), anyAlive)) {
      case "online":
        this.timers.cancel("offline");
        this.set("status", "online");
        this.set("last_active_at", String(now));
        return { status: "online", lastActiveAt: now };
      case "cancel_grace":
        this.timers.cancel("offline");
        return null;
      case "start_grace":
        this.set("last_active_at", String(goneSince));
        if (goneSince + this.graceMs > now) {
          this.timers.schedule("offline", goneSince + this.graceMs);
          return null;
        }
        this.timers.cancel("offline");
        return this.graceOver(false);
      case "none":
        return null;
    }
  }

  /** The grace period ran out: offline, unless a socket came back meanwhile. Returned to be announced. */
  graceOver(anyAlive: boolean): PresenceChange | null {
    if (anyAlive || this.status() !== "online") return null;
    this.set("status", "offline");
    return { status: "offline", lastActiveAt: Number(this.get("last_active_at") ?? Date.now()) };
  }

  private status(): Status {
    return (this.get("status") as Status | undefined) ?? "offline";
  }

  private get(name: string): string | undefined {
    return this.sql.exec<{ value: string }>("SELECT value FROM state WHERE name = ?", name).toArray()[0]?.value;
  }

  private set(name: string, value: string): void {
    this.sql.exec("INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)", name, value);
  }
}
