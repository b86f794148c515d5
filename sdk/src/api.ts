import type {
  AuthResponse,
  BlockList,
  ChangesPage,
  Channel,
  ChannelSummary,
  ChatFile,
  Device,
  DeviceList,
  Member,
  Message,
  MessagePage,
  NotificationLevel,
  Presence,
  PushSubscriptionData,
  SearchPage,
  TokenPair,
  User,
  Visibility,
} from "../../src/protocol";
import type { HttpClient } from "./http";
import type { UploadOptions } from "./upload";

const enc = encodeURIComponent;

/**
 * One typed method per route of docs/PROTOCOL.md, nothing more: no retries beyond the
 * 401 refresh, no caching. `ChatClient` builds the realtime behaviour on top.
 */
export class ChatApi {
  constructor(private readonly http: HttpClient) {}

  // Accounts. These four are used by ChatClient, which also updates the session.
  signup(body: { username: string; password: string; displayName?: string; deviceName?: string }) {
    return this.http.request<AuthResponse>("POST", "/api/auth/signup", { body, auth: false });
  }
  login(body: { username: string; password: string; deviceName?: string }) {
    return this.http.request<AuthResponse>("POST", "/api/auth/login", { body, auth: false });
  }
  refresh(refreshToken: string) {
    return this.http.request<TokenPair>("POST", "/api/auth/refresh", { body: { refreshToken }, auth: false });
  }
  logout(refreshToken: string) {
    return this.http.request<void>("POST", "/api/auth/logout", { body: { refreshToken } });
  }
  /** Every other device is signed out; this one stays signed in. A wrong current password is a 401. */
  changePassword(currentPassword: string, newPassword: string): Promise<void> {
    const body = { currentPassword, newPassword };
    return this.http.request<void>("POST", "/api/auth/password", { body, refreshOn401: false });
  }

  // Devices and the account.
  async devices(): Promise<Device[]> {
    return (await this.http.request<DeviceList>("GET", "/api/devices")).devices;
  }
  signOutDevice(deviceId: string): Promise<void> {
    return this.http.request<void>("DELETE", `/api/devices/${enc(deviceId)}`);
  }
  /** Erases the account. Prefer `ChatClient.eraseAccount`, which also forgets the session. */
  eraseMe(password: string): Promise<void> {
    return this.http.request<void>("DELETE", "/api/users/me", { body: { password }, refreshOn401: false });
  }
  /** Everything the service stores about the caller (read whole: for very large accounts fetch it as a download). */
  exportMe(): Promise<Record<string, unknown>> {
    return this.http.request<Record<string, unknown>>("GET", "/api/users/me/export");
  }
  async blocks(): Promise<string[]> {
    return (await this.http.request<BlockList>("GET", "/api/users/me/blocks")).userIds;
  }
  block(userId: string): Promise<void> {
    return this.http.request<void>("PUT", `/api/users/me/blocks/${enc(userId)}`);
  }
  unblock(userId: string): Promise<void> {
    return this.http.request<void>("DELETE", `/api/users/me/blocks/${enc(userId)}`);
  }

  // Users.
  async me(): Promise<User> {
    return (await this.http.request<{ user: User }>("GET", "/api/users/me")).user;
  }
  async updateMe(patch: { displayName?: string; avatarUrl?: string; statusText?: string }): Promise<User> {
    return (await this.http.request<{ user: User }>("PATCH", "/api/users/me", { body: patch })).user;
  }
  async getUser(userId: string): Promise<User> {
    return (await this.http.request<{ user: User }>("GET", `/api/users/${enc(userId)}`)).user;
  }
  async searchUsers(prefix: string): Promise<User[]> {
    return (await this.http.request<{ users: User[] }>("GET", "/api/users", { query: { q: prefix } })).users;
  }

  // Channels.
  async openDm(userId: string): Promise<Channel> {
    return (await this.http.request<{ channel: Channel }>("POST", "/api/dms", { body: { userId } })).channel;
  }
  async createChannel(body: { name: string; memberIds?: string[]; visibility?: Visibility }): Promise<Channel> {
    return (await this.http.request<{ channel: Channel }>("POST", "/api/channels", { body })).channel;
  }
  async listChannels(): Promise<ChannelSummary[]> {
    return (await this.http.request<{ channels: ChannelSummary[] }>("GET", "/api/channels")).channels;
  }
  getChannel(channelId: string) {
    return this.http.request<{ channel: Channel; members: Member[] }>("GET", `/api/channels/${enc(channelId)}`);
  }
  async addMember(channelId: string, userId: string): Promise<Channel> {
    const path = `/api/channels/${enc(channelId)}/members`;
    return (await this.http.request<{ channel: Channel }>("POST", path, { body: { userId } })).channel;
  }
  /** Public groups whose name starts with `q` (all when empty), largest first; pass `nextCursor` back for more. */
  publicChannels(q = "", cursor?: string) {
    return this.http.request<{ channels: Channel[]; nextCursor?: string }>("GET", "/api/channels/public", {
      query: { q, cursor },
    });
  }
  /** Rename a group or set its topic (owner or admin); an empty topic clears it. */
  async updateChannel(channelId: string, changes: { name?: string; topic?: string }): Promise<Channel> {
    const path = `/api/channels/${enc(channelId)}`;
    return (await this.http.request<{ channel: Channel }>("PATCH", path, { body: changes })).channel;
  }
  /** The owner makes a member an admin, or an admin a member again. */
  setMemberRole(channelId: string, userId: string, role: "admin" | "member"): Promise<void> {
    const path = `/api/channels/${enc(channelId)}/members/${enc(userId)}/role`;
    return this.http.request<void>("PUT", path, { body: { role } });
  }
  /** When this user gets a Web Push for the channel: every message, mentions, or never. */
  setNotifications(channelId: string, level: NotificationLevel): Promise<void> {
    return this.http.request<void>("PUT", `/api/channels/${enc(channelId)}/notifications`, { body: { level } });
  }
  /** Leave (your own id) or remove someone (owner/admin). */
  removeMember(channelId: string, userId: string): Promise<void> {
    return this.http.request<void>("DELETE", `/api/channels/${enc(channelId)}/members/${enc(userId)}`);
  }

  // Messages.
  /** `after`: ascending messages with seq > after; `before`: the `limit` just below; neither: the latest. */
  messages(channelId: string, range: { after?: number; before?: number; limit?: number } = {}): Promise<MessagePage> {
    return this.http.request<MessagePage>("GET", `/api/channels/${enc(channelId)}/messages`, {
      query: { after: range.after, before: range.before, limit: range.limit },
    });
  }
  /** A raw send: no queue, no retry. Prefer `ChatClient.send`. */
  async postMessage(
    channelId: string,
    body: { clientMsgId: string; text: string; replyTo?: number; attachments?: string[] },
  ): Promise<Message> {
    const path = `/api/channels/${enc(channelId)}/messages`;
    return (await this.http.request<{ message: Message }>("POST", path, { body })).message;
  }
  /** A new text for one's own message; answers the message as it is now. */
  async editMessage(channelId: string, seq: number, text: string): Promise<Message> {
    const path = `/api/channels/${enc(channelId)}/messages/${seq}`;
    return (await this.http.request<{ message: Message }>("PATCH", path, { body: { text } })).message;
  }
  /** Deletes a message: one's own, or any in a group one owns or administers. */
  deleteMessage(channelId: string, seq: number): Promise<void> {
    return this.http.request<void>("DELETE", `/api/channels/${enc(channelId)}/messages/${seq}`);
  }
  /** Adds one's reaction (one emoji, or a `:shortcode:`); idempotent. */
  react(channelId: string, seq: number, emoji: string): Promise<void> {
    const path = `/api/channels/${enc(channelId)}/messages/${seq}/reactions/${enc(emoji)}`;
    return this.http.request<void>("PUT", path);
  }
  /** Takes back one's reaction; idempotent. */
  unreact(channelId: string, seq: number, emoji: string): Promise<void> {
    const path = `/api/channels/${enc(channelId)}/messages/${seq}/reactions/${enc(emoji)}`;
    return this.http.request<void>("DELETE", path);
  }
  /** A page of a thread's replies with seq above `after`, ascending. */
  replies(channelId: string, parentSeq: number, range: { after?: number; limit?: number } = {}): Promise<MessagePage> {
    return this.http.request<MessagePage>("GET", `/api/channels/${enc(channelId)}/messages/${parentSeq}/replies`, {
      query: { after: range.after, limit: range.limit },
    });
  }
  /** Every message changed after `afterRev`, as it is now, ascending by rev. */
  changes(channelId: string, afterRev: number, limit?: number): Promise<ChangesPage> {
    return this.http.request<ChangesPage>("GET", `/api/channels/${enc(channelId)}/changes`, {
      query: { afterRev, limit },
    });
  }
  /**
   * Uploads a file to a channel, to attach to a message (`ChatClient.send`'s
   * `attachments`). Progress comes from XMLHttpRequest where there is one.
   */
  uploadFile(channelId: string, file: Blob, options: UploadOptions = {}): Promise<ChatFile> {
    const name = options.name ?? (file as Blob & { name?: string }).name ?? "file";
    const type = options.contentType ?? (file.type || "application/octet-stream");
    return this.http.upload(`/api/channels/${enc(channelId)}/files`, file, name, type, options);
  }
  markRead(channelId: string, seq: number): Promise<void> {
    return this.http.request<void>("POST", `/api/channels/${enc(channelId)}/read`, { body: { seq } });
  }

  // Search.
  /**
   * Messages of the caller's channels matching `q` (words also match as prefixes, "quoted
   * words" as a phrase, case and accents ignored), best first. `from`: a sender's id;
   * `after`/`before`: exclusive `ts` bounds. Pass `nextCursor` back as `cursor`, with
   * the same filters, for the next page. Each result's `highlights` are [start, end)
   * offsets into its `snippet` (`snippet.slice(start, end)`).
   */
  search(
    q: string,
    options: {
      channelId?: string;
      from?: string;
      after?: number;
      before?: number;
      limit?: number;
      cursor?: string;
    } = {},
  ): Promise<SearchPage> {
    return this.http.request<SearchPage>("GET", "/api/search", { query: { q, ...options } });
  }

  // Presence.
  async presence(userIds: readonly string[]): Promise<Presence[]> {
    const query = { userIds: userIds.join(",") };
    return (await this.http.request<{ presence: Presence[] }>("GET", "/api/presence", { query })).presence;
  }

  // Push.
  async vapidPublicKey(): Promise<string> {
    const path = "/api/push/vapid-public-key";
    return (await this.http.request<{ publicKey: string }>("GET", path, { auth: false })).publicKey;
  }
  async subscribePush(subscription: PushSubscriptionData): Promise<void> {
    await this.http.request<unknown>("POST", "/api/push/subscriptions", { body: subscription });
  }
  unsubscribePush(endpoint: string): Promise<void> {
    return this.http.request<void>("DELETE", "/api/push/subscriptions", { body: { endpoint } });
  }
}
