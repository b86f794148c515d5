import type { OutboxEntry, OutboxStore, Session } from "@edge-chat/sdk";

const SESSION_KEY = "chat.session";
const OUTBOX_KEY = "chat.outbox";

function readJson<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : (JSON.parse(raw) as T);
  } catch {
    return fallback;
  }
}

export function loadSession(): Session | null {
  return readJson<Session | null>(SESSION_KEY, null);
}

export function saveSession(session: Session | null): void {
  if (session) localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else localStorage.removeItem(SESSION_KEY);
}

/** Another tab signed in, out, or rotated the tokens: the `storage` event fires only in the other tabs. */
export function onSessionElsewhere(fn: (session: Session | null) => void): void {
  window.addEventListener("storage", (e) => {
    if (e.key === SESSION_KEY || e.key === null) fn(loadSession());
  });
}

/** Keeps unsent messages across reloads and offline periods. */
export const localOutboxStore: OutboxStore = {
  load: () => readJson<OutboxEntry[]>(OUTBOX_KEY, []),
  save: (entries) => localStorage.setItem(OUTBOX_KEY, JSON.stringify(entries)),
};
