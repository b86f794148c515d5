import type { ChatFile, NotificationLevel, OutboxEntry } from "@edge-chat/sdk";
import type { App } from "../app.ts";
import { byId, h, KeyedElements, keepingFocus, syncChildren } from "../dom.ts";
import { go } from "../route.ts";
import { bindMentionAutocomplete } from "./mention-autocomplete.ts";
import type { MessageEditor } from "./message-editor.ts";
import { type MessageContext, messageItem, messageSignature } from "./message-item.ts";
import { bindUserSearch } from "./sidebar.ts";

/** Typing frames are throttled: the others keep showing the indicator for 6 s anyway. */
const TYPING_EVERY_MS = 3_000;
const NEAR_EDGE_PX = 40;

function pendingItem(e: OutboxEntry): HTMLLIElement {
  const files = e.attachments?.length ?? 0;
  return h(
    "li",
    { class: "message mine pending", "data-client-msg-id": e.clientMsgId },
    h("span", { class: "meta" }, files > 0 ? `Sending ${files === 1 ? "a file" : `${files} files`}…` : "Sending…"),
    e.text !== "" && h("p", { class: "text" }, e.text),
  );
}

/** A file on its way to the next message: uploading, uploaded, or refused. */
interface Upload {
  channelId: string;
  name: string;
  fraction: number;
  /** Settles when the upload is over, either way. */
  done: Promise<void>;
  file?: ChatFile;
  error?: string;
}

export function bindConversation(app: App, editor: MessageEditor): void {
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
  const fileInput = byId<HTMLInputElement>("composer-file");
  const uploadList = byId<HTMLUListElement>("uploads");
  const notifications = byId<HTMLSelectElement>("conv-notify");
  const convError = byId<HTMLParagraphElement>("conv-error");
  const ctx: MessageContext = { app, editor, inThread: false, onError: (m) => (convError.textContent = m) };
  const items = new KeyedElements<HTMLLIElement>();
  let uploads: Upload[] = [];
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
  notifications.addEventListener("change", () => {
    const id = store.activeId;
    if (!id) return;
    convError.textContent = "";
    app.setNotifications(id, notifications.value as NotificationLevel).catch((err) => {
      convError.textContent = err instanceof Error ? err.message : "Could not change the notifications";
      // Back to the level in force.
      store.changed();
    });
  });
  // A click elsewhere closes an open menu or emoji picker.
  document.addEventListener("click", (e) => {
    for (const open of document.querySelectorAll<HTMLDetailsElement>("details.popover[open]")) {
      if (!open.contains(e.target as Node)) open.open = false;
    }
  });
  older.addEventListener("click", () => void loadOlder());
  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < NEAR_EDGE_PX) void loadOlder();
    maybeSeen();
  });
  document.addEventListener("visibilitychange", maybeSeen);

  const renderUploads = () => {
    const id = store.activeId;
    const shown = uploads.filter((u) => u.channelId === id);
    uploadList.hidden = shown.length === 0;
    uploadList.replaceChildren(
      ...shown.map((u) =>
        h(
          "li",
          { class: u.error ? "upload failed" : u.file ? "upload done" : "upload" },
          h("span", {}, u.name),
          u.error
            ? h("span", {}, ` — ${u.error}`)
            : h("progress", { max: 1, value: u.fraction, "aria-label": `Uploading ${u.name}` }),
          h("button", { type: "button", class: "link", "aria-label": `Remove ${u.name}`, onclick: () => drop(u) }, "×"),
        ),
      ),
    );
  };
  const drop = (u: Upload) => {
    uploads = uploads.filter((x) => x !== u);
    renderUploads();
  };
  const attach = (files: Iterable<File>) => {
    const id = store.activeId;
    if (!id) return;
    for (const f of files) {
      const u: Upload = { channelId: id, name: f.name, fraction: 0, done: Promise.resolve() };
      uploads.push(u);
      u.done = app
        .upload(id, f, (fraction) => {
          u.fraction = fraction;
          renderUploads();
        })
        .then(
          (file) => {
            u.file = file;
            u.fraction = 1;
          },
          (err) => (u.error = err instanceof Error ? err.message : "upload failed"),
        )
        .finally(renderUploads)
        .then(() => undefined);
    }
    renderUploads();
  };
  fileInput.addEventListener("change", () => {
    attach(fileInput.files ?? []);
    fileInput.value = "";
  });
  section.addEventListener("dragover", (e) => {
    if (!e.dataTransfer?.types.includes("Files")) return;
    e.preventDefault();
    section.classList.add("dropping");
  });
  section.addEventListener("dragleave", () => section.classList.remove("dropping"));
  section.addEventListener("drop", (e) => {
    section.classList.remove("dropping");
    if (!e.dataTransfer?.files.length) return;
    e.preventDefault();
    attach(e.dataTransfer.files);
  });

  const submit = async () => {
    const id = store.activeId;
    const text = input.value;
    if (!id) return;
    const mine = uploads.filter((u) => u.channelId === id);
    if (text.trim() === "" && mine.length === 0) return;
    input.value = "";
    // The message goes once its files are up; refused ones stay listed until removed.
    await Promise.all(mine.map((u) => u.done));
    const ready = mine.filter((u) => u.file).map((u) => u.file!.id);
    uploads = uploads.filter((u) => !mine.includes(u) || u.error);
    renderUploads();
    if (text.trim() === "" && ready.length === 0) return;
    app.send(id, ready.length > 0 ? text.trim() : text, ready);
    lastTypingSent = 0;
    // Your own message always scrolls into view.
    queueMicrotask(() => queueMicrotask(() => scroller.scrollTo({ top: scroller.scrollHeight })));
  };
  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    void submit();
  });
  // Before the composer's own keys: Enter picks a name while the list is open.
  bindMentionAutocomplete(app, input, () => store.activeId);
  input.addEventListener("keydown", (e) => {
    if (e.defaultPrevented) return;
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void submit();
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
      items.clear();
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
    if (document.activeElement !== notifications) notifications.value = entry.summary.notifications;

    const wasAtBottom = atBottom() || renderedId !== id;
    if (renderedId !== id) items.clear();
    renderedId = id;
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    const loaded = store.loaded.has(id);
    list.setAttribute("aria-busy", String(!loaded));
    const messages = loaded ? store.messagesOf(id) : [];
    const have = new Set(messages.filter((m) => m.senderId === app.meId).map((m) => m.clientMsgId));
    const pending = loaded ? app.client.pendingSends.filter((e) => e.channelId === id && !have.has(e.clientMsgId)) : [];
    const keep = new Set<string>();
    const keyed = (key: string, sig: string, build: () => HTMLLIElement) => {
      keep.add(key);
      return items.get(key, sig, build);
    };
    keepingFocus(list, () =>
      syncChildren(list, [
        // Replies live in their thread; the parent shows how many there are.
        ...messages
          .filter((m) => m.replyTo === undefined)
          .map((m) => keyed(String(m.seq), messageSignature(ctx, m), () => messageItem(ctx, m))),
        ...pending.map((e) => keyed(`pending:${e.clientMsgId}`, "", () => pendingItem(e))),
      ]),
    );
    items.prune(keep);
    renderUploads();
    older.hidden = store.hasOlder.get(id) !== true;
    // New messages keep a reader at the bottom there; prepended history must not move what they look at.
    scroller.scrollTop = wasAtBottom ? scroller.scrollHeight : scroller.scrollHeight - fromBottom;
    // A chosen search result: once it is loaded, into view once; the reader scrolls on from there.
    const focus = store.focus;
    if (loaded && focus?.channelId === id && !focus.scrolled) {
      const target = list.querySelector<HTMLLIElement>(`li[data-seq="${focus.seq}"]`);
      if (target) {
        focus.scrolled = true;
        target.scrollIntoView({ block: "center" });
      }
    }
    // A page of history can be mostly thread replies, which are not shown here: while
    // the list does not fill the view there is no scrolling to ask for more, so ask now.
    if (loaded && store.hasOlder.get(id) === true && scroller.scrollHeight <= scroller.clientHeight + NEAR_EDGE_PX) {
      void loadOlder();
    }

    const names = store.typingNames(id, Date.now());
    typing.textContent =
      names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : `${names.join(", ")} are typing…`;
    maybeSeen();
  });
}
