/**
 * Waits for `work`, but no longer than `ms`: the work goes on after that, unawaited. For
 * what an object would like done before it takes requests but must not be held by (a
 * blockConcurrencyWhile that waits 30 s resets the object).
 */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
