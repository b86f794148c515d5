import { zValidator } from "@hono/zod-validator";
import type { MiddlewareHandler, ValidationTargets } from "hono";
import type { z } from "zod";
import type { $ZodError } from "zod/v4/core";
import { ApiError } from "./errors";

/**
 * zod validation for one request part. A failure is always 400 `invalid_request`,
 * naming the first offending field, so clients get one error shape for every route.
 */
export function valid<T extends keyof ValidationTargets, S extends z.ZodType>(target: T, schema: S) {
  const validator = zValidator(target, schema, (result) => {
    if (!result.success) throw invalidRequest(result.error);
  });
  if (target !== "json") return validator;
  // Hono's JSON validator reads a body of another Content-Type as `{}`, which would let
  // a text/plain body pass as "no fields"; such a request is refused instead. The cast
  // keeps the validator's types, which `c.req.valid("json")` is inferred from.
  const guarded: MiddlewareHandler = async (c, next) => {
    requireJsonContentType(c.req.header("Content-Type"));
    return validator(c, next);
  };
  return guarded as typeof validator;
}

export function requireJsonContentType(contentType: string | undefined): void {
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType ?? "")) {
    throw new ApiError("invalid_request", "Content-Type must be application/json");
  }
}

export function invalidRequest(error: $ZodError): ApiError {
  const issue = error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  return new ApiError("invalid_request", `${where}${issue?.message ?? "invalid input"}`);
}
