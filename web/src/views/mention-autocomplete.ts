import type { User } from "@edge-chat/sdk";
import type { App } from "../app.ts";
import { h } from "../dom.ts";
import { insertMention, matchMembers, mentionQuery } from "../mentions.ts";

let lists = 0;

/**
 * `@` in a composer offers the channel's members whose name starts with what follows
 * it; ↑/↓ choose, Enter or Tab insert `@username `, Escape closes. Bind it before the
 * composer's own keydown handler: a key it uses is `defaultPrevented` afterwards.
 */
export function bindMentionAutocomplete(app: App, input: HTMLTextAreaElement, channelOf: () => string | null): void {
  const id = `mention-list-${++lists}`;
  const list = h("ul", { id, class: "mention-list", role: "listbox", "aria-label": "Members", hidden: true });
  input.form?.before(list);
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", id);
  input.setAttribute("aria-expanded", "false");
  let options: User[] = [];
  let active = 0;
  let at: { start: number; query: string } | null = null;
  let ticket = 0;

  const close = () => {
    options = [];
    at = null;
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  };
  const draw = () => {
    list.hidden = options.length === 0;
    input.setAttribute("aria-expanded", String(options.length > 0));
    if (options.length === 0) {
      input.removeAttribute("aria-activedescendant");
      list.replaceChildren();
      return;
    }
    input.setAttribute("aria-activedescendant", `${id}-${active}`);
    list.replaceChildren(
      ...options.map((u, i) => {
        const option = h(
          "li",
          { id: `${id}-${i}`, class: "mention-option", role: "option", "aria-selected": String(i === active) },
          h("strong", {}, u.displayName),
          ` @${u.username}`,
        );
        // mousedown, not click: the textarea keeps its focus and its caret.
        option.addEventListener("mousedown", (e) => {
          e.preventDefault();
          pick(u);
        });
        return option;
      }),
    );
  };
  const pick = (u: User) => {
    if (!at) return;
    const caret = input.selectionStart;
    const next = insertMention(input.value, at.start, caret, u.username);
    input.value = next.text;
    input.setSelectionRange(next.caret, next.caret);
    close();
    input.focus();
  };
  const update = async () => {
    const channelId = channelOf();
    const caret = input.selectionStart;
    const found = channelId && caret === input.selectionEnd ? mentionQuery(input.value, caret) : null;
    const mine = ++ticket;
    if (!channelId || !found) return close();
    const members = await app.findMembers(channelId, found.query);
    // An older answer arriving after a newer one must not overwrite it.
    if (mine !== ticket) return;
    at = found;
    options = matchMembers(members, found.query);
    active = 0;
    draw();
  };

  input.addEventListener("input", () => void update());
  input.addEventListener("click", () => void update());
  input.addEventListener("blur", close);
  input.addEventListener("keydown", (e) => {
    if (options.length === 0 || e.isComposing) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      active = (active + (e.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
      draw();
    } else if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      const u = options[active];
      if (u) pick(u);
    } else if (e.key === "Escape") {
      e.preventDefault();
      close();
    }
  });
}
