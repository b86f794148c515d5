import type { Message, OutboxEntry } from "@edge-chat/sdk";
import type { App } from "../app.ts";
import { byId, formatTime, h } from "../dom.ts";
import { go } from "../route.ts";
import { bindUserSearch } from "./sidebar.ts";

/** Typing frames are throttled: the others keep showing the indicator for 6 s anyway. */
const TYPING_EVERY_MS = 3_000;
const NEAR_EDGE_PX = 40;

function messageItem(app: App, m: Message): HTMLLIElement {
  const mine = m.senderId === app.meId;
  return h(
    "li",
    { class: mine ? "message mine" : "message", "data-seq": m.seq },
    h("span", { class: "meta" }, `${app.store.userName(m.senderId)} · ${formatTime(m.ts)}`),
    h("p", { class: "text" }, m.text),
  );
}

function pendingItem(e: OutboxEntry): HTMLLIElement {
  return h(
    "li",
    { class: "message mine pending", "data-client-msg-id": e.clientMsgId },
    h("span", { class: "meta" }, "Sending…"),
    h("p", { class: "text" }, e.text),
  );
}

export function bindConversation(app: App): void {
  const { store } = app;
  const section = byId<HTMLElement>("conversation");
  const title = byId<HTMLHeadingElement>("conv-title");
  const presence = byId<HTMLSpanElement>("conv-presence");
  const topic = byId<HTMLParagraphElement>("conv-topic");
  const settings = byId<HTMLFormElement>("settings-form");
  const settingsName = settings.elements.namedItem("name") as HTMLInputElement;
  const settingsTopic = settings.elements.namedItem("topic") as HTMLInputElement;
  const groupTools = byId<HTMLDetailsElement>("group-tools");
  const channelIdText = byId<HTMLElement>("conv-channel-id");
  const block = byId<HTMLButtonElement>("conv-block");
  const scroller = byId<HTMLDivElement>("messages");
  const list = byId<HTMLOListElement>("message-list");
  const older = byId<HTMLButtonElement>("older");
  const typing = byId<HTMLParagraphElement>("typing");
  const composer = byId<HTMLFormElement>("composer");
  const input = byId<HTMLTextAreaElement>("composer-text");
  let lastTypingSent = 0;
  let loadingOlder = false;
  let renderedId: string | null = null;

  const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_EDGE_PX;
  const maybeSeen = () => {
    const id = store.activeId;
    if (id && document.visibilityState === "visible" && atBottom()) app.markSeen(id);
  };
  const loadOlder = async () => {
    const id = store.activeId;
    if (!id || loadingOlder) return;
    loadingOlder = true;
    try {
      await app.loadOlder(id);
    } finally {
      loadingOlder = false;
    }
  };

  byId<HTMLButtonElement>("back").addEventListener("click", () => go(null));
  byId<HTMLButtonElement>("leave").addEventListener("click", () => {
    const id = store.activeId;
    if (id && confirm("Leave this group?")) void app.leave(id).then(() => go(null));
  });
  bindUserSearch(app, byId("invite-search"), byId("invite-results"), async (u) => {
    if (store.activeId) await app.invite(store.activeId, u);
  });
  settings.addEventListener("submit", (e) => {
    e.preventDefault();
    const id = store.activeId;
    if (!id) return;
    const error = byId<HTMLParagraphElement>("sidebar-error");
    error.textContent = "";
    app
      .updateChannel(id, { name: settingsName.value, topic: settingsTopic.value })
      .catch((err) => (error.textContent = err instanceof Error ? err.message : "Could not save"));
  });
  // Block or unblock the other member of a DM, from their conversation.
  block.addEventListener("click", () => {
    const partner = store.activeId ? store.channels.get(store.activeId)?.partnerId : undefined;
    if (!partner) return;
    const blocking = !store.blocked.has(partner);
    if (blocking && !confirm(`Block ${store.userName(partner)}? Neither of you can write here until you unblock.`))
      return;
    const error = byId<HTMLParagraphElement>("sidebar-error");
    error.textContent = "";
    app
      .setBlocked(partner, blocking)
      .catch((err) => (error.textContent = err instanceof Error ? err.message : "Could not change the block"));
  });
  older.addEventListener("click", () => void loadOlder());
  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < NEAR_EDGE_PX) void loadOlder();
    maybeSeen();
  });
  document.addEventListener("visibilitychange", maybeSeen);

  const submit = () => {
    const id = store.activeId;
    const text = input.value;
    if (!id || text.trim() === "") return;
    app.send(id, text);
    input.value = "";
    lastTypingSent = 0;
    // Your own message always scrolls into view.
    queueMicrotask(() => queueMicrotask(() => scroller.scrollTo({ top: scroller.scrollHeight })));
  };
  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", () => {
    const id = store.activeId;
    const now = Date.now();
    if (!id || input.value === "" || now - lastTypingSent < TYPING_EVERY_MS) return;
    if (app.client.isChannelOpen(id) && app.client.channelSocketState(id) === "open") {
      app.typing(id);
      lastTypingSent = now;
    }
  });

  store.subscribe(() => {
    const id = store.activeId;
    document.body.classList.toggle("has-conversation", id !== null);
    section.hidden = id === null;
    const entry = id ? store.channels.get(id) : undefined;
    if (!id || !entry) {
      list.replaceChildren();
      return;
    }
    title.textContent = entry.title;
    topic.textContent = entry.summary.topic ?? "";
    topic.hidden = !entry.summary.topic;
    const status = entry.partnerId ? (store.presence.get(entry.partnerId) ?? "offline") : null;
    const size = entry.summary.memberCount === 1 ? "1 member" : `${entry.summary.memberCount} members`;
    // A DM without a partner: they erased their account; what they wrote stays readable.
    const partnerGone = entry.partnerErased === true;
    presence.textContent = partnerGone
      ? ""
      : (status ?? `${entry.summary.visibility === "public" ? "public group" : "private group"} · ${size}`);
    presence.dataset.status = status ?? "group";
    groupTools.hidden = entry.summary.kind !== "group";
    block.hidden = !entry.partnerId;
    const blocked = entry.partnerId !== undefined && store.blocked.has(entry.partnerId);
    block.textContent = blocked ? "Unblock" : "Block";
    composer.hidden = blocked || partnerGone;
    channelIdText.textContent = id;
    const role = store.roles.get(id);
    const mayEdit = entry.summary.kind === "group" && (role === "owner" || role === "admin");
    // Filled in when the form appears, or another channel is shown: never while someone types in it.
    if (mayEdit && (settings.hidden || settings.dataset.channel !== id)) {
      settingsName.value = entry.summary.name ?? "";
      settingsTopic.value = entry.summary.topic ?? "";
      settings.dataset.channel = id;
    }
    settings.hidden = !mayEdit;

    const wasAtBottom = atBottom() || renderedId !== id;
    renderedId = id;
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    const loaded = store.loaded.has(id);
    list.setAttribute("aria-busy", String(!loaded));
    const messages = loaded ? store.messagesOf(id) : [];
    const have = new Set(messages.filter((m) => m.senderId === app.meId).map((m) => m.clientMsgId));
    const pending = loaded ? app.client.pendingSends.filter((e) => e.channelId === id && !have.has(e.clientMsgId)) : [];
    list.replaceChildren(...messages.map((m) => messageItem(app, m)), ...pending.map(pendingItem));
    older.hidden = store.hasOlder.get(id) !== true;
    // New messages keep a reader at the bottom there; prepended history must not move what they look at.
    scroller.scrollTop = wasAtBottom ? scroller.scrollHeight : scroller.scrollHeight - fromBottom;

    const names = store.typingNames(id, Date.now());
    typing.textContent =
      names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : `${names.join(", ")} are typing…`;
    maybeSeen();
  });
}
