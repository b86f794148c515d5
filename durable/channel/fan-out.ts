import { loggableError } from "../../src/log";
import type { UserServerFrame } from "../../src/protocol/frames";
import { LARGE_CHANNEL_MEMBERS } from "../../src/protocol/limits";
import type { Message } from "../../src/protocol/types";
import type { MemberPresence } from "../kit/relay";
import type { ChannelStore } from "./channel-store";
import { wantsPush } from "./notification-levels";
import { PushGate } from "./push-gate";
import { UserRelays } from "./user-relays";

export interface FanOutDeps {
  store: ChannelStore;
  /** Members with the channel open right now, each with their devices that have a channel socket. */
  watching: () => ReadonlyMap<string, readonly string[]>;
  /** Dials one member's UserDO relay socket (durable/kit/relay.ts). */
  dial: (userId: string) => Promise<Response>;
  /** Asks one member's UserDO for a Web Push (UserDO.notify); it answers with its presence. */
  notify: (userId: string, message: Message) => Promise<MemberPresence>;
  pushWindowMs: number;
}

/**
 * Everything a channel does for its members beyond its own sockets: relays frames to
 * the members online elsewhere, asks offline members' UserDOs for a Web Push when
 * their level wants one, and keeps who is online, correcting it from whatever a
 * UserDO answers. Work per message follows the online members and those who want a
 * push, never the member list of a large channel. docs/DELIVERY.md has the design.
 */
export class FanOut {
  private readonly relays: UserRelays;
  private readonly pushGate: PushGate;

  constructor(private readonly deps: FanOutDeps) {
    this.relays = new UserRelays({
      dial: deps.dial,
      offline: (userId, presence) => this.presence(userId, presence),
      openDevices: (userId) => deps.watching().get(userId) ?? [],
    });
    this.pushGate = new PushGate(deps.pushWindowMs);
  }

  /** A new message: relayed to the online, offered for push to the offline. */
  message(message: Message, now: number): void {
    this.relay({ type: "message", message });
    this.offerPushes(message, now);
  }

  /**
   * One user-socket frame to every online member, serialized once: at once to those
   * online elsewhere, within HOLD_MS to those who have the channel open (their other
   * devices; the one watching has it already).
   */
  relay(frame: UserServerFrame): void {
    const online = this.deps.store.online().ids();
    if (online.size > 0) this.relays.send(online, JSON.stringify(frame), this.deps.watching());
  }

  /** A member's presence as their UserDO tells it; stale news and non-members change nothing. */
  presence(userId: string, presence: MemberPresence): void {
    const { store } = this.deps;
    if (!store.roleOf(userId) || !store.online().record(userId, presence)) return;
    if (presence.online) this.pushGate.forget(userId);
    else this.relays.close(userId);
  }

  /** A member left (their rows went with the membership): nothing of them stays here either. */
  left(userId: string): void {
    this.relays.close(userId);
    this.pushGate.forget(userId);
  }

  /** For the alarm: closes relays idle for RELAY_IDLE_MS, or returns when to look again. */
  closeIdle(now: number): number | null {
    return this.relays.closeIdle(now);
  }

  /** For tests: how many relays are open or being dialled. */
  get openRelays(): number {
    return this.relays.size;
  }

  /**
   * Offline members whose level asks for a push of `message`. A large channel looks
   * only at members who chose `all` (its default is `mentions`) and those the message
   * mentions, so the work is never proportional to all of its members.
   */
  private offerPushes(message: Message, now: number): void {
    const { store } = this.deps;
    const members = store.members();
    const levels = store.levels();
    const online = store.online();
    const mentioned = new Set(message.mentions);
    const candidates =
      members.size > LARGE_CHANNEL_MEMBERS ? new Set([...levels.choosing("all"), ...mentioned]) : members.keys();
    const targets = [...candidates].filter(
      (id) =>
        id !== message.senderId &&
        members.has(id) &&
        !online.has(id) &&
        online.mayPush(id) &&
        wantsPush(levels.levelOf(id, members.size), mentioned.has(id)),
    );
    for (const id of this.pushGate.offer(targets, now)) void this.notify(id, message);
  }

  private async notify(userId: string, message: Message): Promise<void> {
    try {
      this.presence(userId, await this.deps.notify(userId, message));
    } catch (err) {
      console.warn("push request failed", loggableError(err));
    }
  }
}
