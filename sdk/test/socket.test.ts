import { describe, expect, it } from "vitest";
import type { ConnectionEvent } from "../src/events";
import { CLOSE_HEARTBEAT_TIMEOUT, CLOSE_REPLACED } from "../src/index";
import { makeClient, record, sessionOf, sleep, useFakeServer, waitFor } from "./support/helpers";

const server = useFakeServer();

const states = (events: ConnectionEvent[]) => events.map((e) => e.state);

describe("user socket", () => {
  it("authenticates with the subprotocol, gets hello and pings at the server's interval", async () => {
    server.heartbeatMs = 30;
    const u = server.addUser("ann");
    const client = makeClient(server, sessionOf(u), { heartbeatMs: 60_000 });
    const hellos = record(client, "hello");
    const pongs = record(client, "pong");
    const conn = record(client, "connection");
    client.connect();
    await waitFor(() => hellos.length === 1, "hello");
    expect(hellos[0]).toEqual({ type: "hello", userId: u.user.id, deviceId: u.deviceId, heartbeatMs: 30 });
    expect(states(conn)).toEqual(["connecting", "open"]);
    await waitFor(() => server.pings >= 3 && pongs.length >= 3, "three pings answered", 1_000);
    expect(client.userSocketState).toBe("open");
  });

  it("pings in exactly the bytes the server's runtime answers without waking an object", async () => {
    server.heartbeatMs = 20;
    const u = server.addUser("pia");
    const client = makeClient(server, sessionOf(u));
    client.connect();
    await waitFor(() => server.pings >= 3, "three pings", 1_000);
    expect(server.inexactPings).toBe(0);
  });

  it("reconnects after an abrupt drop, with backoff delays inside the jitter bounds", async () => {
    const u = server.addUser("bo");
    const client = makeClient(server, sessionOf(u), { reconnect: { baseMs: 40, maxMs: 1_000 }, random: () => 0 });
    const conn = record(client, "connection");
    const hellos = record(client, "hello");
    client.connect();
    await waitFor(() => hellos.length === 1, "hello");
    server.refuseUpgrades = 2;
    const t0 = server.upgradeTimes.length;
    server.dropSockets();
    await waitFor(() => hellos.length === 2, "hello after reconnect");
    // random = 0 puts each delay at the bottom of its range: ceiling/2 for ceilings 40, 80, 160.
    const delays = conn.filter((e) => e.delayMs !== undefined).map((e) => e.delayMs);
    expect(delays).toEqual([20, 40, 80]);
    const times = server.upgradeTimes.slice(t0);
    expect(times).toHaveLength(3);
    // Measured at the server: attempts 2 and 3 came no sooner than their delays.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(40 - 5);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(80 - 5);
    expect(states(conn)).toEqual(["connecting", "open", "reconnecting", "reconnecting", "reconnecting", "open"]);
    // A successful open starts the backoff over.
    server.dropSockets();
    await waitFor(() => hellos.length === 3, "third hello");
    expect(conn.filter((e) => e.delayMs !== undefined).at(-1)?.delayMs).toBe(20);
  });

  it("spreads reconnect delays with jitter when random varies", async () => {
    const u = server.addUser("cy");
    const randoms = [0.1, 0.9];
    let i = 0;
    const client = makeClient(server, sessionOf(u), {
      reconnect: { baseMs: 100, maxMs: 1_000 },
      random: () => randoms[i++ % 2]!,
    });
    const conn = record(client, "connection");
    client.connect();
    await waitFor(() => client.userSocketState === "open", "open");
    server.refuseUpgrades = 1;
    server.dropSockets();
    await waitFor(() => conn.filter((e) => e.delayMs !== undefined).length === 2, "two delays");
    const delays = conn.filter((e) => e.delayMs !== undefined).map((e) => e.delayMs!);
    expect(delays[0]).toBeCloseTo(50 + 0.1 * 50);
    expect(delays[1]).toBeCloseTo(100 + 0.9 * 100);
  });

  it("declares the socket dead when two pings go unanswered, and reconnects", async () => {
    server.heartbeatMs = 25;
    const u = server.addUser("dee");
    const client = makeClient(server, sessionOf(u));
    const conn = record(client, "connection");
    const hellos = record(client, "hello");
    client.connect();
    await waitFor(() => hellos.length === 1, "hello");
    await sleep(80);
    expect(states(conn)).toEqual(["connecting", "open"]);
    server.mutePongs = true;
    const pingsBefore = server.pings;
    await waitFor(() => conn.some((e) => e.state === "reconnecting"), "heartbeat timeout", 1_000);
    const lost = conn.find((e) => e.state === "reconnecting");
    expect(lost?.closeCode).toBe(CLOSE_HEARTBEAT_TIMEOUT);
    // Two unanswered pings, then the verdict: never more than a couple extra.
    expect(server.pings - pingsBefore).toBeGreaterThanOrEqual(2);
    expect(server.pings - pingsBefore).toBeLessThanOrEqual(3);
    server.mutePongs = false;
    await waitFor(() => hellos.length === 2, "reconnected");
  });

  it("refreshes the token on 4401 and reconnects with the new one", async () => {
    const u = server.addUser("eve");
    const client = makeClient(server, sessionOf(u));
    const hellos = record(client, "hello");
    const conn = record(client, "connection");
    client.connect();
    await waitFor(() => hellos.length === 1, "hello");
    server.expireAccessTokens(u.user.id);
    await waitFor(() => hellos.length === 2, "hello after refresh");
    expect(server.refreshCalls).toBe(1);
    expect(conn.find((e) => e.state === "reconnecting")?.closeCode).toBe(4401);
    const conns = [...server.conns];
    expect(conns).toHaveLength(1);
    expect(conns[0]?.token).toBe(client.session?.accessToken);
    expect(conns[0]?.token).not.toBe(u.accessToken);
  });

  it("refreshes after upgrades keep failing (a browser cannot see the 401)", async () => {
    const u = server.addUser("fox");
    const client = makeClient(server, sessionOf(u));
    const hellos = record(client, "hello");
    // Revoked without any socket open: the next upgrades are refused with 401.
    for (const t of [...server.accessTokens.keys()]) server.accessTokens.delete(t);
    client.connect();
    await waitFor(() => hellos.length === 1, "hello");
    expect(server.refreshCalls).toBe(1);
  });

  it("stops and signs out on 4401 when the refresh token is refused too", async () => {
    const u = server.addUser("gil");
    const client = makeClient(server, sessionOf(u));
    const hellos = record(client, "hello");
    const signedOut = record(client, "signedOut");
    const conn = record(client, "connection");
    client.connect();
    await waitFor(() => hellos.length === 1, "hello");
    server.revokeRefreshTokens(u.user.id);
    server.expireAccessTokens(u.user.id);
    await waitFor(() => signedOut.length === 1, "signedOut");
    await sleep(100);
    expect(conn.at(-1)?.state).toBe("closed");
    expect(client.session).toBeNull();
    expect(server.openSockets()).toBe(0);
    expect(server.upgradeTimes).toHaveLength(1);
  });

  it("reports unparsable frames as error events and keeps the socket open", async () => {
    const u = server.addUser("hal");
    const client = makeClient(server, sessionOf(u));
    const errors = record(client, "error");
    const presence = record(client, "presence");
    const hellos = record(client, "hello");
    // A throwing app listener must not break the SDK either.
    client.on("presence", () => {
      throw new Error("app bug");
    });
    client.connect();
    await waitFor(() => hellos.length === 1, "hello");
    server.sendRaw("not json");
    server.sendRaw('{"type":"message","message":{"seq":"x"}}');
    server.sendRaw('{"type":"future_frame"}');
    server.sendRaw('{"type":"presence","userId":"u9","status":"online","lastActiveAt":5}');
    await waitFor(() => presence.length === 1, "presence after garbage");
    expect(errors.map((e) => e.code)).toEqual(["bad_frame", "bad_frame", "bad_frame", "listener_error"]);
    expect(client.userSocketState).toBe("open");
    expect(server.openSockets()).toBe(1);
  });

  it(`stops on ${CLOSE_REPLACED} (a newer socket of this device took its place): replaced event, no reconnect`, async () => {
    const u = server.addUser("jan");
    const client = makeClient(server, sessionOf(u));
    const hellos = record(client, "hello");
    const replaced = record(client, "replaced");
    const conn = record(client, "connection");
    client.connect();
    await waitFor(() => hellos.length === 1, "hello");
    server.replaceSockets(() => true);
    await waitFor(() => replaced.length === 1, "replaced");
    expect(replaced).toEqual([{ target: { kind: "user" } }]);
    await sleep(150);
    expect(server.upgradeTimes).toHaveLength(1);
    expect(client.userSocketState).toBe("closed");
    expect(conn.at(-1)).toMatchObject({ state: "closed", closeCode: CLOSE_REPLACED });
    // The app may open it again, e.g. when this tab comes back to the front.
    client.connect();
    await waitFor(() => hellos.length === 2, "hello again");
  });

  it("disconnect closes the socket and does not reconnect", async () => {
    const u = server.addUser("ida");
    const client = makeClient(server, sessionOf(u));
    const hellos = record(client, "hello");
    client.connect();
    await waitFor(() => hellos.length === 1, "hello");
    client.disconnect();
    await waitFor(() => server.openSockets() === 0, "server saw the close");
    await sleep(100);
    expect(server.upgradeTimes).toHaveLength(1);
    expect(client.userSocketState).toBe("closed");
  });
});
