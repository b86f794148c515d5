import type { ChatClient } from "@edge-chat/sdk";
import { byId } from "../dom.ts";
import type { ConnectionState, Store } from "../state.ts";

const LABEL: Record<ConnectionState, string> = { online: "Online", reconnecting: "Reconnecting…", offline: "Offline" };

/** Only the user socket counts: it is the one that stays up the whole session. */
export function bindStatus(client: ChatClient, store: Store, onNetworkBack: () => void): void {
  const set = (state: ConnectionState) => {
    store.connection = state;
    store.changed();
  };
  client.on("connection", (e) => {
    if (e.target.kind !== "user") return;
    if (!navigator.onLine) set("offline");
    else if (e.state === "open") set("online");
    else if (e.state === "closed") set("offline");
    else set("reconnecting");
  });
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
