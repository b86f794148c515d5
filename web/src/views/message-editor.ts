import type { Message } from "@edge-chat/sdk";
import type { App } from "../app.ts";
import { h } from "../dom.ts";

interface Editing {
  channelId: string;
  seq: number;
  form: HTMLFormElement;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : "Could not save the change";
}

/**
 * Editing one's own message in place. The form lives here, not in the list, so the
 * redraws that live frames cause do not lose what is being typed.
 */
export class MessageEditor {
  private editing: Editing | null = null;

  constructor(private readonly app: App) {}

  isEditing(m: Message): boolean {
    return this.editing?.channelId === m.channelId && this.editing.seq === m.seq;
  }

  /** The form to show in place of the message's text, while it is being edited. */
  formFor(m: Message): HTMLFormElement | null {
    return this.isEditing(m) ? (this.editing?.form ?? null) : null;
  }

  start(m: Message): void {
    const input = h("textarea", { class: "edit-text", "aria-label": "Edit message", rows: 2, maxlength: 100000 });
    input.value = m.text;
    const error = h("p", { class: "error", role: "alert" });
    const form = h(
      "form",
      { class: "editor" },
      input,
      error,
      h(
        "div",
        { class: "row" },
        h("button", { type: "submit" }, "Save"),
        h("button", { type: "button", class: "secondary", onclick: () => this.cancel() }, "Cancel"),
      ),
    );
    const save = async () => {
      const text = input.value;
      if (text === m.text) return this.cancel();
      if (text.trim() === "") {
        error.textContent = "A message needs some text: delete it instead.";
        return;
      }
      error.textContent = "";
      try {
        await this.app.edit(m.channelId, m.seq, text);
        if (this.editing?.form === form) this.cancel();
      } catch (err) {
        error.textContent = errorText(err);
      }
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void save();
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        this.cancel();
      } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        void save();
      }
    });
    this.editing = { channelId: m.channelId, seq: m.seq, form };
    this.app.store.changed();
    // Once the list has drawn the form; not when already there (the caret is where it was put).
    requestAnimationFrame(() => {
      if (document.activeElement === input) return;
      input.focus();
      input.setSelectionRange(input.value.length, input.value.length);
    });
  }

  /** Ends the edit; the focus goes back to the message's menu, where it started. */
  cancel(): void {
    const seq = this.editing?.seq;
    this.editing = null;
    this.app.store.changed();
    if (seq === undefined) return;
    requestAnimationFrame(() =>
      document.querySelector<HTMLElement>(`.message[data-seq="${seq}"] [data-focus="msg-menu"]`)?.focus(),
    );
  }
}
