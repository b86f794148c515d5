import type { ChannelSummary, Device, Message, PresenceStatus, Role, User } from "@edge-chat/sdk";

/** "paused": another tab of this browser took the connection over (the server keeps a few per device). */
export type ConnectionState = "online" | "reconnecting" | "offline" | "paused";

/** The thread open in the side panel: a parent's replies, paged from the oldest. */
export interface ThreadState {
  channelId: string;
  parentSeq: number;
  replies: Map<number, Message>;
  /** The `after` of the next page: live replies do not move it, so no page is skipped. */
  pagedUpTo: number;
  hasMore: boolean;
  loading: boolean;
}

export interface ChannelEntry {
  summary: ChannelSummary;
  /** The group name, or the partner's display name for a DM once it is known. */
  title: string;
  partnerId?: string;
  /** A DM whose partner erased their account and left it. */
  partnerErased?: boolean;
}

/**
 * Everything the views show, in one place. Views subscribe and redraw; changes are
 * batched into one redraw per microtask so a burst of frames costs one render.
 */
export class Store {
  me: User | null = null;
  readonly channels = new Map<string, ChannelEntry>();
  readonly users = new Map<string, User>();
  readonly presence = new Map<string, PresenceStatus>();
  /** Users I blocked. */
  readonly blocked = new Set<string>();
  /** My signed-in devices, as the account panel last loaded them. */
  devices: Device[] = [];
  /** My role in each group I have opened: whether I may change its name and topic. */
  readonly roles = new Map<string, Role>();
  readonly messages = new Map<string, Map<number, Message>>();
  /** The members of each channel opened (their ids), for `@` autocomplete and highlighting. */
  readonly members = new Map<string, string[]>();
  thread: ThreadState | null = null;
  /** False once scroll-back reached the first message of a channel. */
  readonly hasOlder = new Map<string, boolean>();
  /**
   * Channels whose latest history page has arrived (it is fetched when a channel is
   * opened). Before that, a channel's messages are only what the sockets happened to
   * bring — after a reload, typically just the newest one — and the conversation view
   * shows none of them rather than a conversation with its start missing.
   */
  readonly loaded = new Set<string>();
  /** channelId → userId → when the indicator expires. */
  readonly typing = new Map<string, Map<string, number>>();
  activeId: string | null = null;
  /**
   * A message to show in its context (a search result chosen): the conversation scrolls
   * to it once (`scrolled` then turns true) and marks it until another channel is opened.
   */
  focus: { channelId: string; seq: number; scrolled: boolean } | null = null;
  connection: ConnectionState = "offline";
  private readonly listeners = new Set<() => void>();
  private scheduled = false;

  subscribe(fn: () => void): void {
    this.listeners.add(fn);
  }

  changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const fn of this.listeners) fn();
    });
  }

  addMessages(channelId: string, list: readonly Message[]): void {
    let map = this.messages.get(channelId);
    if (!map) {
      map = new Map();
      this.messages.set(channelId, map);
    }
    for (const m of list) keepNewer(map, m);
    this.changed();
  }

  /**
   * A message changed (edit, delete, reactions, replies): every copy shown follows,
   * the channel list's preview included. Messages not held are not added: the channel's
   * stream brings those.
   */
  applyUpdate(m: Message): void {
    const map = this.messages.get(m.channelId);
    if (map?.has(m.seq)) keepNewer(map, m);
    const t = this.thread;
    if (t && t.channelId === m.channelId && t.replies.has(m.seq)) keepNewer(t.replies, m);
    const summary = this.channels.get(m.channelId)?.summary;
    if (summary?.lastMessage?.seq === m.seq && summary.lastMessage.rev < m.rev) summary.lastMessage = m;
    this.changed();
  }

  /** Ascending by seq. */
  messagesOf(channelId: string): Message[] {
    return [...(this.messages.get(channelId)?.values() ?? [])].sort((a, b) => a.seq - b.seq);
  }

  userName(userId: string): string {
    const u = this.users.get(userId);
    return u ? u.displayName || u.username : "…";
  }

  typingNames(channelId: string, now: number): string[] {
    const map = this.typing.get(channelId);
    if (!map) return [];
    return [...map].filter(([id, until]) => until > now && id !== this.me?.id).map(([id]) => this.userName(id));
  }

  reset(): void {
    this.me = null;
    this.channels.clear();
    this.messages.clear();
    this.members.clear();
    this.thread = null;
    this.hasOlder.clear();
    this.loaded.clear();
    this.typing.clear();
    this.presence.clear();
    this.roles.clear();
    this.blocked.clear();
    this.devices = [];
    this.activeId = null;
    this.focus = null;
    this.changed();
  }
}

/**
 * Of two copies of a message the one with the higher rev is newer: a history page
 * fetched before an edit arrived must not undo it.
 */
function keepNewer(map: Map<number, Message>, m: Message): void {
  const old = map.get(m.seq);
  if (!old || old.rev < m.rev) map.set(m.seq, m);
}
