import type { ChatClient } from "@edge-chat/sdk";
import { byId } from "../dom.ts";
import type { ConnectionState, Store } from "../state.ts";

const LABEL: Record<ConnectionState, string> = {
  online: "Online",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  paused: "Paused: open in another tab",
};

/**
 * Only the user socket counts: it is the one that stays up the whole session. When
 * another tab takes the connection over, this one pauses until it is looked at again
 * (`onLookedAt`): the tab a person is looking at is the one that is live.
 */
export function bindStatus(client: ChatClient, store: Store, onNetworkBack: () => void, onLookedAt: () => void): void {
  const set = (state: ConnectionState) => {
    store.connection = state;
    store.changed();
  };
  client.on("connection", (e) => {
    if (e.target.kind !== "user") return;
    if (e.state === "open") set("online");
    else if (store.connection === "paused") return;
    else if (!navigator.onLine || e.state === "closed") set("offline");
    else set("reconnecting");
  });
  client.on("replaced", (e) => {
    if (e.target.kind === "user") set("paused");
  });
  const lookedAt = () => {
    if (document.visibilityState === "visible") onLookedAt();
  };
  document.addEventListener("visibilitychange", lookedAt);
  window.addEventListener("focus", lookedAt);
  window.addEventListener("offline", () => set("offline"));
  window.addEventListener("online", () => {
    set("reconnecting");
    onNetworkBack();
  });
  const pill = byId<HTMLSpanElement>("connection");
  store.subscribe(() => {
    pill.textContent = LABEL[store.connection];
    pill.dataset.state = store.connection;
  });
}
