import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { z } from "zod";
import type { $ZodError } from "zod/v4/core";
import { ApiError } from "./errors";

/**
 * zod validation for one request part. A failure is always 400 `invalid_request`,
 * naming the first offending field, so clients get one error shape for every route.
 */
export function valid<T extends keyof ValidationTargets, S extends z.ZodType>(target: T, schema: S) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw invalidRequest(result.error);
  });
}

export function invalidRequest(error: $ZodError): ApiError {
  const issue = error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  return new ApiError("invalid_request", `${where}${issue?.message ?? "invalid input"}`);
}
