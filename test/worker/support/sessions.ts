import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { api, type TestUser } from "./api";

/** One device of a user: what signup or login returned. */
export interface Device {
  id: string;
  accessToken: string;
  refreshToken: string;
  deviceId: string;
}

/** Logs `user` in again: a second device with its own tokens. */
export async function loginAgain(user: TestUser, password = "correct horse battery"): Promise<Device> {
  const res = await api("POST", "/api/auth/login", { body: { username: user.username, password } });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: user.id, ...res.body, user: undefined };
}

export async function logout(device: Device): Promise<number> {
  const res = await api("POST", "/api/auth/logout", {
    token: device.accessToken,
    body: { refreshToken: device.refreshToken },
  });
  return res.status;
}

/**
 * Rotates the device's refresh token, then presents the rotated one again as a thief
 * would, long after the rotation (its rotation time is moved 10 minutes back, beyond
 * any grace window for concurrent refreshes). Returns the status of that re-use.
 */
export async function reuseRotatedRefreshToken(device: Device): Promise<number> {
  const rotated = device.refreshToken;
  const first = await api("POST", "/api/auth/refresh", { body: { refreshToken: rotated } });
  if (first.status !== 200) throw new Error(`refresh failed: ${first.status} ${JSON.stringify(first.body)}`);
  await env.DB.prepare(
    "UPDATE refresh_tokens SET rotated_at = rotated_at - 600000 WHERE device_id = ? AND rotated_at IS NOT NULL",
  )
    .bind(device.deviceId)
    .run();
  return (await api("POST", "/api/auth/refresh", { body: { refreshToken: rotated } })).status;
}

/** An access token of the device that expires `seconds` from now, signed with the test secret. */
export async function shortLivedToken(device: Device, seconds: number): Promise<{ token: string; exp: number }> {
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + seconds;
  const token = await sign({ sub: device.id, did: device.deviceId, iat, exp }, env.JWT_SECRET, "HS256");
  return { token, exp };
}
