/** The open conversation lives in the URL hash, so reload and the back button keep it. */
export function currentChannel(): string | null {
  const m = /^#c\/(.+)$/.exec(location.hash);
  return m?.[1] ? decodeURIComponent(m[1]) : null;
}

export function go(channelId: string | null): void {
  location.hash = channelId ? `c/${encodeURIComponent(channelId)}` : "";
}

export function onRoute(fn: (channelId: string | null) => void): void {
  window.addEventListener("hashchange", () => fn(currentChannel()));
}
