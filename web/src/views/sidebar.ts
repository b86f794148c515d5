import type { User } from "@edge-chat/sdk";
import type { App } from "../app.ts";
import { byId, h } from "../dom.ts";
import { go } from "../route.ts";

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : "Something went wrong";
}

/** Results of a username search, each one a button that does `pick`. */
export function bindUserSearch(
  app: App,
  input: HTMLInputElement,
  results: HTMLUListElement,
  pick: (u: User) => Promise<void>,
): void {
  let latest = 0;
  input.addEventListener("input", async () => {
    const q = input.value.trim().toLowerCase();
    const ticket = ++latest;
    if (q.length === 0) {
      results.replaceChildren();
      return;
    }
    const users = await app.searchUsers(q).catch(() => []);
    // An older answer arriving after a newer one must not overwrite it.
    if (ticket !== latest) return;
    results.replaceChildren(
      ...users.map((u) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "user-result",
              onclick: async () => {
                input.value = "";
                results.replaceChildren();
                await pick(u);
              },
            },
            h("strong", {}, u.displayName),
            ` @${u.username}`,
          ),
        ),
      ),
    );
  });
}

function renderList(app: App, list: HTMLUListElement): void {
  const { store } = app;
  const entries = [...store.channels.values()].sort(
    (a, b) => (b.summary.lastMessage?.ts ?? b.summary.createdAt) - (a.summary.lastMessage?.ts ?? a.summary.createdAt),
  );
  list.replaceChildren(
    ...entries.map(({ summary, title, partnerId }) => {
      const status = partnerId ? (store.presence.get(partnerId) ?? "offline") : null;
      const active = summary.id === store.activeId;
      const unread = active ? 0 : summary.unread;
      const mentions = active ? 0 : (summary.mentions ?? 0);
      const last = summary.lastMessage;
      return h(
        "li",
        {},
        h(
          "a",
          {
            class: "channel",
            href: `#c/${summary.id}`,
            "data-channel": summary.id,
            "aria-current": summary.id === store.activeId ? "page" : undefined,
          },
          status
            ? h("span", { class: "dot", "data-status": status, title: status, "aria-label": status })
            : h("span", { class: "hash", "aria-hidden": "true" }, "#"),
          h("span", { class: "name" }, title),
          h(
            "span",
            { class: last?.deleted ? "preview deleted" : "preview" },
            last?.deleted ? "message deleted" : (last?.text.slice(0, 80) ?? ""),
          ),
          mentions > 0 || unread > 0
            ? h(
                "span",
                { class: "badges" },
                mentions > 0
                  ? h(
                      "span",
                      {
                        class: "badge mention-badge",
                        "aria-label": mentions === 1 ? "1 mention" : `${mentions} mentions`,
                      },
                      `@${mentions}`,
                    )
                  : null,
                unread > 0 ? h("span", { class: "badge", "aria-label": `${unread} unread` }, String(unread)) : null,
              )
            : null,
        ),
      );
    }),
  );
}

export function bindSidebar(app: App): void {
  const list = byId<HTMLUListElement>("channel-list");
  const error = byId<HTMLParagraphElement>("sidebar-error");
  const guard = (fn: () => Promise<void>) => async () => {
    error.textContent = "";
    try {
      await fn();
    } catch (err) {
      error.textContent = errorText(err);
    }
  };

  bindUserSearch(app, byId("dm-search"), byId("dm-results"), (u) => guard(async () => go(await app.openDm(u)))());

  const groupForm = byId<HTMLFormElement>("group-form");
  groupForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(groupForm);
    const name = String(data.get("name") ?? "").trim();
    const visibility = data.get("public") ? "public" : "private";
    void guard(async () => {
      go(await app.createGroup(name, visibility));
      groupForm.reset();
    })();
  });

  const joinForm = byId<HTMLFormElement>("join-form");
  joinForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const id = String(new FormData(joinForm).get("channelId") ?? "").trim();
    void guard(async () => {
      go(await app.joinGroup(id));
      joinForm.reset();
    })();
  });

  app.store.subscribe(() => renderList(app, list));
}
