type Child = Node | string | null | undefined | false;
type AttrValue = string | number | boolean | undefined | ((e: Event) => void);

/**
 * Creates an element. Strings become text nodes and attributes go through
 * setAttribute, so nothing here ever parses HTML: message text cannot inject markup.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, AttrValue> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) el.setAttribute(name, "");
    else if (value !== false && value !== undefined) el.setAttribute(name, String(value));
  }
  for (const c of children) if (c) el.append(c);
  return el;
}

export function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el as T;
}

export function formatTime(ts: number): string {
  return new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/**
 * Makes `parent`'s children exactly `nodes`, moving only those out of place: a node
 * left where it was keeps its focus, its open <details> and what is typed in it.
 */
export function syncChildren(parent: Element, nodes: readonly Node[]): void {
  nodes.forEach((node, i) => {
    const at = parent.childNodes[i];
    if (at !== node) parent.insertBefore(node, at ?? null);
  });
  while (parent.childNodes.length > nodes.length) parent.lastChild?.remove();
}

/**
 * Elements built once per key and rebuilt only when their signature (a string of
 * everything they show) changes, so a redraw of a long list touches only what changed.
 */
export class KeyedElements<E extends Element> {
  private readonly cache = new Map<string, { sig: string; el: E }>();

  get(key: string, sig: string, build: () => E): E {
    const hit = this.cache.get(key);
    if (hit && hit.sig === sig) return hit.el;
    const el = build();
    this.cache.set(key, { sig, el });
    return el;
  }

  /** Forgets every key not in `keep` (what the list no longer shows). */
  prune(keep: ReadonlySet<string>): void {
    for (const key of this.cache.keys()) if (!keep.has(key)) this.cache.delete(key);
  }

  clear(): void {
    this.cache.clear();
  }
}

/**
 * Redraws a list of `[data-seq]` items; a control that had the focus and was rebuilt
 * (its message changed) gets it back when the new item has a control with the same
 * `data-focus`, so a keyboard user reacting or opening a menu stays where they were.
 */
export function keepingFocus(container: Element, redraw: () => void): void {
  const active = document.activeElement;
  const item = active && container.contains(active) ? active.closest("[data-seq]") : null;
  const seq = item?.getAttribute("data-seq");
  const control = active?.getAttribute("data-focus");
  redraw();
  if (!seq || !control || (active && container.contains(active))) return;
  container
    .querySelector<HTMLElement>(`[data-seq="${CSS.escape(seq)}"] [data-focus="${CSS.escape(control)}"]`)
    ?.focus();
}
