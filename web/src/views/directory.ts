import type { Channel } from "@edge-chat/sdk";
import type { App } from "../app.ts";
import { byId, h } from "../dom.ts";
import { go } from "../route.ts";

const members = (n: number) => (n === 1 ? "1 member" : `${n.toLocaleString()} members`);

/**
 * "Browse channels": the public groups whose name starts with what is typed (all of
 * them, largest first, when nothing is), with their sizes; Join joins and opens one.
 */
export function bindDirectory(app: App): void {
  const details = byId<HTMLDetailsElement>("directory");
  const input = byId<HTMLInputElement>("directory-search");
  const results = byId<HTMLUListElement>("directory-results");
  const more = byId<HTMLButtonElement>("directory-more");
  const error = byId<HTMLParagraphElement>("sidebar-error");
  let latest = 0;
  let cursor: string | undefined;

  const item = (c: Channel) => {
    const joined = app.store.channels.has(c.id);
    return h(
      "li",
      { class: "directory-result", "data-channel": c.id },
      h(
        "span",
        { class: "about" },
        h("strong", { class: "channel-name" }, c.name ?? "Group"),
        h("span", { class: "count" }, members(c.memberCount)),
        c.topic ? h("span", { class: "topic-line" }, c.topic) : null,
      ),
      h(
        "button",
        {
          type: "button",
          class: joined ? "secondary" : "",
          onclick: async () => {
            error.textContent = "";
            try {
              go(joined ? c.id : await app.joinGroup(c.id));
              // The list shows the new size and "Open" now.
              if (!joined) void load(false);
            } catch (err) {
              error.textContent = err instanceof Error ? err.message : "Could not join";
            }
          },
        },
        joined ? "Open" : "Join",
      ),
    );
  };

  /** The first page for what is typed now, or the next page of the same search. */
  const load = async (next: boolean) => {
    const ticket = ++latest;
    const page = await app.browse(input.value.trim(), next ? cursor : undefined).catch(() => null);
    // An older answer arriving after a newer one must not overwrite it.
    if (ticket !== latest || !page) return;
    cursor = page.nextCursor;
    const items = page.channels.map(item);
    if (next) results.append(...items);
    else results.replaceChildren(...(items.length > 0 ? items : [h("li", { class: "empty-result" }, "No channel")]));
    more.hidden = cursor === undefined;
  };

  input.addEventListener("input", () => void load(false));
  more.addEventListener("click", () => void load(true));
  details.addEventListener("toggle", () => {
    if (details.open) void load(false);
  });
}
