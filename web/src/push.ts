import type { ChatClient } from "@edge-chat/sdk";
import type { Store } from "./state.ts";

/** Where the service worker finds channel titles: it cannot ask the page, which may be closed. */
const TITLES_CACHE = "chat-meta";
const TITLES_URL = "/__chat/channel-titles";

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const b64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export function pushSupported(): boolean {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

export async function registerServiceWorker(): Promise<void> {
  if (!pushSupported()) return;
  await navigator.serviceWorker.register("/sw.js");
}

/** Must run from a click: browsers only show the permission prompt after a user gesture. */
export async function enableNotifications(client: ChatClient): Promise<"enabled" | "denied"> {
  if ((await Notification.requestPermission()) !== "granted") return "denied";
  const reg = await navigator.serviceWorker.ready;
  const key = await client.api.vapidPublicKey();
  const sub =
    (await reg.pushManager.getSubscription()) ??
    (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) }));
  const json = sub.toJSON();
  if (!json.endpoint || !json.keys?.p256dh || !json.keys.auth)
    throw new Error("The browser gave an incomplete subscription");
  await client.api.subscribePush({ endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } });
  return "enabled";
}

/**
 * On logout: the browser's subscription is removed from the server (while the session
 * still works) and from the browser, so the next person to sign in here does not get
 * this user's notifications. The server also drops it when the device signs out.
 */
export async function unsubscribeThisBrowser(client: ChatClient): Promise<void> {
  if (!pushSupported()) return;
  const reg = await navigator.serviceWorker.getRegistration();
  const sub = await reg?.pushManager.getSubscription();
  if (!sub) return;
  await client.api.unsubscribePush(sub.endpoint).catch(() => {});
  await sub.unsubscribe();
}

/** Mirrors channel titles into Cache Storage whenever they change. */
export function shareChannelTitles(store: Store): void {
  if (!("caches" in window)) return;
  let last = "";
  store.subscribe(() => {
    const titles = Object.fromEntries([...store.channels].map(([id, c]) => [id, c.title]));
    const json = JSON.stringify(titles);
    if (json === last) return;
    last = json;
    void caches
      .open(TITLES_CACHE)
      .then((c) => c.put(TITLES_URL, new Response(json, { headers: { "content-type": "application/json" } })))
      .catch(() => {});
  });
}
