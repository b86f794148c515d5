import { ChatApiError, type ChatClient, type Message, type Session } from "@edge-chat/sdk";
import { sleep } from "../prng";
import type { LiveView } from "./checker";

/** How a request that may not have been answered ended. */
export type Outcome = "acked" | "refused" | "unknown";

const OP_ATTEMPTS = 6;

/**
 * Runs one HTTP operation the way an app would: again after a network error or a 5xx
 * (the server restarting, D1 away), with the same arguments. A 4xx is a refusal, unless
 * an earlier attempt went unanswered: it may have been done, and a delete done once is
 * a 404 the second time. `unknown` when the outcome cannot be told.
 */
export async function attempt(op: () => Promise<unknown>): Promise<Outcome> {
  let unanswered = false;
  for (let i = 0; i < OP_ATTEMPTS; i++) {
    try {
      await op();
      return "acked";
    } catch (err) {
      if (err instanceof ChatApiError && err.status >= 400 && err.status < 500 && err.status !== 429)
        return unanswered ? "unknown" : "refused";
      unanswered = true;
      await sleep(300 * 2 ** i);
    }
  }
  return "unknown";
}

/**
 * One simulated person: an SDK client (replaced when the app "restarts"), what each of
 * its channels looks like to it, and its read cursors. Views are recorded from the SDK's
 * `message` and `update` events only, as an app would render them.
 */
export class ChaosUser {
  client!: ChatClient;
  readonly views = new Map<string, LiveView>();
  readonly reads = new Map<string, { ackedRead: number; askedRead: number }>();
  /** While the app restarts: the actor sends nothing. */
  paused = false;
  reconnects = 0;
  readonly sdkErrors = new Map<string, number>();
  /** What happened to this user's sockets and app, for explaining an anomaly (bounded). */
  readonly notes: string[] = [];
  private detach: (() => void)[] = [];
  /** Resolves the next `synced` per channel (a restart waits for its sockets). */
  private readonly syncedWaiters = new Map<string, () => void>();

  constructor(
    readonly index: number,
    readonly id: string,
    readonly channels: string[],
    private readonly makeClient: (opts: { session?: Session; cursors?: Record<string, number> }) => ChatClient,
  ) {
    for (const ch of channels) {
      this.views.set(ch, { order: [], latest: new Map(), strays: [] });
      this.reads.set(ch, { ackedRead: 0, askedRead: 0 });
    }
  }

  /** Starts the user socket and every channel socket, each from the view's cursor. */
  async start(client: ChatClient): Promise<void> {
    this.client = client;
    this.listen(client);
    client.connect();
    for (const ch of this.channels) await client.openChannel(ch, { after: this.views.get(ch)!.order.length });
  }

  private listen(c: ChatClient): void {
    this.detach = [
      c.on("message", (m) => this.onMessage(m)),
      c.on("update", (m) => this.onUpdate(m)),
      c.on("synced", (e) => {
        this.syncedWaiters.get(e.channelId)?.();
        this.syncedWaiters.delete(e.channelId);
      }),
      c.on("connection", (e) => {
        if (e.state === "reconnecting") this.reconnects++;
        const where = e.target.kind === "user" ? "user socket" : e.target.channelId;
        if (e.state !== "connecting") this.note(`${where} ${e.state}${e.closeCode ? ` (${e.closeCode})` : ""}`);
      }),
      c.on("error", (e) => this.sdkErrors.set(e.code, (this.sdkErrors.get(e.code) ?? 0) + 1)),
    ];
  }

  note(what: string): void {
    if (this.notes.length < 400) this.notes.push(`${new Date().toISOString().slice(11, 23)} ${what}`);
  }

  private onMessage(m: Message): void {
    const view = this.views.get(m.channelId);
    if (!view) return;
    view.order.push(m.seq);
    const held = view.latest.get(m.seq);
    if (!held || held.rev < m.rev) view.latest.set(m.seq, m);
  }

  private onUpdate(m: Message): void {
    const view = this.views.get(m.channelId);
    if (!view) return;
    const held = view.latest.get(m.seq);
    if (!held) view.strays.push(`an update of seq ${m.seq} (rev ${m.rev}) before its message`);
    else if (held.rev >= m.rev)
      view.strays.push(`an update of seq ${m.seq} at rev ${m.rev}, not newer than rev ${held.rev}`);
    else view.latest.set(m.seq, m);
  }

  /** The newest copy known, from any source: how an app merges a page it fetched itself. */
  private merge(m: Message): void {
    const held = this.views.get(m.channelId)?.latest.get(m.seq);
    if (held && held.rev < m.rev) this.views.get(m.channelId)!.latest.set(m.seq, m);
  }

  /**
   * The app restarts with a saved cursor `behind` messages older than what it shows for
   * `channelId`: a new client from the same session, its cursors restored (that one
   * stale), its views cut back to what the saved cursors cover. The SDK keeps no
   * per-message revs across a restart, so, like an app that keeps messages, it then
   * pages `/changes` to bring the ones it kept up to date. Returns the stale cursor, or
   * null when the user's sends never drained (then nothing happens).
   */
  async restartStale(channelId: string, behind: number): Promise<number | null> {
    this.paused = true;
    try {
      const quietBy = Date.now() + 20_000;
      while (this.client.pendingSends.length > 0 && Date.now() < quietBy) await sleep(100);
      // Closing now would orphan sends that may yet be acknowledged: not this time.
      if (this.client.pendingSends.length > 0) return null;
      const session = this.client.session ?? undefined;
      const cursors = this.client.cursors();
      const stale = Math.max(0, (cursors[channelId] ?? 0) - behind);
      cursors[channelId] = stale;
      this.note(`app restart, ${channelId} from ${stale}; cursors ${JSON.stringify(cursors)}`);
      for (const off of this.detach) off();
      this.client.close();
      for (const [ch, view] of this.views) {
        // Cutting the view back must not hide what it got wrong so far.
        const wrong = view.order.findIndex((seq, k) => seq !== k + 1);
        if (wrong >= 0) view.strays.push(`before a restart, seq ${view.order[wrong]} came as message #${wrong + 1}`);
        const keep = cursors[ch] ?? 0;
        view.order = view.order.slice(0, keep);
        for (const seq of view.latest.keys()) if (seq > keep) view.latest.delete(seq);
      }
      const next = this.makeClient({ ...(session ? { session } : {}), cursors });
      const synced = this.channels.map(
        (ch) =>
          new Promise<void>((resolve) => {
            this.syncedWaiters.set(ch, resolve);
            setTimeout(resolve, 20_000);
          }),
      );
      await this.start(next);
      await Promise.all(synced);
      for (const ch of this.channels) await this.refresh(ch);
      return stale;
    } finally {
      this.paused = false;
    }
  }

  private async refresh(channelId: string): Promise<void> {
    for (let afterRev = 0, pages = 0; pages < 1000; pages++) {
      let page: Awaited<ReturnType<ChatClient["api"]["changes"]>>;
      try {
        page = await this.client.api.changes(channelId, afterRev, 200);
      } catch {
        await sleep(500);
        continue;
      }
      for (const m of page.messages) this.merge(m);
      const last = page.messages.at(-1);
      if (!page.hasMore || !last) return;
      afterRev = last.rev;
    }
  }

  close(): void {
    for (const off of this.detach) off();
    this.client.close();
  }
}
