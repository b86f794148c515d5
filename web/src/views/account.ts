import type { Device } from "@edge-chat/sdk";
import type { App } from "../app.ts";
import { byId, formatTime, h } from "../dom.ts";

const when = (ts: number) => `${new Date(ts).toLocaleDateString()} ${formatTime(ts)}`;

/**
 * The account panel: change the password (which signs out every other device) and
 * the list of signed-in devices, each but this one with a Sign out button.
 */
export function bindAccount(app: App): void {
  const { store } = app;
  const details = byId<HTMLDetailsElement>("account");
  const form = byId<HTMLFormElement>("password-form");
  const status = byId<HTMLParagraphElement>("password-status");
  const list = byId<HTMLUListElement>("device-list");
  const error = byId<HTMLParagraphElement>("account-error");
  const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement;
  const failed = (what: string) => (err: unknown) => {
    error.textContent = err instanceof Error ? err.message : what;
  };

  details.addEventListener("toggle", () => {
    if (details.open) void app.loadDevices().catch(failed("Could not load your devices"));
  });

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    error.textContent = "";
    status.textContent = "";
    app
      .changePassword(field("current").value, field("new").value)
      .then(() => {
        form.reset();
        status.textContent = "Password changed; your other devices are signed out.";
      })
      .catch(failed("Could not change the password"));
  });

  const item = (d: Device) =>
    h(
      "li",
      { class: "device", "data-device": d.id },
      h(
        "span",
        { class: "about" },
        h("strong", {}, d.name ?? "Unnamed device"),
        h("span", { class: "seen" }, d.current ? "This device" : `Last seen ${when(d.lastSeenAt)}`),
      ),
      d.current
        ? null
        : h(
            "button",
            {
              type: "button",
              class: "secondary",
              onclick: () => {
                error.textContent = "";
                void app.signOutDevice(d.id).catch(failed("Could not sign the device out"));
              },
            },
            "Sign out",
          ),
    );

  store.subscribe(() => list.replaceChildren(...store.devices.map(item)));
}
