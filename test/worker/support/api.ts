import { exports } from "cloudflare:workers";

export interface ApiResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** One HTTP call through the Worker's own fetch handler, JSON in and out. */
export async function api<T = any>(
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body: string | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["Content-Type"] = "application/json";
  }
  const res = await exports.default.fetch(`https://chat.test${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

let counter = 0;
/** A unique username per call: storage is shared by every test in a file. */
export function uniqueName(prefix = "user"): string {
  counter += 1;
  return `${prefix}_${counter}_${crypto.randomUUID().slice(0, 8)}`;
}

export interface TestUser {
  id: string;
  username: string;
  accessToken: string;
  refreshToken: string;
  deviceId: string;
}

export async function signup(prefix = "user", password = "correct horse battery"): Promise<TestUser> {
  const username = uniqueName(prefix);
  const res = await api("POST", "/api/auth/signup", { body: { username, password } });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, username, ...res.body, user: undefined };
}
