import { ChatApiError, type ChatClient } from "@edge-chat/sdk";
import { byId } from "../dom.ts";

/** The sign-in form: "Log in" submits, "Sign up" creates the account with the same fields. */
export function bindAuth(client: ChatClient, onSignedIn: () => void): void {
  const form = byId<HTMLFormElement>("auth-form");
  const error = byId<HTMLParagraphElement>("auth-error");
  const submit = async (mode: "login" | "signup") => {
    const data = new FormData(form);
    const body = { username: String(data.get("username") ?? "").trim(), password: String(data.get("password") ?? "") };
    error.textContent = "";
    try {
      if (mode === "signup") await client.signup({ ...body, deviceName: navigator.userAgent.slice(0, 60) });
      else await client.login({ ...body, deviceName: navigator.userAgent.slice(0, 60) });
      form.reset();
      onSignedIn();
    } catch (err) {
      error.textContent = err instanceof ChatApiError ? err.message : "Something went wrong";
    }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void submit("login");
  });
  byId<HTMLButtonElement>("signup").addEventListener("click", () => {
    if (form.reportValidity()) void submit("signup");
  });
}
