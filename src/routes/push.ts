import { Hono } from "hono";
import { z } from "zod";
import { userStub } from "../../durable/stubs";
import { config } from "../config";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { ApiError } from "../http/errors";
import { invalidRequest, requireJsonContentType } from "../http/validate";
import { PushEndpointToRemove, pushEndpointPolicy, pushSubscriptionSchema } from "../push/subscription";

/** Parses a JSON body against a schema that depends on configuration (the endpoint policy). */
async function body<S extends z.ZodType>(
  req: { json: () => Promise<unknown>; header: (name: string) => string | undefined },
  schema: S,
): Promise<z.infer<S>> {
  requireJsonContentType(req.header("Content-Type"));
  let json: unknown;
  try {
    json = await req.json();
  } catch {
    throw new ApiError("invalid_request", "Malformed JSON in request body");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw invalidRequest(parsed.error);
  return parsed.data;
}

export const pushRoutes = new Hono<AppEnv>()
  .get("/vapid-public-key", (c) => c.json({ publicKey: c.env.VAPID_PUBLIC_KEY }))
  .post("/subscriptions", requireAuth, async (c) => {
    const sub = await body(c.req, pushSubscriptionSchema(pushEndpointPolicy(config(c.env))));
    await userStub(c.env, c.var.auth.userId).addPushSubscription(sub);
    return c.json({ endpoint: sub.endpoint }, 201);
  })
  .delete("/subscriptions", requireAuth, async (c) => {
    const { endpoint } = await body(c.req, z.object({ endpoint: PushEndpointToRemove }));
    await userStub(c.env, c.var.auth.userId).removePushSubscription(endpoint);
    return c.body(null, 204);
  });
