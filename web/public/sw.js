// Shows Web Push notifications and brings the app forward when one is clicked.
// The page mirrors channel titles into Cache Storage (see web/src/push.ts), because
// when a push arrives the page may not be open to ask.
const TITLES_CACHE = "chat-meta";
const TITLES_URL = "/__chat/channel-titles";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

async function channelTitle(channelId) {
  try {
    const res = await (await caches.open(TITLES_CACHE)).match(TITLES_URL);
    const titles = res ? await res.json() : {};
    return typeof titles[channelId] === "string" ? titles[channelId] : "New message";
  } catch {
    return "New message";
  }
}

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  const channelId = typeof data.channelId === "string" ? data.channelId : "";
  event.waitUntil(
    channelTitle(channelId).then((title) =>
      self.registration.showNotification(title, {
        body: typeof data.preview === "string" ? data.preview : "",
        tag: channelId || "chat",
        data: { channelId },
      }),
    ),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const channelId = event.notification.data?.channelId;
  const url = new URL(channelId ? `/#c/${encodeURIComponent(channelId)}` : "/", self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
      if (!open) return self.clients.openWindow(url);
      return open.navigate(url).then((w) => (w ?? open).focus());
    }),
  );
});
