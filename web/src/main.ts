import { ChatClient } from "@edge-chat/sdk";
import { App } from "./app.ts";
import { byId } from "./dom.ts";
import { enableNotifications, pushSupported, registerServiceWorker, shareChannelTitles } from "./push.ts";
import { currentChannel, go, onRoute } from "./route.ts";
import { Store } from "./state.ts";
import { loadSession, localOutboxStore, onSessionElsewhere, saveSession } from "./storage.ts";
import { bindAccount } from "./views/account.ts";
import { bindAuth } from "./views/auth.ts";
import { bindConversation } from "./views/conversation.ts";
import { bindDirectory } from "./views/directory.ts";
import { MessageEditor } from "./views/message-editor.ts";
import { bindMessageSearch } from "./views/message-search.ts";
import { bindSidebar } from "./views/sidebar.ts";
import { bindStatus } from "./views/status.ts";
import { bindThread } from "./views/thread.ts";

const client = new ChatClient({
  session: loadSession(),
  onSession: saveSession,
  outboxStore: localOutboxStore,
  // Tabs share one refresh token and the server revokes a device whose token is rotated
  // twice, so tabs must not refresh together: each picks its own moment, and the others
  // adopt the result through the storage event.
  refreshSkewMs: 60_000 + Math.floor(Math.random() * 120_000),
});
const store = new Store();
const app = new App(client, store);

const authView = byId<HTMLElement>("auth");
const mainView = byId<HTMLElement>("main");

function showSignedIn(signedIn: boolean): void {
  authView.hidden = signedIn;
  mainView.hidden = !signedIn;
}

async function start(): Promise<void> {
  showSignedIn(true);
  try {
    await app.start();
    byId("me").textContent = store.me ? `@${store.me.username}` : "";
    await app.select(currentChannel());
  } catch (err) {
    byId("sidebar-error").textContent = err instanceof Error ? err.message : "Could not load your channels";
  }
}

function signedOut(): void {
  void app.select(null);
  store.reset();
  showSignedIn(false);
  go(null);
}

bindAuth(client, () => void start());
bindStatus(
  client,
  store,
  () => app.reconnectNow(),
  () => app.takeOver(),
);
bindSidebar(app);
bindDirectory(app);
bindMessageSearch(app);
bindAccount(app);
const editor = new MessageEditor(app);
bindConversation(app, editor);
bindThread(app, editor);
shareChannelTitles(store);
onRoute((id) => void app.select(id));

client.on("signedOut", signedOut);
onSessionElsewhere((session) => {
  const wasSignedIn = client.session !== null;
  if (session && wasSignedIn && session.userId !== client.session?.userId) {
    // Another account in another tab: this tab's state belongs to the old one.
    location.reload();
    return;
  }
  client.setSession(session);
  if (!session) signedOut();
  else if (!wasSignedIn) void start();
});

byId<HTMLButtonElement>("logout").addEventListener("click", async () => {
  await app.logout();
  signedOut();
});

const notify = byId<HTMLButtonElement>("notify");
notify.hidden = !pushSupported() || Notification.permission === "denied";
notify.addEventListener("click", async () => {
  try {
    notify.textContent =
      (await enableNotifications(client)) === "enabled" ? "Notifications on" : "Notifications blocked";
    notify.disabled = true;
  } catch (err) {
    notify.textContent = "Notifications unavailable";
    console.error(err);
  }
});
void registerServiceWorker().catch((err) => console.error("service worker", err));

if (client.session) void start();
else showSignedIn(false);
