import {
  type Channel,
  type ChannelSummary,
  ChatApiError,
  type ChatClient,
  type ChatFile,
  type Message,
  type NotificationLevel,
  type SearchPage,
  type User,
} from "@edge-chat/sdk";
import { unsubscribeThisBrowser } from "./push.ts";
import type { Store } from "./state.ts";

/** How an erased account shows up: its messages stay, its profile answers 410. */
export const DELETED_ACCOUNT = "Deleted account";

const PAGE = 50;
/** Replies fetched per page of a thread. */
const THREAD_PAGE = 50;
/** Member profiles loaded for `@` autocomplete; larger channels search by name instead. */
const MEMBER_PROFILES = 100;
/** Scroll-back towards a search result takes the largest pages history allows. */
const REVEAL_PAGE = 200;

/**
 * The actions the views call and the translation of SDK events into store changes.
 * Views never talk to the SDK directly, so what they show always comes from the store.
 */
export class App {
  private readonly readSent = new Map<string, number>();
  /** Channels whose socket another tab took over; reopened when this tab is looked at. */
  private readonly replaced = new Set<string>();

  constructor(
    readonly client: ChatClient,
    readonly store: Store,
  ) {
    client.on("message", (m) => this.onMessage(m));
    // Edits, deletes, reactions and reply counts; the SDK gives each change once, newest last.
    client.on("update", (m) => store.applyUpdate(m));
    client.on("member", (f) => {
      const ids = store.members.get(f.channelId);
      if (!ids) return;
      const rest = ids.filter((id) => id !== f.userId);
      store.members.set(f.channelId, f.event === "joined" ? [...rest, f.userId] : rest);
      if (f.event === "joined") void this.user(f.userId).catch(() => {});
      store.changed();
    });
    client.on("presence", (p) => {
      store.presence.set(p.userId, p.status);
      store.changed();
    });
    client.on("typing", (t) => {
      let map = store.typing.get(t.channelId);
      if (!map) {
        map = new Map();
        store.typing.set(t.channelId, map);
      }
      map.set(t.userId, t.expiresAt);
      store.changed();
      setTimeout(() => store.changed(), t.expiresAt - Date.now() + 50);
    });
    client.on("read", (r) => {
      // Without userId it is another device of mine: the badge follows it.
      const entry = store.channels.get(r.channelId);
      if (r.userId !== undefined || !entry) return;
      entry.summary.readSeq = Math.max(entry.summary.readSeq, r.seq);
      if (entry.summary.readSeq >= entry.summary.lastSeq) clearUnread(entry.summary);
      store.changed();
    });
    client.on("channel", () => void this.loadChannels());
    client.on("removed", ({ channelId }) => this.forget(channelId));
    client.on("replaced", ({ target }) => {
      if (target.kind === "channel") this.replaced.add(target.channelId);
    });
    client.on("sent", () => store.changed());
    client.on("sendFailed", () => store.changed());
  }

  get meId(): string | null {
    return this.client.session?.userId ?? null;
  }

  async start(): Promise<void> {
    this.store.me = await this.client.loadMe();
    this.store.users.set(this.store.me.id, this.store.me);
    this.client.connect();
    await Promise.all([this.loadChannels(), this.loadBlocks()]);
  }

  async loadChannels(): Promise<void> {
    const list = await this.client.api.listChannels();
    const seen = new Set<string>();
    for (const summary of list) {
      seen.add(summary.id);
      const old = this.store.channels.get(summary.id);
      this.store.channels.set(summary.id, {
        summary,
        // A group's name can change; a DM's title is its partner's name, found once.
        title: summary.kind === "group" ? (summary.name ?? "Group") : (old?.title ?? "Direct message"),
        ...(old?.partnerId ? { partnerId: old.partnerId } : {}),
        ...(old?.partnerErased ? { partnerErased: true } : {}),
      });
    }
    for (const id of [...this.store.channels.keys()]) if (!seen.has(id)) this.forget(id);
    this.store.changed();
    await Promise.all(
      list
        .filter((c) => {
          const entry = this.store.channels.get(c.id);
          return c.kind === "dm" && !entry?.partnerId && !entry?.partnerErased;
        })
        .map((c) => this.resolveDm(c)),
    );
    await this.refreshPresence();
  }

  private async resolveDm(c: ChannelSummary): Promise<void> {
    const { members } = await this.client.api.getChannel(c.id);
    const partnerId = members.find((m) => m.userId !== this.meId)?.userId;
    const entry = this.store.channels.get(c.id);
    if (!entry) return;
    if (!partnerId) {
      // The partner erased their account and left: the conversation stays.
      entry.title = DELETED_ACCOUNT;
      entry.partnerErased = true;
      this.store.changed();
      return;
    }
    const user = await this.user(partnerId);
    entry.partnerId = partnerId;
    entry.title = user.displayName || user.username;
    this.store.changed();
  }

  async user(id: string): Promise<User> {
    const known = this.store.users.get(id);
    if (known) return known;
    const user = await this.client.api.getUser(id).catch((err: unknown) => {
      if (err instanceof ChatApiError && err.code === "gone") {
        return { id, username: "deleted", displayName: DELETED_ACCOUNT };
      }
      throw err;
    });
    this.store.users.set(id, user);
    this.store.changed();
    return user;
  }

  /** Senders and the people mentioned: a message shows their names, and a mention is found by its username. */
  private learnMentioned(messages: readonly Message[]): void {
    const ids = new Set(messages.flatMap((m) => [m.senderId, ...(m.mentions ?? [])]));
    for (const id of ids) void this.user(id).catch(() => {});
  }

  private async refreshPresence(): Promise<void> {
    const ids = [...this.store.channels.values()].flatMap((c) => (c.partnerId ? [c.partnerId] : []));
    if (ids.length === 0) return;
    for (const p of await this.client.api.presence(ids)) this.store.presence.set(p.userId, p.status);
    this.store.changed();
  }

  private onMessage(m: Message): void {
    const entry = this.store.channels.get(m.channelId);
    if (!entry) {
      // A channel someone else just started with us: the list tells us what it is.
      void this.loadChannels();
    } else if (m.seq > entry.summary.lastSeq) {
      entry.summary.lastSeq = m.seq;
      entry.summary.lastMessage = m;
      if (m.senderId !== this.meId && m.seq > entry.summary.readSeq) {
        entry.summary.unread += 1;
        const me = this.meId;
        if (me !== null && m.mentions?.includes(me)) entry.summary.mentions = (entry.summary.mentions ?? 0) + 1;
      }
    }
    this.learnMentioned([m]);
    this.store.typing.get(m.channelId)?.delete(m.senderId);
    this.store.addMessages(m.channelId, [m]);
    const t = this.store.thread;
    if (t && m.replyTo === t.parentSeq && m.channelId === t.channelId) {
      t.replies.set(m.seq, m);
      this.store.changed();
    }
  }

  async select(channelId: string | null): Promise<void> {
    const prev = this.store.activeId;
    if (prev === channelId) return;
    if (prev) this.client.closeChannel(prev);
    if (this.store.focus?.channelId !== channelId) this.store.focus = null;
    this.store.activeId = channelId;
    this.store.thread = null;
    this.store.changed();
    if (!channelId) return;
    this.replaced.delete(channelId);
    // Also when the channel is not in the list yet (a link to a group just joined elsewhere).
    void this.loadMembers(channelId);
    try {
      await this.client.openChannel(channelId);
      const page = await this.client.history(channelId, { limit: PAGE });
      this.store.hasOlder.set(channelId, page.hasMore);
      this.store.addMessages(channelId, page.messages);
      this.learnMentioned(page.messages);
    } finally {
      // Shown from now on; if the page could not be fetched, what the sockets bring is
      // better than nothing.
      this.store.loaded.add(channelId);
      this.store.changed();
    }
  }

  async loadOlder(channelId: string): Promise<void> {
    if (!this.store.loaded.has(channelId) || this.store.hasOlder.get(channelId) === false) return;
    const oldest = this.store.messagesOf(channelId)[0];
    if (!oldest || oldest.seq <= 1) {
      this.store.hasOlder.set(channelId, false);
      return;
    }
    const page = await this.client.history(channelId, { before: oldest.seq, limit: PAGE });
    this.store.hasOlder.set(channelId, page.hasMore);
    this.store.addMessages(channelId, page.messages);
    this.learnMentioned(page.messages);
  }

  /** Messages of my channels matching `q`, best first; `cursor` for the next page. */
  searchMessages(q: string, cursor?: string): Promise<SearchPage> {
    return this.client.api.search(q, cursor ? { cursor } : {});
  }

  /**
   * Opens a channel scrolled to one of its messages, marked (a search result chosen).
   * History has no "around a seq": the channel opens on its latest page, and older pages
   * are fetched until the message is among those loaded.
   */
  async reveal(channelId: string, seq: number): Promise<void> {
    this.store.focus = { channelId, seq, scrolled: false };
    await this.select(channelId);
    for (;;) {
      const oldest = this.store.messagesOf(channelId)[0];
      // As in loadOlder: the first message loaded, nothing is older.
      if (oldest && oldest.seq <= 1) this.store.hasOlder.set(channelId, false);
      if (!oldest || oldest.seq <= seq || this.store.hasOlder.get(channelId) === false) break;
      const page = await this.client.history(channelId, { before: oldest.seq, limit: REVEAL_PAGE });
      this.store.hasOlder.set(channelId, page.hasMore);
      this.store.addMessages(channelId, page.messages);
      if (page.messages.length === 0) break;
    }
    this.store.changed();
  }

  /** Called by the conversation when it is on screen and scrolled to the bottom. */
  markSeen(channelId: string): void {
    const entry = this.store.channels.get(channelId);
    const last = this.store.messagesOf(channelId).at(-1)?.seq ?? 0;
    if (!entry || last === 0 || !this.store.loaded.has(channelId)) return;
    if (entry.summary.unread !== 0 || entry.summary.readSeq < last || (entry.summary.mentions ?? 0) > 0) {
      clearUnread(entry.summary);
      entry.summary.readSeq = Math.max(entry.summary.readSeq, last);
      this.store.changed();
    }
    if ((this.readSent.get(channelId) ?? 0) >= last) return;
    this.readSent.set(channelId, last);
    this.client.markRead(channelId, last).catch(() => this.readSent.delete(channelId));
  }

  send(channelId: string, text: string, attachments: readonly string[] = []): void {
    // The outbox keeps it until acked; failures show up through the `sendFailed` event.
    this.client.send(channelId, text, { attachments }).catch(() => {});
    this.store.changed();
  }

  /** Uploads a file to attach to the next message; `onProgress` gets the fraction sent. */
  upload(channelId: string, file: File, onProgress: (fraction: number) => void): Promise<ChatFile> {
    return this.client.api.uploadFile(channelId, file, {
      onProgress: (p) => onProgress(p.total > 0 ? p.loaded / p.total : 1),
    });
  }

  typing(channelId: string): void {
    this.client.typing(channelId);
  }

  async searchUsers(prefix: string): Promise<User[]> {
    const users = await this.client.api.searchUsers(prefix);
    return users.filter((u) => u.id !== this.meId);
  }

  async openDm(user: User): Promise<string> {
    this.store.users.set(user.id, user);
    const channel = await this.client.api.openDm(user.id);
    await this.loadChannels();
    return channel.id;
  }

  async createGroup(name: string, visibility: "public" | "private"): Promise<string> {
    const channel = await this.client.api.createChannel({ name, visibility });
    await this.loadChannels();
    return channel.id;
  }

  async joinGroup(channelId: string): Promise<string> {
    const me = this.meId;
    if (!me) throw new Error("not signed in");
    await this.client.api.addMember(channelId, me);
    await this.loadChannels();
    return channelId;
  }

  /** My role (may I rename the group, delete others' messages) and who else is there (`@` autocomplete). */
  private async loadMembers(channelId: string): Promise<void> {
    const { members } = await this.client.api.getChannel(channelId).catch(() => ({ members: [] }));
    const mine = members.find((m) => m.userId === this.meId);
    if (mine) this.store.roles.set(channelId, mine.role);
    else this.store.roles.delete(channelId);
    this.store.members.set(
      channelId,
      members.map((m) => m.userId),
    );
    this.store.changed();
    await Promise.all(members.slice(0, MEMBER_PROFILES).map((m) => this.user(m.userId).catch(() => {})));
  }

  /**
   * Members whose username or name starts with `prefix`: from the profiles loaded, and
   * in a channel too large to load them all, from the user search.
   */
  async findMembers(channelId: string, prefix: string): Promise<User[]> {
    const ids = this.store.members.get(channelId) ?? [];
    const known = ids.flatMap((id) => {
      const u = this.store.users.get(id);
      return u && id !== this.meId ? [u] : [];
    });
    if (ids.length <= MEMBER_PROFILES || prefix === "") return known;
    const found = await this.client.api.searchUsers(prefix).catch(() => []);
    const members = new Set(ids);
    for (const u of found) if (members.has(u.id) && !this.store.users.has(u.id)) this.store.users.set(u.id, u);
    return [
      ...known,
      ...found.filter((u) => members.has(u.id) && u.id !== this.meId && !known.some((k) => k.id === u.id)),
    ];
  }

  // ---- Message lifecycle ----

  /** Resolves once the server has the new text; the list shows it from the `update` the SDK gives. */
  async edit(channelId: string, seq: number, text: string): Promise<void> {
    await this.client.edit(channelId, seq, text);
  }

  /** The tombstone arrives as an `update` on the channel socket. */
  remove(channelId: string, seq: number): Promise<void> {
    return this.client.delete(channelId, seq);
  }

  /** Adds my reaction, or takes it back when it is there; the counts come back as an `update`. */
  toggleReaction(m: Message, emoji: string, mine: boolean): Promise<void> {
    return mine ? this.client.api.unreact(m.channelId, m.seq, emoji) : this.client.api.react(m.channelId, m.seq, emoji);
  }

  /** Opens a message's thread in the side panel and fetches its first replies. */
  async openThread(channelId: string, parentSeq: number): Promise<void> {
    this.store.thread = { channelId, parentSeq, replies: new Map(), pagedUpTo: 0, hasMore: true, loading: false };
    this.store.changed();
    await this.loadReplies();
  }

  closeThread(): void {
    this.store.thread = null;
    this.store.changed();
  }

  /** The next page of the open thread's replies. */
  async loadReplies(): Promise<void> {
    const t = this.store.thread;
    if (!t || t.loading || !t.hasMore) return;
    t.loading = true;
    this.store.changed();
    try {
      const page = await this.client.api.replies(t.channelId, t.parentSeq, { after: t.pagedUpTo, limit: THREAD_PAGE });
      for (const m of page.messages) {
        const old = t.replies.get(m.seq);
        if (!old || old.rev < m.rev) t.replies.set(m.seq, m);
      }
      this.learnMentioned(page.messages);
      t.pagedUpTo = page.messages.at(-1)?.seq ?? t.pagedUpTo;
      t.hasMore = page.hasMore;
    } finally {
      t.loading = false;
      this.store.changed();
    }
  }

  /**
   * Sends a reply into the open thread through the SDK's queue, so a reply written
   * offline goes out on reconnect like any message. A refusal is the caller's to show
   * (the thread composer gives the text back).
   */
  async reply(channelId: string, parentSeq: number, text: string): Promise<void> {
    const m = await this.client.send(channelId, text, { replyTo: parentSeq });
    const t = this.store.thread;
    if (t && t.channelId === channelId && t.parentSeq === parentSeq) t.replies.set(m.seq, m);
    this.store.changed();
  }

  /** When this channel may push: every message, mentions of me, or never. */
  async setNotifications(channelId: string, level: NotificationLevel): Promise<void> {
    await this.client.api.setNotifications(channelId, level);
    const entry = this.store.channels.get(channelId);
    if (entry) entry.summary.notifications = level;
    this.store.changed();
  }

  /** One page of the public directory. */
  browse(q: string, cursor?: string): Promise<{ channels: Channel[]; nextCursor?: string }> {
    return this.client.api.publicChannels(q, cursor);
  }

  /** A new name or topic (an empty topic clears it); the channel list shows it at once. */
  async updateChannel(channelId: string, changes: { name?: string; topic?: string }): Promise<void> {
    await this.client.api.updateChannel(channelId, changes);
    await this.loadChannels();
  }

  async invite(channelId: string, user: User): Promise<void> {
    this.store.users.set(user.id, user);
    await this.client.api.addMember(channelId, user.id);
  }

  async leave(channelId: string): Promise<void> {
    const me = this.meId;
    if (!me) return;
    await this.client.api.removeMember(channelId, me);
    this.forget(channelId);
  }

  private forget(channelId: string): void {
    if (this.store.activeId === channelId) void this.select(null);
    this.client.closeChannel(channelId);
    this.store.channels.delete(channelId);
    this.store.messages.delete(channelId);
    this.store.members.delete(channelId);
    if (this.store.thread?.channelId === channelId) this.store.thread = null;
    this.store.loaded.delete(channelId);
    this.store.changed();
  }

  /** The SDK waits out its backoff (up to 30 s); when the browser says the network is back, try at once. */
  /**
   * Opens again what another tab took over (the server closed the oldest sockets of
   * this device with 4409); the other tab then pauses in turn.
   */
  takeOver(): void {
    if (this.store.connection === "paused") this.client.connect();
    const active = this.store.activeId;
    if (active && this.replaced.delete(active)) void this.client.openChannel(active);
  }

  reconnectNow(): void {
    this.client.disconnect();
    this.client.connect();
    const active = this.store.activeId;
    if (active) {
      this.client.closeChannel(active);
      void this.client.openChannel(active);
    }
  }

  async logout(): Promise<void> {
    // While still signed in: the server must forget this browser's subscription too.
    await unsubscribeThisBrowser(this.client).catch(() => {});
    await this.client.logout().catch(() => {});
    this.store.reset();
  }

  // ---- The account: password, devices, blocks ----

  /** Every other device is signed out; this one carries on. */
  async changePassword(current: string, next: string): Promise<void> {
    await this.client.api.changePassword(current, next);
    await this.loadDevices();
  }

  async loadDevices(): Promise<void> {
    this.store.devices = await this.client.api.devices();
    this.store.changed();
  }

  async signOutDevice(deviceId: string): Promise<void> {
    await this.client.api.signOutDevice(deviceId);
    await this.loadDevices();
  }

  async loadBlocks(): Promise<void> {
    const ids = await this.client.api.blocks();
    this.store.blocked.clear();
    for (const id of ids) this.store.blocked.add(id);
    this.store.changed();
  }

  async setBlocked(userId: string, blocked: boolean): Promise<void> {
    if (blocked) await this.client.api.block(userId);
    else await this.client.api.unblock(userId);
    if (blocked) this.store.blocked.add(userId);
    else this.store.blocked.delete(userId);
    this.store.changed();
  }
}

function clearUnread(summary: ChannelSummary): void {
  summary.unread = 0;
  // Absent when the server does not count mentions: it stays absent.
  if (summary.mentions !== undefined) summary.mentions = 0;
}
