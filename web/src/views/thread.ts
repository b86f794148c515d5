import type { App } from "../app.ts";
import { byId, KeyedElements, keepingFocus, syncChildren } from "../dom.ts";
import { bindMentionAutocomplete } from "./mention-autocomplete.ts";
import type { MessageEditor } from "./message-editor.ts";
import { type MessageContext, messageItem, messageSignature } from "./message-item.ts";

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : "Could not send the reply";
}

/**
 * The side panel of one thread: its parent, its replies (paged from the oldest, live
 * ones added as they come) and a composer that answers in the thread.
 */
export function bindThread(app: App, editor: MessageEditor): void {
  const { store } = app;
  const panel = byId<HTMLElement>("thread");
  const parentList = byId<HTMLOListElement>("thread-parent");
  const list = byId<HTMLOListElement>("thread-list");
  const more = byId<HTMLButtonElement>("thread-more");
  const error = byId<HTMLParagraphElement>("thread-error");
  const composer = byId<HTMLFormElement>("thread-composer");
  const input = byId<HTMLTextAreaElement>("thread-text");
  const ctx: MessageContext = { app, editor, inThread: true, onError: (m) => (error.textContent = m) };
  const items = new KeyedElements<HTMLLIElement>();
  const parents = new KeyedElements<HTMLLIElement>();
  let shown: string | null = null;

  byId<HTMLButtonElement>("thread-close").addEventListener("click", () => app.closeThread());
  more.addEventListener("click", () => void app.loadReplies().catch((err) => (error.textContent = errorText(err))));
  bindMentionAutocomplete(app, input, () => store.thread?.channelId ?? null);

  const submit = async () => {
    const t = store.thread;
    const text = input.value;
    if (!t || text.trim() === "") return;
    error.textContent = "";
    input.value = "";
    try {
      await app.reply(t.channelId, t.parentSeq, text);
    } catch (err) {
      // Nothing typed is lost: the text comes back to be sent again.
      if (input.value === "") input.value = text;
      error.textContent = errorText(err);
    }
  };
  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    void submit();
  });
  input.addEventListener("keydown", (e) => {
    if (e.defaultPrevented) return;
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void submit();
    }
  });

  store.subscribe(() => {
    const t = store.thread;
    const key = t ? `${t.channelId}:${t.parentSeq}` : null;
    document.body.classList.toggle("has-thread", t !== null);
    panel.hidden = t === null;
    if (key !== shown) {
      items.clear();
      parents.clear();
      error.textContent = "";
      input.value = "";
      shown = key;
      if (t) requestAnimationFrame(() => input.focus());
    }
    if (!t) {
      parentList.replaceChildren();
      list.replaceChildren();
      return;
    }
    const parent = store.messages.get(t.channelId)?.get(t.parentSeq);
    keepingFocus(parentList, () =>
      syncChildren(
        parentList,
        parent ? [parents.get("parent", messageSignature(ctx, parent), () => messageItem(ctx, parent))] : [],
      ),
    );
    const replies = [...t.replies.values()].sort((a, b) => a.seq - b.seq);
    const keep = new Set<string>();
    keepingFocus(list, () =>
      syncChildren(
        list,
        replies.map((m) => {
          const k = String(m.seq);
          keep.add(k);
          return items.get(k, messageSignature(ctx, m), () => messageItem(ctx, m));
        }),
      ),
    );
    items.prune(keep);
    list.setAttribute("aria-busy", String(t.loading));
    more.hidden = !t.hasMore || t.loading;
  });
}
