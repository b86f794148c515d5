import type { Message } from "@edge-chat/sdk";
import type { App } from "../app.ts";
import { formatTime, h } from "../dom.ts";
import { mentionSegments } from "../mentions.ts";
import { COMMON_EMOJI, hasReacted, repliesLabel } from "../reactions.ts";
import { attachmentList } from "./attachments.ts";
import type { MessageEditor } from "./message-editor.ts";

/** What a message list needs to draw its messages. */
export interface MessageContext {
  app: App;
  editor: MessageEditor;
  /** Replies in the thread panel: no "reply in thread", no reply count. */
  inThread: boolean;
  /** Shown in the status line when an action fails. */
  onError: (message: string) => void;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : "Something went wrong";
}

/**
 * The users a message's `@names` may stand for (lower-case username → id): those the
 * server listed in `mentions`; from a server that does not list them, the channel's members.
 */
function mentionable(app: App, m: Message): Map<string, string> {
  const ids = m.mentions ?? app.store.members.get(m.channelId) ?? [];
  const out = new Map<string, string>();
  for (const id of ids) {
    const u = app.store.users.get(id);
    if (u) out.set(u.username.toLowerCase(), id);
  }
  return out;
}

function mentionsMe(app: App, m: Message): boolean {
  const me = app.meId;
  if (me === null || m.deleted) return false;
  if (m.mentions) return m.mentions.includes(me);
  return mentionSegments(m.text, mentionable(app, m)).some((s) => s.userId === me);
}

/** Everything a message's element shows, as one string: the element is rebuilt only when it changes. */
export function messageSignature(ctx: MessageContext, m: Message): string {
  const { app } = ctx;
  const thread = app.store.thread;
  return JSON.stringify([
    m.rev,
    app.store.userName(m.senderId),
    mentionable(app, m).size,
    ctx.editor.isEditing(m),
    thread?.channelId === m.channelId && thread.parentSeq === m.seq,
    app.store.roles.get(m.channelId) ?? "",
    isFocused(app, m),
  ]);
}

/** The search result the reader chose, marked until they choose another. */
function isFocused(app: App, m: Message): boolean {
  const focus = app.store.focus;
  return focus?.channelId === m.channelId && focus.seq === m.seq;
}

function textOf(app: App, m: Message): HTMLParagraphElement {
  const me = app.meId;
  return h(
    "p",
    { class: "text" },
    ...mentionSegments(m.text, mentionable(app, m)).map((s) =>
      s.userId === undefined
        ? s.text
        : h("span", { class: s.userId === me ? "mention me" : "mention", "data-user": s.userId }, s.text),
    ),
  );
}

function reactionChips(ctx: MessageContext, m: Message): HTMLDivElement | null {
  const reactions = m.reactions ?? [];
  if (reactions.length === 0) return null;
  return h(
    "div",
    { class: "reactions", role: "group", "aria-label": "Reactions" },
    ...reactions.map((r) => {
      const mine = hasReacted(m, r.emoji, ctx.app.meId);
      return h(
        "button",
        {
          type: "button",
          class: "reaction",
          "data-emoji": r.emoji,
          "data-focus": `reaction:${r.emoji}`,
          "aria-pressed": String(mine),
          "aria-label": `${r.emoji} ${r.count}${mine ? ", yours: take back" : ": react too"}`,
          onclick: () => ctx.app.toggleReaction(m, r.emoji, mine).catch((err) => ctx.onError(errorText(err))),
        },
        h("span", { "aria-hidden": "true" }, r.emoji),
        h("span", { class: "count", "aria-hidden": "true" }, String(r.count)),
      );
    }),
  );
}

/** A popover made of <details>: opens with its summary, closes with Escape or a pick. */
function popover(label: string, face: string, className: string, ...items: HTMLElement[]): HTMLDetailsElement {
  const details = h(
    "details",
    { class: `popover ${className}` },
    h("summary", { "aria-label": label, title: label, "data-focus": className }, face),
    h("div", { class: "popover-body" }, ...items),
  );
  details.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || !details.open) return;
    details.open = false;
    details.querySelector("summary")?.focus();
  });
  details.addEventListener("click", (e) => {
    if ((e.target as Element).closest(".popover-body button")) details.open = false;
  });
  return details;
}

function actions(ctx: MessageContext, m: Message): HTMLDivElement {
  const { app } = ctx;
  const mine = m.senderId === app.meId;
  const role = app.store.roles.get(m.channelId);
  const mayDelete = mine || role === "owner" || role === "admin";
  const picker = popover(
    "Add reaction",
    "☺",
    "picker",
    ...COMMON_EMOJI.map((emoji) =>
      h(
        "button",
        {
          type: "button",
          class: "emoji",
          "aria-label": `React with ${emoji}`,
          onclick: () => app.toggleReaction(m, emoji, false).catch((err) => ctx.onError(errorText(err))),
        },
        emoji,
      ),
    ),
  );
  const remove = () => {
    if (!confirm("Delete this message? It is erased for everyone.")) return;
    app.remove(m.channelId, m.seq).catch((err) => ctx.onError(errorText(err)));
  };
  const menuItems = [
    mine && h("button", { type: "button", class: "edit", onclick: () => ctx.editor.start(m) }, "Edit"),
    mayDelete && h("button", { type: "button", class: "delete danger", onclick: remove }, "Delete"),
  ].filter((x): x is HTMLButtonElement => x instanceof HTMLButtonElement);
  return h(
    "div",
    { class: "actions" },
    picker,
    !ctx.inThread &&
      m.replyTo === undefined &&
      h(
        "button",
        {
          type: "button",
          class: "link reply-action",
          "data-focus": "reply",
          onclick: () => app.openThread(m.channelId, m.seq).catch((err) => ctx.onError(errorText(err))),
        },
        "Reply in thread",
      ),
    menuItems.length > 0 && popover("Message actions", "⋯", "msg-menu", ...menuItems),
  );
}

function repliesButton(ctx: MessageContext, m: Message): HTMLButtonElement | null {
  if (ctx.inThread || !m.replyCount) return null;
  const thread = ctx.app.store.thread;
  const open = thread?.channelId === m.channelId && thread.parentSeq === m.seq;
  return h(
    "button",
    {
      type: "button",
      class: "link replies",
      "data-focus": "replies",
      "aria-expanded": String(open),
      "aria-controls": "thread",
      onclick: () => ctx.app.openThread(m.channelId, m.seq).catch((err) => ctx.onError(errorText(err))),
    },
    repliesLabel(m.replyCount),
  );
}

/** One message: who and when, its text (or the editor, or a tombstone), files, reactions, thread and actions. */
export function messageItem(ctx: MessageContext, m: Message): HTMLLIElement {
  const { app } = ctx;
  const classes = ["message"];
  if (m.senderId === app.meId) classes.push("mine");
  if (m.deleted) classes.push("deleted");
  if (mentionsMe(app, m)) classes.push("mentions-me");
  if (isFocused(app, m)) classes.push("focused");
  const editForm = ctx.editor.formFor(m);
  const meta = h(
    "span",
    { class: "meta" },
    `${app.store.userName(m.senderId)} · ${formatTime(m.ts)}`,
    m.editedAt !== undefined &&
      !m.deleted &&
      h("span", { class: "edited", title: `Edited ${formatTime(m.editedAt)}` }, " (edited)"),
  );
  if (m.deleted) {
    return h(
      "li",
      { class: classes.join(" "), "data-seq": m.seq },
      meta,
      h("p", { class: "text tombstone" }, "message deleted"),
      repliesButton(ctx, m),
    );
  }
  return h(
    "li",
    { class: classes.join(" "), "data-seq": m.seq },
    meta,
    editForm ?? (m.text !== "" && textOf(app, m)),
    m.attachments && m.attachments.length > 0 && attachmentList(m.attachments),
    reactionChips(ctx, m),
    repliesButton(ctx, m),
    !editForm && actions(ctx, m),
  );
}
