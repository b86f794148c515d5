import type { SearchResult } from "@edge-chat/sdk";
import type { App } from "../app.ts";
import { byId, formatTime, h } from "../dom.ts";
import { go } from "../route.ts";

/** Typing pauses this long before a search goes out: every keystroke would be a query. */
const DEBOUNCE_MS = 250;

/** The snippet with its highlights as <mark>, and "…" where the message's text goes on. */
function snippetLine(r: SearchResult): HTMLParagraphElement {
  const { snippet, highlights, message } = r;
  const parts: (Node | string)[] = [];
  let at = 0;
  for (const [start, end] of highlights) {
    if (start > at) parts.push(snippet.slice(at, start));
    parts.push(h("mark", {}, snippet.slice(start, end)));
    at = end;
  }
  if (at < snippet.length) parts.push(snippet.slice(at));
  const cutBefore = !message.text.startsWith(snippet);
  const cutAfter = !message.text.endsWith(snippet);
  return h("p", { class: "snippet" }, cutBefore && "…", ...parts, cutAfter && "…");
}

/**
 * "Search messages": what the caller's channels said, best match first, with the words
 * found marked. Choosing a result opens its channel scrolled to the message.
 */
export function bindMessageSearch(app: App): void {
  const input = byId<HTMLInputElement>("message-search");
  const results = byId<HTMLUListElement>("message-search-results");
  const more = byId<HTMLButtonElement>("message-search-more");
  const error = byId<HTMLParagraphElement>("sidebar-error");
  let latest = 0;
  let cursor: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const item = (r: SearchResult) => {
    const { channelId, seq, senderId, ts } = r.message;
    const where = app.store.channels.get(channelId)?.title ?? "";
    return h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          class: "search-result",
          "data-channel": channelId,
          "data-seq": seq,
          onclick: () => {
            go(channelId);
            app.reveal(channelId, seq).catch((err) => {
              error.textContent = err instanceof Error ? err.message : "Could not open the message";
            });
          },
        },
        h("span", { class: "meta" }, `${where} · ${app.store.userName(senderId)} · ${formatTime(ts)}`),
        snippetLine(r),
      ),
    );
  };

  /** The first page for what is typed now, or the next page of the same search. */
  const load = async (next: boolean) => {
    const ticket = ++latest;
    const q = input.value.trim();
    if (q === "") {
      results.replaceChildren();
      more.hidden = true;
      return;
    }
    const page = await app.searchMessages(q, next ? cursor : undefined).catch(() => null);
    if (ticket !== latest || !page) return;
    // Senders' names before the list is drawn: a result names who wrote it.
    await Promise.all(page.results.map((r) => app.user(r.message.senderId).catch(() => null)));
    if (ticket !== latest) return;
    cursor = page.nextCursor;
    const items = page.results.map(item);
    if (next) results.append(...items);
    else results.replaceChildren(...(items.length > 0 ? items : [h("li", { class: "empty-result" }, "No message")]));
    more.hidden = cursor === undefined;
  };

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => void load(false), DEBOUNCE_MS);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    clearTimeout(timer);
    void load(false);
  });
  more.addEventListener("click", () => void load(true));
}
