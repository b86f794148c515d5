import type { ChatFile } from "@edge-chat/sdk";
import { h } from "../dom.ts";

/** Images are shown at most this big (CSS pixels), in their own proportions. */
const BOX = 320;

/** The size an image is shown at: its own, shrunk to fit the box. */
export function fitted(width: number, height: number, box = BOX): { width: number; height: number } {
  const scale = Math.min(1, box / width, box / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * A message's files: images inline, with their place reserved from the width and
 * height the server read (so the list does not jump as they load); anything else a
 * chip that downloads it.
 */
export function attachmentList(files: readonly ChatFile[]): HTMLDivElement {
  return h(
    "div",
    { class: "attachments" },
    ...files.map((f) => {
      if (f.contentType.startsWith("image/") && f.width && f.height) {
        const size = fitted(f.width, f.height);
        return h(
          "a",
          { href: f.url, target: "_blank", rel: "noopener" },
          h("img", { src: f.url, alt: f.name, width: size.width, height: size.height, loading: "lazy" }),
        );
      }
      return h("a", { class: "file-chip", href: f.url, download: f.name }, `${f.name} · ${formatSize(f.size)}`);
    }),
  );
}
